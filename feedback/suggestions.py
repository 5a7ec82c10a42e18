"""The suggestion box (意见箱): anyone may write; staff take it up, reply (by SMS where a
phone number was given) and close it. Monthly counts are public."""

import secrets
from collections import OrderedDict
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.audit import record_audit
from core.auth import User
from core.clock import DEFAULT_TIMEZONE, local_today, to_local, utcnow, zone
from core.extensions import db
from core.i18n import is_english, localized
from core.privacy import secret_hash
from feedback.models import SUGGESTION_CATEGORIES, Suggestion
from notify.messages import render
from notify.outbox import queue_sms
from notify.phones import e164
from offices.models import Office

CATEGORY_LABELS = OrderedDict([
    ("complaint", _l("投诉")), ("advice", _l("建议")), ("praise", _l("表扬")),
    ("booking", _l("网上预约")), ("environment", _l("环境设施")), ("other", _l("其他")),
])
STATUS_LABELS = OrderedDict([
    ("received", _l("已收到")), ("in_progress", _l("处理中")), ("replied", _l("已答复")),
    ("closed", _l("已办结")),
])
TEXT_MIN, TEXT_MAX, REPLY_MAX, NAME_MAX = 5, 2000, 300, 64


class SuggestionError(ValueError):
    """The message (a message id) says what to fix."""


def submit(office: Office | None, category: str, text: str, name: str = "", phone: str = "",
           language: str = "zh_CN") -> Suggestion:
    """Put a suggestion in the box (the caller commits)."""
    text = (text or "").strip()
    name = (name or "").strip()
    if category not in SUGGESTION_CATEGORIES:
        raise SuggestionError(_l("请选择意见类别。"))
    if len(text) < TEXT_MIN:
        raise SuggestionError(_l("请写下您的意见（至少 5 个字）。"))
    if len(text) > TEXT_MAX:
        raise SuggestionError(_l("意见不能超过 2000 字。"))
    if len(name) > NAME_MAX:
        raise SuggestionError(_l("姓名不能超过 64 个字。"))
    normalised = ""
    if (phone or "").strip():
        normalised = e164(phone) or ""
        if not normalised:
            raise SuggestionError(_l("手机号码格式不对：请填写 11 位手机号码，或带国家代码的号码（如 +852…）。"))
    suggestion = Suggestion(token=secrets.token_urlsafe(18),
                            office_id=office.id if office else None, category=category,
                            text=text, name=name, phone=normalised,
                            language="en" if (language or "").startswith("en") else "zh_CN",
                            status="received", created_at=utcnow())
    db.session.add(suggestion)
    return suggestion


def by_token(token: str) -> Suggestion | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(
        select(Suggestion).where(Suggestion.token_hash == secret_hash(token)))


def _office_name(suggestion: Suggestion) -> str:
    office = db.session.get(Office, suggestion.office_id) if suggestion.office_id else None
    if office is None:
        return "Xiyue" if is_english(suggestion.language) else "喜约"
    return localized(office, "name", suggestion.language)


def take_up(suggestion: Suggestion, user: User) -> None:
    """received -> in_progress."""
    if suggestion.status != "received":
        raise SuggestionError(_l("只有“已收到”的意见可以受理。"))
    suggestion.status = "in_progress"
    suggestion.handler_id = user.id
    record_audit(user, "feedback.suggestion_status", f"suggestion:{suggestion.id}",
                 suggestion.office_id, status_from="received", status_to="in_progress")


def reply(suggestion: Suggestion, user: User, text: str) -> bool:
    """Answer the sender: the reply is kept, shown on the sender's status page and sent by
    SMS where a phone number was given. True when an SMS was queued."""
    text = (text or "").strip()
    if suggestion.status not in ("received", "in_progress"):
        raise SuggestionError(_l("这条意见已经答复或办结。"))
    if len(text) < 2:
        raise SuggestionError(_l("请填写答复内容。"))
    if len(text) > REPLY_MAX:
        raise SuggestionError(_l("答复不能超过 300 字（短信发送）。"))
    before = suggestion.status
    suggestion.status = "replied"
    suggestion.reply = text
    suggestion.replied_at = utcnow()
    suggestion.replied_by_id = user.id
    suggestion.handler_id = suggestion.handler_id or user.id
    queued = False
    if suggestion.phone:
        message = queue_sms(suggestion.phone,
                            render("suggestion_reply", suggestion.language,
                                   office=_office_name(suggestion), reply=text),
                            "suggestion_reply", dedupe_key=f"suggestion-reply:{suggestion.id}")
        queued = message is not None
    suggestion.reply_sms_queued = queued
    record_audit(user, "feedback.suggestion_reply", f"suggestion:{suggestion.id}",
                 suggestion.office_id, status_from=before, status_to="replied",
                 sms=queued, reply=text[:200])
    return queued


def close(suggestion: Suggestion, user: User) -> None:
    """Any open suggestion -> closed (办结)."""
    if suggestion.status == "closed":
        raise SuggestionError(_l("这条意见已经办结。"))
    before = suggestion.status
    suggestion.status = "closed"
    suggestion.closed_at = utcnow()
    record_audit(user, "feedback.suggestion_status", f"suggestion:{suggestion.id}",
                 suggestion.office_id, status_from=before, status_to="closed")


def _month_start(day: date, back: int) -> date:
    month_index = day.year * 12 + day.month - 1 - back
    return date(month_index // 12, month_index % 12 + 1, 1)


def monthly_counts(months: int = 12, office_id: int | None = None,
                   today: date | None = None) -> list[dict]:
    """Per calendar month (Beijing time), newest first: received, answered (replied or
    closed with a reply), closed, and still open."""
    today = today or local_today()
    first = _month_start(today, months - 1)
    since = datetime(first.year, first.month, 1, tzinfo=zone(DEFAULT_TIMEZONE))
    query = select(Suggestion.created_at, Suggestion.status, Suggestion.replied_at).where(
        Suggestion.created_at >= since)
    if office_id is not None:
        query = query.where(Suggestion.office_id == office_id)
    buckets = OrderedDict()
    for back in range(months):
        start = _month_start(today, back)
        buckets[(start.year, start.month)] = {
            "month": f"{start.year}-{start.month:02d}", "received": 0, "answered": 0,
            "closed": 0, "open": 0}
    for created_at, status, replied_at in db.session.execute(query):
        local = to_local(created_at)
        bucket = buckets.get((local.year, local.month))
        if bucket is None:
            continue
        bucket["received"] += 1
        if replied_at is not None:
            bucket["answered"] += 1
        if status == "closed":
            bucket["closed"] += 1
        elif status in ("received", "in_progress"):
            bucket["open"] += 1
    return list(buckets.values())
