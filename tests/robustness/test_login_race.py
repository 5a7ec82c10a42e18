"""Logins at the same moment behind several gunicorn workers: the morning when every desk
and window signs in, and a burst of wrong passwords. Each answer is 200 or 401 (never a
503 from a lost write lock), every wrong password is counted by the login throttle (one
count for all workers, in the database), and none of them locks the account."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from core.audit import AuditEntry
from core.auth import ApiToken, User
from core.extensions import db
from staff.models import LoginThrottle
from staff.services import create_user
from tests.robustness.helpers import SERVER_ENV

pytestmark = pytest.mark.slow
STAFF = 12
WRONG = 8
# no wait between tries here: the burst itself is what is counted
NO_WAIT = {"XIYUE_LOGIN_THROTTLE_FAILURES": "1000", "XIYUE_LOGIN_THROTTLE_ADDRESS_FAILURES": "1000"}


def test_simultaneous_logins_and_wrong_passwords(app, robust_office, live_server_for):
    for n in range(STAFF):
        create_user(f"window{n}", "registrar", "password-123", "robust")
    create_user("target", "desk", "password-123", "robust")
    db.session.commit()
    db.session.remove()
    server = live_server_for(workers=4, env=SERVER_ENV | NO_WAIT)
    attempts = [(f"window{n}", "password-123") for n in range(STAFF)]
    attempts += [("target", "wrong-password")] * WRONG

    def sign_in(credentials):
        username, password = credentials
        response = requests.post(f"{server.url}/api/v1/auth/token", timeout=30,
                                 json={"username": username, "password": password})
        return username, response.status_code

    with ThreadPoolExecutor(len(attempts)) as pool:
        answers = list(pool.map(sign_in, attempts))

    assert sorted(code for name, code in answers if name != "target") == [200] * STAFF
    assert [code for name, code in answers if name == "target"] == [401] * WRONG
    assert db.session.scalar(select(db.func.count()).select_from(ApiToken)) == STAFF
    # none of the wrong passwords was lost: the address's count and the user name's count
    # from that address each hold all of them
    assert sorted(db.session.scalars(select(LoginThrottle.failures))) == [WRONG, WRONG]
    actions = list(db.session.scalars(select(AuditEntry.action)))
    assert actions.count("staff.login") == STAFF
    assert actions.count("staff.login_failed") == WRONG
    # and the account is not locked: the right password works at once
    assert sign_in(("target", "password-123"))[1] == 200
    db.session.remove()
    assert db.session.scalar(select(User.locked_at).where(User.username == "target")) is None
