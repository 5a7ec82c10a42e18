"""Staff account rules: creation, login with lockout."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from core.auth import Role, User
from core.clock import utcnow
from core.database import write_transaction
from core.extensions import db
from offices.queries import find_office


class StaffError(ValueError):
    pass


def create_user(username: str, role: str, password: str, office_code: str | None = None,
                display_name: str = "") -> User:
    username = username.strip()
    if not username:
        raise StaffError("the user name is empty")
    try:
        role = Role(role)
    except ValueError:
        raise StaffError(f"unknown role {role!r}; use admin, desk or registrar") from None
    if len(password) < 8:
        raise StaffError("the password must have at least 8 characters")
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


def authenticate(username: str, password: str) -> User | None:
    """The user, or None. Repeated failures lock the account for a while."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active:
        return None
    if user.locked_until and user.locked_until > utcnow():
        return None
    correct = user.check_password(password)
    if correct and not user.failed_logins and user.locked_until is None:
        return user
    with write_transaction():
        if correct:
            db.session.execute(update(User).where(User.id == user.id)
                               .values(failed_logins=0, locked_until=None))
        else:  # counted in the row itself: two wrong passwords at once both count
            failures = db.session.execute(
                update(User).where(User.id == user.id)
                .values(failed_logins=User.failed_logins + 1)
                .returning(User.failed_logins)).scalar_one()
            if failures >= current_app.config["LOGIN_LOCKOUT_FAILURES"]:
                minutes = current_app.config["LOGIN_LOCKOUT_MINUTES"]
                db.session.execute(update(User).where(User.id == user.id).values(
                    failed_logins=0, locked_until=utcnow() + timedelta(minutes=minutes)))
    return user if correct else None
