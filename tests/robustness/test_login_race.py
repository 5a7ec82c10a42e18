"""Logins at the same moment behind several gunicorn workers: the morning when every desk
and window signs in, and a burst of wrong passwords. Each answer is 200 or 401 (never a
503 from a lost write lock), and every wrong password counts towards the lockout."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from core.auth import ApiToken, User
from core.extensions import db
from staff.services import create_user
from tests.robustness.helpers import SERVER_ENV

pytestmark = pytest.mark.slow
STAFF = 12


def test_simultaneous_logins_and_wrong_passwords(app, robust_office, live_server_for):
    for n in range(STAFF):
        create_user(f"window{n}", "registrar", "password-123", "robust")
    create_user("target", "desk", "password-123", "robust")
    db.session.commit()
    db.session.remove()
    server = live_server_for(workers=4, env=SERVER_ENV)
    failures = app.config["LOGIN_LOCKOUT_FAILURES"]
    attempts = [(f"window{n}", "password-123") for n in range(STAFF)]
    attempts += [("target", "wrong-password")] * (failures - 1)

    def sign_in(credentials):
        username, password = credentials
        response = requests.post(f"{server.url}/api/v1/auth/token", timeout=30,
                                 json={"username": username, "password": password})
        return username, response.status_code

    with ThreadPoolExecutor(len(attempts)) as pool:
        answers = list(pool.map(sign_in, attempts))

    assert sorted(code for name, code in answers if name != "target") == [200] * STAFF
    assert [code for name, code in answers if name == "target"] == [401] * (failures - 1)
    assert db.session.scalar(select(db.func.count()).select_from(ApiToken)) == STAFF
    target = db.session.scalar(select(User).where(User.username == "target"))
    assert target.failed_logins == failures - 1  # none of the wrong passwords was lost
    assert target.locked_until is None
    # one more wrong password locks the account; then the right one is refused too
    assert sign_in(("target", "wrong-password"))[1] == 401
    assert sign_in(("target", "password-123"))[1] == 401
    db.session.remove()
    target = db.session.scalar(select(User).where(User.username == "target"))
    assert target.locked_until is not None
