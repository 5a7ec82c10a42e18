"""Sessions end on the server: a copy of a session cookie stops working once its owner logs
out, changes the password, is switched off or locked, or an admin ends their sessions; API
tokens of a switched-off or locked account are refused."""

import pytest
from sqlalchemy import update

from core.auth import User
from core.extensions import db
from staff import services
from tests.staff.conftest import PASSWORD, client_from, sign_in, token_for


def _copy_session(source, target) -> None:
    """What an attacker does with a stolen cookie: the same session in another browser."""
    cookie = source.get_cookie("session")
    assert cookie is not None, "no session cookie"
    target.set_cookie("session", cookie.value)


def _signed_in(client) -> bool:
    response = client.get("/staff/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    return False


def test_a_copied_session_cookie_is_refused_after_logout(app, accounts):
    desk = client_from(app, "10.0.0.1")
    assert sign_in(desk, "desk").status_code == 302
    thief = client_from(app, "10.0.0.66")
    _copy_session(desk, thief)
    assert _signed_in(thief)  # a copied cookie works while its session lasts
    stale = app.test_client()
    _copy_session(desk, stale)  # kept aside, unused until after the logout

    assert desk.post("/staff/logout").status_code == 302
    assert not _signed_in(desk)
    assert not _signed_in(thief)
    assert not _signed_in(stale)
    assert stale.post("/staff/logout").status_code == 302  # to the login page, not a logout
    # signing in again starts a new session; the old copies stay refused
    assert sign_in(desk, "desk").status_code == 302
    assert _signed_in(desk)
    assert not _signed_in(stale)


@pytest.mark.parametrize("end", [
    lambda user, admin: services.change_password(user, "new-password-456", admin),
    lambda user, admin: services.set_active(user, False, admin),
    lambda user, admin: services.set_locked(user, True, admin),
    lambda user, admin: services.end_sessions(user, admin),
], ids=["password change", "deactivation", "lock", "end all sessions"])
def test_sessions_and_tokens_end_with_the_account_change(app, accounts, end):
    browser = client_from(app, "10.0.0.2")
    assert sign_in(browser, "clerk").status_code == 302
    token = token_for(browser, "clerk").get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert browser.post("/api/v1/auth/revoke", headers=bearer).status_code == 200  # a spare
    token = token_for(browser, "clerk").get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    call = "/api/v1/offices/chuanshan/windows/1/pause"
    assert browser.post(call, headers=bearer).status_code == 200

    end(db.session.get(User, accounts["clerk"].id), accounts["boss"])
    assert not _signed_in(browser)
    refused = browser.post(call, headers=bearer)
    assert refused.status_code == 401 and refused.get_json()["code"] == "unauthorized"


def test_a_switched_off_account_s_tokens_are_refused_even_unrevoked(app, accounts):
    """The token check looks at the account itself, not only at the token's revocation."""
    browser = client_from(app, "10.0.0.3")
    token = token_for(browser, "clerk").get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    call = "/api/v1/offices/chuanshan/windows/1/pause"
    assert browser.post(call, headers=bearer).status_code == 200
    db.session.execute(update(User).where(User.username == "clerk").values(active=False))
    db.session.commit()
    assert browser.post(call, headers=bearer).status_code == 401
    db.session.execute(update(User).where(User.username == "clerk").values(active=True))
    db.session.commit()
    assert browser.post(call, headers=bearer).status_code == 200


def test_logging_out_ends_the_page_sessions_but_not_api_tokens(app, accounts):
    browser = client_from(app, "10.0.0.4")
    token = token_for(browser, "clerk").get_json()["token"]
    assert sign_in(browser, "clerk").status_code == 302
    browser.post("/staff/logout")
    assert not _signed_in(browser)
    answer = browser.post("/api/v1/offices/chuanshan/windows/1/pause",
                          headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200  # revoke a token with POST /auth/revoke


def test_a_new_password_works_and_the_old_one_does_not(app, accounts):
    services.change_password(db.session.get(User, accounts["clerk"].id), "new-password-456",
                             None)
    browser = client_from(app, "10.0.0.5")
    assert sign_in(browser, "clerk", PASSWORD).status_code == 200  # the form again
    assert sign_in(browser, "clerk", "new-password-456").status_code == 302
    with pytest.raises(services.StaffError):
        services.change_password(db.session.get(User, accounts["clerk"].id), "short", None)
