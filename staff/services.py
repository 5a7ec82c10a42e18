"""Staff account rules: creation, signing in (throttled per client, never locked by failed
logins), signing out, and an admin's lock, unlock and "end all sessions" (docs/deploy.md
"Staff sessions and logins").

Signing in does the same work for an unknown user name as for a known one: the password is
checked against a hash either way (core.auth.check_dummy_password), and a failure is
counted either way.

Throttling: each failed login counts under two keys, the client address and the user name
tried + the address (staff.models.LoginThrottle, in the database so that every worker and
host shares it). Once a key has LOGIN_THROTTLE_FAILURES failures (the address key:
LOGIN_THROTTLE_ADDRESS_FAILURES), every further failure blocks the next try under it for
LOGIN_THROTTLE_FIRST_SECONDS, doubling each time up to LOGIN_THROTTLE_MAX_SECONDS. A
blocked try is refused before the password is looked at, and is not counted. A key is
forgotten LOGIN_THROTTLE_FORGET_MINUTES after its last failure; a successful login clears
its user name + address key. The right password from another address always works: only an
admin locks an account.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.security import generate_password_hash

from core.audit import record_audit
from core.auth import Role, User, check_dummy_password, revoke_user_tokens
from core.clock import utcnow
from core.database import is_postgres, write_transaction
from core.extensions import db
from core.privacy import secret_hash
from offices.queries import find_office
from staff.models import LoginThrottle

# Read with these defaults until config/defaults.py lists them (docs/api.md §5).
THROTTLE_DEFAULTS = {
    "LOGIN_THROTTLE_FAILURES": 3,
    "LOGIN_THROTTLE_ADDRESS_FAILURES": 20,
    "LOGIN_THROTTLE_FIRST_SECONDS": 5,
    "LOGIN_THROTTLE_MAX_SECONDS": 900,
    "LOGIN_THROTTLE_FORGET_MINUTES": 60,
}
USERNAME_MAX = 64  # users.username


class StaffError(ValueError):
    """`code` for the pages (which say it in the reader's language), the text for the CLI."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.code = code


def _setting(key: str) -> int:
    return int(current_app.config.get(key, THROTTLE_DEFAULTS[key]))


def create_user(username: str, role: str, password: str, office_code: str | None = None,
                display_name: str = "") -> User:
    username = username.strip()
    if not username:
        raise StaffError("the user name is empty")
    if len(username) > USERNAME_MAX:
        raise StaffError(f"the user name has more than {USERNAME_MAX} characters")
    try:
        role = Role(role)
    except ValueError:
        raise StaffError(f"unknown role {role!r}; use admin, desk or registrar") from None
    _check_password_rules(password)
    user = User(username=username, role=role.value, display_name=display_name or username)
    user.set_password(password)  # hashing is slow: before the write lock, not under it
    with write_transaction():  # the look-ups and the insert as one (SQLite: one write lock)
        if db.session.scalar(select(User).where(User.username == username)):
            raise StaffError(f"the user {username!r} exists already")
        if office_code:
            office = find_office(office_code, active_only=False)
            if office is None:
                raise StaffError(f"unknown office {office_code!r}; load the offices first")
            user.office_id = office.id
        db.session.add(user)
    return user


def _check_password_rules(password: str) -> None:
    if len(password) < 8:
        raise StaffError("the password must have at least 8 characters", "short_password")


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username.strip()))


# --- signing in ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignIn:
    """What became of a login. `result`: "ok", "throttled" (refused unseen: wait
    `wait_seconds`), "wrong" (user name or password; `wait_seconds` > 0 when the next try
    must wait), "locked" or "inactive" (the right password of an account an admin locked or
    switched off)."""

    result: str
    user: User | None = None
    wait_seconds: int = 0


def _keys(username: str, address: str) -> tuple[str, str]:
    return (secret_hash(f"address\0{address}"),
            secret_hash(f"name\0{username}\0{address}"))


def _seconds_until(moment: datetime | None, now: datetime) -> int:
    if moment is None or moment <= now:
        return 0
    return max(1, math.ceil((moment - now).total_seconds()))


