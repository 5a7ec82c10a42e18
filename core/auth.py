"""Staff accounts, roles and API tokens, and the guards that every staff route uses."""

import enum
import functools
import hashlib
import secrets
from datetime import datetime, timedelta

from flask import abort, current_app, g, request
from flask_login import UserMixin, current_user
from sqlalchemy import CheckConstraint, ForeignKey, String, select
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


def user_from_bearer() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    row = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _hash_token(token.strip())))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    user = db.session.get(User, row.user_id)
    return user if user is not None and user.active else None


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


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None
