"""Only an admin locks an account: the accounts page and `flask users` lock, unlock and
end sessions; each action is audited, and an office's admin manages that office only."""

from sqlalchemy import select

from core.audit import AuditEntry
from core.auth import User
from core.extensions import db
from staff import services
from tests.staff.conftest import client_from, sign_in, token_for


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


def test_admin_locks_and_unlocks_an_account(app, accounts):
    admin = client_from(app, "10.0.7.1")
    assert sign_in(admin, "boss").status_code == 302
    home = admin.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/users"' in home
    page = admin.get("/staff/users").get_data(as_text=True)
    desk_id = accounts["desk"].id
    assert f'action="/staff/users/{desk_id}/lock"' in page
    desk = client_from(app, "10.0.7.2")
    assert sign_in(desk, "desk").status_code == 302
    token = token_for(desk, "desk").get_json()["token"]

    locked = admin.post(f"/staff/users/{desk_id}/lock", follow_redirects=True)
    assert "已锁定 desk" in locked.get_data(as_text=True)
    assert db.session.get(User, desk_id).locked_at is not None
    assert desk.get("/staff/").status_code == 302  # its session ended
    assert desk.get("/api/v1/offices/chuanshan/appointments",
                    headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "此账号已被管理员锁定" in sign_in(desk, "desk").get_data(as_text=True)
    assert f'action="/staff/users/{desk_id}/unlock"' in admin.get("/staff/users").get_data(
        as_text=True)

    admin.post(f"/staff/users/{desk_id}/unlock")
    assert db.session.get(User, desk_id).locked_at is None
    assert sign_in(desk, "desk").status_code == 302
    lock, unlock = _entries("staff.lock"), _entries("staff.unlock")
    assert [(e.username, e.target, e.details["account"]) for e in lock + unlock] == [
        ("boss", f"user:{desk_id}", "desk"), ("boss", f"user:{desk_id}", "desk")]
    assert lock[0].details["tokens_revoked"] == 1


def test_admin_ends_all_sessions_of_an_account(app, accounts):
    admin = client_from(app, "10.0.7.3")
    sign_in(admin, "boss")
    clerk = client_from(app, "10.0.7.4")
    sign_in(clerk, "clerk")
    token = token_for(clerk, "clerk").get_json()["token"]
    clerk_id = accounts["clerk"].id
    answer = admin.post(f"/staff/users/{clerk_id}/end-sessions", follow_redirects=True)
    assert "已结束 clerk 的全部登录会话和接口令牌" in answer.get_data(as_text=True)
    assert clerk.get("/staff/").status_code == 302
    assert clerk.post("/api/v1/offices/chuanshan/windows/1/pause",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert sign_in(clerk, "clerk").status_code == 302  # not locked: may sign in again
    [entry] = _entries("staff.end_sessions")
    assert (entry.username, entry.target, entry.details["tokens_revoked"]) == (
        "boss", f"user:{clerk_id}", 1)
    # an admin ending their own sessions is signed out here too
    boss_id = accounts["boss"].id
    own = admin.post(f"/staff/users/{boss_id}/end-sessions")
    assert own.status_code == 302 and "/staff/login" in own.headers["Location"]
    assert admin.get("/staff/").status_code == 302


def test_an_office_s_admin_manages_that_office_only_and_not_their_own_lock(app, accounts):
    anju = client_from(app, "10.0.7.5")
    sign_in(anju, "anju-admin")
    page = anju.get("/staff/users").get_data(as_text=True)
    assert "anju-admin" in page and ">desk<" not in page and ">boss<" not in page
    assert anju.post(f"/staff/users/{accounts['desk'].id}/lock").status_code == 403
    assert anju.post(f"/staff/users/{accounts['boss'].id}/end-sessions").status_code == 403
    assert anju.post("/staff/users/99999/lock").status_code == 404
    itself = anju.post(f"/staff/users/{accounts['anju-admin'].id}/lock", follow_redirects=True)
    assert "不能锁定自己的账号" in itself.get_data(as_text=True)
    assert db.session.get(User, accounts["anju-admin"].id).locked_at is None
    desk = client_from(app, "10.0.7.6")
    sign_in(desk, "desk")
    assert desk.get("/staff/users").status_code == 403
    assert desk.post(f"/staff/users/{accounts['clerk'].id}/lock").status_code == 403
    assert _entries("staff.lock") == []


def test_flask_users_lock_unlock_end_sessions_deactivate_and_password(app, accounts, runner):
    def run(*args):
        result = runner.invoke(args=["users", *args])
        assert result.exit_code == 0, result.output
        return result.output

    clerk = client_from(app, "10.0.7.7")
    assert "Locked 'desk'" in run("lock", "desk")
    assert "was locked already" in run("lock", "desk")
    assert services.find_user("desk").locked_at is not None
    assert "Unlocked 'desk'" in run("unlock", "desk")
    sign_in(clerk, "clerk")
    assert "Ended every session" in run("end-sessions", "clerk")
    assert clerk.get("/staff/").status_code == 302
    assert "Switched off 'clerk'" in run("deactivate", "clerk")
    assert "此账号已停用" in sign_in(clerk, "clerk").get_data(as_text=True)
    assert "Switched on 'clerk'" in run("activate", "clerk")
    assert "New password set" in run("set-password", "clerk", "--password", "another-pass-9")
    assert sign_in(clerk, "clerk", "another-pass-9").status_code == 302
    missing = runner.invoke(args=["users", "lock", "nobody"])
    assert missing.exit_code != 0 and "no user 'nobody'" in missing.output
    short = runner.invoke(args=["users", "set-password", "clerk", "--password", "short"])
    assert short.exit_code != 0 and "at least 8 characters" in short.output
    actions = [(e.action, e.details.get("via")) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.in_((
            "staff.lock", "staff.unlock", "staff.end_sessions", "staff.deactivate",
            "staff.activate", "staff.password"))).order_by(AuditEntry.id))]
    assert actions == [("staff.lock", "cli"), ("staff.unlock", "cli"),
                       ("staff.end_sessions", "cli"), ("staff.deactivate", "cli"),
                       ("staff.activate", "cli"), ("staff.password", "cli")]