def throttle_wait(username: str, address: str, now: datetime | None = None) -> int:
    """Seconds this client must wait before trying `username` again (0: it may try now)."""
    now = now or utcnow()
    blocked = db.session.scalar(select(func.max(LoginThrottle.blocked_until)).where(
        LoginThrottle.key_hash.in_(_keys(username, address)),
        LoginThrottle.blocked_until > now))
    return _seconds_until(blocked, now)


def delay_after(failures: int, free: int) -> int:
    """The wait, in seconds, after the `failures`-th failure under a key that allows `free`
    failures: none before, then LOGIN_THROTTLE_FIRST_SECONDS doubling, capped."""
    if failures < free:
        return 0
    first = _setting("LOGIN_THROTTLE_FIRST_SECONDS")
    cap = _setting("LOGIN_THROTTLE_MAX_SECONDS")
    return min(cap, first * 2 ** min(failures - free, 30))


def _count_failure(key: str, free: int, now: datetime, forget_before: datetime) -> datetime | None:
    """Count one failure under `key` (one statement, so that failures at the same moment
    all count) and block it when due; the end of the block, or None."""
    insert = pg_insert if is_postgres() else sqlite_insert
    statement = insert(LoginThrottle).values(key_hash=key, failures=1, last_failure_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[LoginThrottle.key_hash],
        set_={"failures": case((LoginThrottle.last_failure_at < forget_before, 1),
                               else_=LoginThrottle.failures + 1),
              "last_failure_at": now}).returning(LoginThrottle.failures)
    failures = db.session.execute(statement).scalar_one()
    delay = delay_after(failures, free)
    if not delay:
        return None
    until = now + timedelta(seconds=delay)
    db.session.execute(update(LoginThrottle).where(LoginThrottle.key_hash == key)
                       .values(blocked_until=until))
    return until


def _tried(username: str) -> SimpleNamespace:
    """The audit's "who" of a failed login: nobody known, under the user name tried."""
    return SimpleNamespace(id=None, username=username[:USERNAME_MAX])


def sign_in(username: str, password: str, address: str | None, channel: str) -> SignIn:
    """Check a login from the client at `address` (`channel`: "page" or "api") and audit
    it. The caller starts the session or issues the token when the result is "ok"."""
    username = (username or "").strip()
    address = address or "unknown"
    now = utcnow()
    wait = throttle_wait(username, address, now)
    if wait:
        return SignIn("throttled", wait_seconds=wait)
    user = find_user(username) if username else None
    if user is None:
        check_dummy_password(password)  # the same work as for a real account
        correct = False
    else:
        correct = user.check_password(password)
    if correct and user.may_sign_in:
        address_key, name_key = _keys(username, address)
        with write_transaction():
            db.session.execute(delete(LoginThrottle).where(LoginThrottle.key_hash == name_key))
            record_audit(user, "staff.login", f"user:{user.id}", user.office_id,
                         channel=channel)
        return SignIn("ok", user)
    result = "wrong" if not correct else ("locked" if user.active else "inactive")
    wait = 0
    with write_transaction():
        if result == "wrong":  # the right password of a locked account guesses nothing
            address_key, name_key = _keys(username, address)
            forget_before = now - timedelta(minutes=_setting("LOGIN_THROTTLE_FORGET_MINUTES"))
            db.session.execute(delete(LoginThrottle).where(
                LoginThrottle.last_failure_at < forget_before))
            ends = [_count_failure(address_key, _setting("LOGIN_THROTTLE_ADDRESS_FAILURES"),
                                   now, forget_before),
                    _count_failure(name_key, _setting("LOGIN_THROTTLE_FAILURES"), now,
                                   forget_before)]
            wait = max(_seconds_until(end, now) for end in ends)
        record_audit(_tried(username), "staff.login_failed",
                     f"user:{user.id}" if user is not None else "", None, channel=channel,
                     reason=result)
    return SignIn(result, wait_seconds=wait)


# --- ending sessions -------------------------------------------------------------------------

