"""Signing in: failed logins make the failing client wait (per client address, and per user
name from that address), doubling up to a cap, and never lock the account for its owner;
an unknown user name costs the same work as a known one; logins, logouts and failed logins
are audited without the password."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

import core.auth
from core.audit import AuditEntry
from core.auth import User
from core.extensions import db
from staff import services
from staff.models import LoginThrottle
from tests.staff.conftest import NOW, PASSWORD, client_from, sign_in, token_for


class Clock:
    def __init__(self, set_now):
        self.now = datetime.fromisoformat(NOW)
        self.set_now = set_now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.set_now(self.now.isoformat())


@pytest.fixture
def clock(accounts, set_now):
    return Clock(set_now)


def test_twelve_wrong_passwords_from_one_address_leave_the_owner_signing_in_elsewhere(
        app, clock):
    guesser = client_from(app, "10.0.9.1")
    answers = []
    for n in range(12):
        answer = token_for(guesser, "desk", f"guess-{n}")
        answers.append(answer.status_code)
        clock.advance(int(answer.headers.get("Retry-After", "0")))  # waits as told
    assert answers == [401] * 12  # every guess was looked at, none locked anything
    owner = client_from(app, "10.0.9.2")
    assert sign_in(owner, "desk").status_code == 302
    assert token_for(owner, "desk").status_code == 200
    assert db.session.scalar(select(User.locked_at).where(User.username == "desk")) is None


def test_the_wait_grows_and_is_capped(app, clock):
    app.config["LOGIN_THROTTLE_MAX_SECONDS"] = 30
    browser = client_from(app, "10.0.9.3")
    for _ in range(2):
        page = sign_in(browser, "desk", "wrong-password")
        assert page.status_code == 200 and "用户名或密码错误。" in page.get_data(as_text=True)
    third = sign_in(browser, "desk", "wrong-password")
    assert "用户名或密码错误；请 5 秒后再试。" in third.get_data(as_text=True)
    # within the wait, the next try is refused unseen: even with the right password
    refused = sign_in(browser, "desk", PASSWORD)
    assert refused.status_code == 429
    assert "登录失败次数过多，请 5 秒后再试。" in refused.get_data(as_text=True)
    clock.advance(3)
    api = token_for(browser, "desk", PASSWORD)
    assert api.status_code == 429 and api.get_json()["code"] == "rate_limited"
    assert api.headers["Retry-After"] == "2" and "2 seconds" in api.get_json()["detail"]
    waits = []
    for _ in range(5):
        clock.advance(int(api.headers["Retry-After"]))
        api = token_for(browser, "desk", "wrong-password")
        assert api.status_code == 401
        waits.append(int(api.headers["Retry-After"]))
    assert waits == [10, 20, 30, 30, 30]  # doubling, then LOGIN_THROTTLE_MAX_SECONDS
    # the refused tries were not counted, and a login after the wait clears the count
    clock.advance(30)
    assert sign_in(browser, "desk").status_code == 302
    browser.post("/staff/logout")
    assert "秒后再试" not in sign_in(browser, "desk", "wrong-password").get_data(as_text=True)


def test_one_address_trying_many_names_waits_too(app, clock):
    app.config["LOGIN_THROTTLE_ADDRESS_FAILURES"] = 4
    sprayer = client_from(app, "10.0.9.4")
    for name in ("root", "admin", "desk", "operator"):
        assert token_for(sprayer, name, "123456").status_code == 401
    refused = token_for(sprayer, "clerk", "123456")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "5"
    # another address is not held back, for the same names
    assert token_for(client_from(app, "10.0.9.5"), "desk").status_code == 200


def test_counts_are_forgotten_after_a_quiet_hour(app, clock):
    browser = client_from(app, "10.0.9.6")
    for _ in range(3):
        token_for(browser, "desk", "wrong-password")
    clock.advance(61 * 60)
    answer = token_for(browser, "desk", "wrong-password")
    assert answer.status_code == 401 and "Retry-After" not in answer.headers
    # the stale rows of other keys went with it; the two counts left start again
    assert sorted(db.session.scalars(select(LoginThrottle.failures))) == [1, 1]


def test_unknown_user_names_cost_the_same_work_as_known_ones(app, clock, monkeypatch):
    checked = []
    real = core.auth.check_password_hash

    def counting(pwhash, password):
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(core.auth, "check_password_hash", counting)
    services.set_active(db.session.get(User, services.find_user("clerk").id), False, None)
    for address, name in (("10.0.8.1", "nobody"), ("10.0.8.2", "desk"), ("10.0.8.3", "clerk")):
        checked.clear()
        answer = token_for(client_from(app, address), name, "wrong-password")
        assert answer.status_code == 401
        assert answer.get_json()["detail"] == "Wrong user name or password."
        assert len(checked) == 1, name  # one password hash checked: unknown, known, switched off
    # each failure is counted and audited alike
    failed = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "staff.login_failed").order_by(AuditEntry.id)).all()
    assert [e.username for e in failed] == ["nobody", "desk", "clerk"]
    assert len(db.session.scalars(select(LoginThrottle)).all()) == 6
    # the hashes checked for the unknown name and for the known ones use the same method
    checked.clear()
    token_for(client_from(app, "10.0.8.5"), "nobody", "wrong-password")
    token_for(client_from(app, "10.0.8.6"), "desk", "wrong-password")
    assert [h.split("$")[0] for h in checked] == [
        services.find_user("desk").password_hash.split("$")[0]] * 2


def test_a_locked_or_switched_off_account_says_so_only_to_the_right_password(app, clock):
    services.set_locked(services.find_user("desk"), True, None)
    services.set_active(services.find_user("clerk"), False, None)
    browser = client_from(app, "10.0.9.7")
    assert "用户名或密码错误。" in sign_in(browser, "desk", "wrong").get_data(as_text=True)
    assert "此账号已被管理员锁定" in sign_in(browser, "desk").get_data(as_text=True)
    assert "此账号已停用" in sign_in(browser, "clerk").get_data(as_text=True)
    locked = token_for(browser, "desk")
    assert locked.status_code == 401 and "locked" in locked.get_json()["detail"]


def test_logins_logouts_and_failed_logins_are_audited_without_the_password(app, clock):
    browser = client_from(app, "10.0.9.8")
    sign_in(browser, "desk", "Secret-Guess-1")
    sign_in(browser, "someone-unknown", "Secret-Guess-2")
    sign_in(browser, "desk")
    browser.post("/staff/logout")
    token_for(browser, "clerk")
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action.like("staff.%")).order_by(AuditEntry.id)).all()
    desk = services.find_user("desk")
    clerk = services.find_user("clerk")
    assert [(e.action, e.username, e.user_id, e.target, e.details.get("channel"))
            for e in entries] == [
        ("staff.login_failed", "desk", None, f"user:{desk.id}", "page"),
        ("staff.login_failed", "someone-unknown", None, "", "page"),
        ("staff.login", "desk", desk.id, f"user:{desk.id}", "page"),
        ("staff.logout", "desk", desk.id, f"user:{desk.id}", None),
        ("staff.login", "clerk", clerk.id, f"user:{clerk.id}", "api"),
    ]
    assert all(e.ip == "10.0.9.8" for e in entries)
    assert entries[0].details["reason"] == "wrong"
    assert entries[2].office_id == desk.office_id
    stored = " ".join(f"{e.username} {e.target} {e.details}" for e in entries)
    assert "Secret-Guess" not in stored and PASSWORD not in stored
