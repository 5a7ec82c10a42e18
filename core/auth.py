"""Staff accounts, roles and API tokens, and the guards that every staff route uses.

Sessions are ended on the server: each account has a `session_version`, stored in the
session at login (`SESSION_VERSION_KEY`) and compared on every request by the user loader.
Logging out, a password change, deactivation, a lock and an admin's "end all sessions" raise
it (staff.services), so a copy of an older session cookie is refused from then on. API
tokens are refused once revoked or expired, and while the account is switched off or
locked."""

import enum
import functools
import hashlib
import secrets
from datetime import datetime, timedelta

from flask import abort, current_app, g, request, session
from flask_login import UserMixin, current_user
from sqlalchemy import CheckConstraint, ForeignKey, String, bindparam, select, update
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from core.clock import utcnow
from core.errors import ApiError
from core.extensions import db, login_manager
from core.i18n import N_
from core.types import UTCDateTime


class Role(enum.StrEnum):
    ADMIN = "admin"
    DESK = "desk"
    REGISTRAR = "registrar"


# Message ids, translated where shown (templates/staff/home.html).
ROLE_NAMES = {Role.ADMIN: N_("管理员"), Role.DESK: N_("导办台"), Role.REGISTRAR: N_("登记员")}


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'desk', 'registrar')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    staff_number: Mapped[str] = mapped_column(String(32), default="")
    active: Mapped[bool] = mapped_column(default=True)
    # set by an admin (staff admin page, `flask users lock`); never by failed logins
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # raised to end every session of the account (see the module's docstring)
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Unused since failed logins stopped locking accounts (staff.services): kept one release
    # so that workers still running the older code can read users while the new ones start
    # (docs/deploy.md §9); the next release's migration drops them.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    @property
    def may_sign_in(self) -> bool:
        """Switched on and not locked by an admin."""
        return self.active and self.locked_at is None

    def can_act_for(self, office_id: int) -> bool:
        """Staff bound to an office act only there; staff without an office act everywhere."""
        return self.office_id is None or self.office_id == office_id


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    token = secrets.token_urlsafe(32)
    hours = current_app.config["API_TOKEN_HOURS"]
    row = ApiToken(user_id=user.id, token_hash=_hash_token(token),
                   expires_at=utcnow() + timedelta(hours=hours))
    db.session.add(row)
    return token, row


def revoke_token(token: str) -> bool:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True


def revoke_user_tokens(user_id: int) -> int:
    """Revoke every live API token of an account (the caller commits); how many."""
    return db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())).rowcount or 0


@functools.cache
def _bearer_statement():
    """The account of a live API token: one statement (every staff API request asks it),
    built once."""
    return (select(User).join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == bindparam("token_hash"),
                   ApiToken.revoked_at.is_(None), ApiToken.expires_at > bindparam("now")))


def user_from_bearer() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    user = db.session.scalar(_bearer_statement(), {"token_hash": _hash_token(token.strip()),
                                                   "now": utcnow()})
    return user if user is not None and user.may_sign_in else None


def api_roles(*roles: Role):
    """Guard an API view: a valid bearer token of one of `roles` (admin always passes)."""
    allowed = {Role.ADMIN, *roles}

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = user_from_bearer()
            if user is None:
                raise ApiError(401, "unauthorized", "A valid bearer token is required.")
            if user.role not in allowed:
                raise ApiError(403, "forbidden", "Your role may not do this.")
            g.staff = user
            return view(*args, **kwargs)

        return wrapper

    return decorator


def page_roles(*roles: Role):
    """Guard a staff page: logged in (else to the login page) with one of `roles`."""
    allowed = {Role.ADMIN, *roles}

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            g.staff = current_user
            return view(*args, **kwargs)

        return wrapper

    return decorator


def current_staff() -> User:
    return g.staff


def require_office_access(user: User, office_id: int) -> None:
    if not user.can_act_for(office_id):
        raise ApiError(403, "forbidden", "You are not staff of this office.")


# --- sessions ------------------------------------------------------------------------------

SESSION_VERSION_KEY = "_sv"


def start_session(user: User) -> None:
    """Sign `user` in on this browser (flask-login) with the account's session version."""
    from flask_login import login_user

    login_user(user)
    session[SESSION_VERSION_KEY] = user.session_version


def forget_session() -> None:
    """Sign this browser out (the caller raises the version: staff.services.sign_out)."""
    from flask_login import logout_user

    logout_user()
    session.pop(SESSION_VERSION_KEY, None)


def forget_loaded_user(*_args, **_kwargs) -> None:
    """At the start of each request: drop a user that flask-login loaded for an earlier
    request sharing this app context (tests, CLI code driving the test client), so that the
    session is checked again."""
    g.pop("_login_user", None)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Every request's check of its session: the account exists, may sign in, and has not
    ended its sessions since this one began."""
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not user.may_sign_in:
        return None
    if session.get(SESSION_VERSION_KEY) != user.session_version:
        return None
    return user


# The same work for an unknown user name as for a known one: its password is checked
# against this hash (made once per process, with the same method as real ones).
@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def check_dummy_password(password: str) -> bool:
    """As long as User.check_password, for a user name that does not exist; always False."""
    check_password_hash(_dummy_hash(), password)
    return False
