"""Rating tablets paired by staff (好差评 at the window).

A window's rating tablet page (/rate/<office>/<window>) works only in a browser that an
admin or the office's desk staff paired with that window: pairing sets a long-lived random
device token in a cookie (HttpOnly, SameSite=Strict, Secure in production) and stores only
its keyed hash (core.privacy.secret_hash: the exact text, tokens are case-sensitive). Staff
list and unpair tablets; an unpaired browser's cookie is refused from then on."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import current_app, request
from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from core.audit import record_audit
from core.clock import utcnow
from core.extensions import db
from core.privacy import secret_hash
from core.types import UTCDateTime
from offices.models import Office, Window

COOKIE = "xiyue_tablet"
COOKIE_DAYS = 400  # browsers keep a cookie at most this long; each visit renews it
TOKEN_MAX = 128


class RatingTablet(db.Model):
    """A browser paired as the rating tablet of one window."""

    __tablename__ = "rating_tablets"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"),
                                           index=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    paired_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paired_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


def tablet_for_token(token: str | None) -> RatingTablet | None:
    if not token or len(token) > TOKEN_MAX:
        return None
    return db.session.scalar(select(RatingTablet).where(
        RatingTablet.token_hash == secret_hash(token)))


def request_token() -> str | None:
    return request.cookies.get(COOKIE)


def this_tablet() -> RatingTablet | None:
    """The paired tablet this request comes from, or None."""
    return tablet_for_token(request_token())


def tablets_of(office: Office) -> list[RatingTablet]:
    return list(db.session.scalars(select(RatingTablet).where(
        RatingTablet.office_id == office.id).order_by(RatingTablet.window_id,
                                                      RatingTablet.paired_at)))


def pair(office: Office, window: Window, by, old_token: str | None) -> str:
    """Pair this browser with `window` (the caller commits and sets the cookie): a new
    token, whose hash is stored. A tablet this browser was paired as before is unpaired."""
    previous = tablet_for_token(old_token)
    if previous is not None:
        db.session.delete(previous)
    token = secrets.token_urlsafe(32)
    tablet = RatingTablet(office_id=office.id, window_id=window.id,
                          token_hash=secret_hash(token), paired_at=utcnow(),
                          paired_by_id=getattr(by, "id", None))
    db.session.add(tablet)
    db.session.flush()
    record_audit(by, "feedback.tablet_pair", f"tablet:{tablet.id}", office.id,
                 window=window.number,
                 **({"replaced": f"tablet:{previous.id}"} if previous is not None else {}))
    return token


def unpair(office: Office, tablet_id: int, by) -> bool:
    """Unpair one tablet of `office` (the caller commits); False when there is none."""
    tablet = db.session.scalar(select(RatingTablet).where(RatingTablet.id == tablet_id,
                                                          RatingTablet.office_id == office.id))
    if tablet is None:
        return False
    window = db.session.get(Window, tablet.window_id)
    db.session.execute(delete(RatingTablet).where(RatingTablet.id == tablet.id))
    record_audit(by, "feedback.tablet_unpair", f"tablet:{tablet_id}", office.id,
                 window=window.number if window is not None else "")
    return True


def set_cookie(response, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=COOKIE_DAYS * 24 * 3600, path="/",
                        httponly=True, samesite="Strict",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
