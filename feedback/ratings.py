"""好差评 ratings: at the window's tablet right after service, or later by an SMS link.

One rating per ticket (a unique constraint). Only two things rate: the window's tablet, a
browser that staff paired with that window (feedback.tablets), which rates only the ticket
most recently completed at that window today, within RATING_TABLET_MINUTES of completion;
and the SMS link's own token, which works RATING_LINK_DAYS. A ticket's id is never shown
publicly: the tablet names the ticket by its number. A rating of 不满意 or 非常不满意 opens
a follow-up case.
"""

import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.models import Applicant
from core.clock import local_today, utcnow
from core.database import write_transaction
from core.extensions import db
from core.i18n import localized
from core.privacy import secret_hash
from feedback.cases import open_case
from feedback.models import BAD_LEVELS, Rating, RatingInvite
from feedback.settings import setting
from feedback.tablets import tablet_for_token
from hallqueue.models import Ticket
from notify.messages import render
from notify.outbox import queue_sms
from offices.models import Office, Window

LEVEL_LABELS = {5: _l("非常满意"), 4: _l("满意"), 3: _l("基本满意"), 2: _l("不满意"),
                1: _l("非常不满意")}
COMMENT_MAX = 500


class RatingError(ValueError):
    """Why a rating was not taken: `code` for machines, the message (a message id) for people."""

    def __init__(self, code: str, message):
        super().__init__(code)
        self.code = code
        self.message = message


def parse_level(raw: object) -> int:
    try:
        level = int(str(raw))
    except (TypeError, ValueError):
        raise RatingError("invalid_level", _l("请选择一个评价等级。")) from None
    if level not in LEVEL_LABELS:
        raise RatingError("invalid_level", _l("请选择一个评价等级。"))
    return level


def clean_comment(raw: object) -> str:
    comment = (raw if isinstance(raw, str) else "").strip()
    if len(comment) > COMMENT_MAX:
        raise RatingError("comment_too_long", _l("意见不能超过 500 字。"))
    return comment


def is_rated(ticket_id: int) -> bool:
    return db.session.scalar(select(Rating.id).where(Rating.ticket_id == ticket_id)) is not None


def tablet_ticket(office: Office, window: Window, now: datetime | None = None) -> Ticket | None:
    """The ticket the tablet at `window` may rate now: the one completed most recently at
    that window today, if it is not rated yet and was completed within
    RATING_TABLET_MINUTES. None otherwise (the tablet then shows its welcome)."""
    now = now or utcnow()
    ticket = db.session.scalars(
        select(Ticket).where(Ticket.office_id == office.id, Ticket.window_id == window.id,
                             Ticket.date == local_today(office.timezone),
                             Ticket.status == "completed", Ticket.completed_at.is_not(None))
        .order_by(Ticket.completed_at.desc(), Ticket.id.desc()).limit(1)).first()
    if ticket is None or is_rated(ticket.id):
        return None
    if ticket.completed_at < now - timedelta(minutes=int(setting("RATING_TABLET_MINUTES"))):
        return None
    return ticket


def _add_rating(ticket: Ticket, level: int, comment: str, channel: str) -> Rating:
    if is_rated(ticket.id):
        raise RatingError("already_rated", _l("这次办理已经评价过了，感谢您的评价。"))
    office = db.session.get(Office, ticket.office_id)
    registrar_id = getattr(ticket, "completed_by_id", None) or ticket.called_by_id
    rating = Rating(ticket_id=ticket.id, office_id=ticket.office_id,
                    service_code=ticket.service_code, date=ticket.date,
                    window_id=ticket.window_id, registrar_id=registrar_id, level=level,
                    comment=comment, channel=channel, created_at=utcnow())
    db.session.add(rating)
    db.session.flush()
    if level in BAD_LEVELS:
        open_case(rating, office)
    return rating