def _raise_session_version(user: User) -> None:
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_version=User.session_version + 1))


def sign_out(user: User) -> None:
    """Logging out ends every session of the account (a copied cookie included); its API
    tokens stay until revoked or expired. The caller forgets this browser's session."""
    with write_transaction():
        _raise_session_version(user)
        record_audit(user, "staff.logout", f"user:{user.id}", user.office_id)
    db.session.expire(user)


def _actor(by: User | None) -> User | SimpleNamespace:
    return by if by is not None else SimpleNamespace(id=None, username="")


def may_manage(admin: User, target: User) -> bool:
    """An admin bound to an office manages the accounts of that office only."""
    return admin.office_id is None or admin.office_id == target.office_id


def _check_manager(by: User | None, target: User) -> None:
    if by is not None and not may_manage(by, target):
        raise StaffError(f"{by.username!r} may not manage {target.username!r}", "forbidden")


def end_sessions(target: User, by: User | None) -> None:
    """An admin's "end all sessions": every browser session and API token of `target`."""
    _check_manager(by, target)
    with write_transaction():
        _raise_session_version(target)
        tokens = revoke_user_tokens(target.id)
        record_audit(_actor(by), "staff.end_sessions", f"user:{target.id}", target.office_id,
                     account=target.username, tokens_revoked=tokens,
                     **({} if by else {"via": "cli"}))
    db.session.expire(target)


def set_locked(target: User, locked: bool, by: User | None) -> bool:
    """Lock an account (its sessions and tokens end; no login until unlocked) or unlock
    it. Only admins do this (staff pages, `flask users lock|unlock`); False when it was so
    already."""
    _check_manager(by, target)
    if by is not None and by.id == target.id and locked:
        raise StaffError("an admin cannot lock their own account", "self")
    with write_transaction():
        row = db.session.get(User, target.id, populate_existing=True)
        if (row.locked_at is not None) == locked:
            return False
        row.locked_at = utcnow() if locked else None
        tokens = 0
        if locked:
            _raise_session_version(row)
            tokens = revoke_user_tokens(row.id)
        record_audit(_actor(by), "staff.lock" if locked else "staff.unlock", f"user:{row.id}",
                     row.office_id, account=row.username,
                     **({"tokens_revoked": tokens} if locked else {}),
                     **({} if by else {"via": "cli"}))
    db.session.expire(target)
    return True


def set_active(target: User, active: bool, by: User | None) -> bool:
    """Switch an account off (its sessions and tokens end) or on again; False when it was
    so already."""
    _check_manager(by, target)
    with write_transaction():
        row = db.session.get(User, target.id, populate_existing=True)
        if row.active == active:
            return False
        row.active = active
        tokens = 0
        if not active:
            _raise_session_version(row)
            tokens = revoke_user_tokens(row.id)
        record_audit(_actor(by), "staff.activate" if active else "staff.deactivate",
                     f"user:{row.id}", row.office_id, account=row.username,
                     **({} if active else {"tokens_revoked": tokens}),
                     **({} if by else {"via": "cli"}))
    db.session.expire(target)
    return True


def change_password(target: User, password: str, by: User | None) -> None:
    """A new password; every session and API token of the account ends."""
    _check_manager(by, target)
    _check_password_rules(password)
    password_hash = generate_password_hash(password)  # slow: before the write lock
    with write_transaction():
        db.session.execute(update(User).where(User.id == target.id)
                           .values(password_hash=password_hash,
                                   session_version=User.session_version + 1))
        tokens = revoke_user_tokens(target.id)
        record_audit(_actor(by), "staff.password", f"user:{target.id}", target.office_id,
                     account=target.username, tokens_revoked=tokens,
                     **({} if by else {"via": "cli"}))
    db.session.expire(target)


def manageable_users(admin: User) -> list[User]:
    query = select(User).order_by(User.office_id.is_not(None), User.office_id, User.username)
    if admin.office_id is not None:
        query = query.where(User.office_id == admin.office_id)
    return list(db.session.scalars(query))