def _committed(action) -> Rating:
    try:
        with write_transaction():
            return action()
    except IntegrityError:
        # the other channel (tablet or SMS) rated the same ticket a moment earlier
        raise RatingError("already_rated", _l("这次办理已经评价过了，感谢您的评价。")) from None


def rate_at_window(device_token: str | None, shown: object, level: object,
                   comment: object = "") -> Rating:
    """Rate from a paired window tablet: `device_token` is the browser's tablet cookie
    (feedback.tablets), `shown` the number of the ticket the page showed (J001). Nothing is
    saved unless the browser is a paired tablet and that ticket is still the one its window
    offers (none completed since, not rated, not too old)."""
    level = parse_level(level)
    comment = clean_comment(comment)

    def action() -> Rating:
        tablet = tablet_for_token(device_token)
        if tablet is None:
            raise RatingError("not_paired", _l("此设备不是配对的评价平板，不能在此评价。"))
        office = db.session.get(Office, tablet.office_id)
        window = db.session.get(Window, tablet.window_id)
        ticket = tablet_ticket(office, window)
        if ticket is None or ticket.number != str(shown or ""):
            raise RatingError("not_rateable", _l("这次办理已不能在此评价；如需评价，请使用短信中的链接。"))
        return _add_rating(ticket, level, comment, "tablet")

    return _committed(action)


def invite_for(token: str) -> RatingInvite | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(
        select(RatingInvite).where(RatingInvite.token_hash == secret_hash(token)))


def invite_ticket(invite: RatingInvite) -> Ticket:
    return db.session.get(Ticket, invite.ticket_id)


def invite_expired(invite: RatingInvite) -> bool:
    return invite.expires_at <= utcnow()


def rate_by_token(token: str, level: object, comment: object = "") -> Rating:
    """Rate through an SMS link."""
    level = parse_level(level)
    comment = clean_comment(comment)

    def action() -> Rating:
        invite = invite_for(token)
        if invite is None:
            raise RatingError("not_found", _l("评价链接无效。"))
        if invite_expired(invite):
            raise RatingError("expired", _l("评价链接已过期。"))
        return _add_rating(invite_ticket(invite), level, comment, "sms")

    return _committed(action)


def ticket_phone(ticket: Ticket) -> str:
    """The ticket's phone, else the first applicant's of its appointment (E.164 or "")."""
    if ticket.phone:
        return ticket.phone
    if ticket.appointment_id is not None:
        phones = db.session.scalars(
            select(Applicant.phone).where(Applicant.appointment_id == ticket.appointment_id,
                                          Applicant.phone != "")
            .order_by(Applicant.position)).all()
        if phones:
            return phones[0]
    return ""


def rating_link(token: str) -> str:
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}/rate/t/{token}"


def queue_rating_sms(ticket: Ticket) -> None:
    """Queue the "rate our service" SMS for a completed ticket, in the caller's transaction
    (the hall calls it when a ticket is completed; the caller commits). Does nothing for a
    ticket that is not completed, is rated already, or has no phone number; queues at most
    one message per ticket."""
    if ticket.status != "completed" or ticket.id is None or is_rated(ticket.id):
        return
    phone = ticket_phone(ticket)
    if not phone:
        return
    if db.session.scalar(select(RatingInvite.id).where(RatingInvite.ticket_id == ticket.id)):
        return  # its SMS was queued when the invite was made (the link is kept only hashed)
    invite = RatingInvite(
        ticket_id=ticket.id, token=secrets.token_urlsafe(24),
        expires_at=utcnow() + timedelta(days=int(setting("RATING_LINK_DAYS"))))
    db.session.add(invite)
    db.session.flush()
    office = db.session.get(Office, ticket.office_id)
    language = ticket.language or "zh_CN"
    queue_sms(phone, render("rate_service", language, office=localized(office, "name", language),
                            link=rating_link(invite.token)),
              "rate_service", dedupe_key=f"rate:{ticket.id}")
