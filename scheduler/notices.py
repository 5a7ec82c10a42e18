"""System notices: warnings a job raises for the administrators and the staff home page
shows until they are resolved (for instance: next year's holiday notice is missing).

A notice has a stable code (one row per problem), so raising it again only refreshes it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select

from core.database import write_transaction
from core.extensions import db
from scheduler.lease import wall_now
from scheduler.models import SystemNotice

HOLIDAY_NOTICE_KIND = "holiday_notice_missing"


def raise_notice(code: str, kind: str, message: str, params: dict | None = None) -> bool:
    """Record (or refresh) an open notice; True when it is new or was resolved before."""
    now = wall_now()
    with write_transaction():
        notice = db.session.get(SystemNotice, code)
        if notice is None:
            db.session.add(SystemNotice(code=code, kind=kind, message=message,
                                        params=params or {}, raised_at=now, checked_at=now))
            return True
        reopened = notice.resolved_at is not None
        notice.kind, notice.message, notice.params = kind, message, params or {}
        notice.checked_at = now
        if reopened:
            notice.raised_at, notice.resolved_at = now, None
        return reopened


def resolve_notices(kind: str, settled: Callable[[SystemNotice], bool]) -> int:
    """Resolve the open notices of `kind` for which `settled(notice)` is true; how many."""
    now = wall_now()
    with write_transaction():
        open_notices = db.session.scalars(
            select(SystemNotice).where(SystemNotice.kind == kind,
                                       SystemNotice.resolved_at.is_(None))).all()
        resolved = 0
        for notice in open_notices:
            if settled(notice):
                notice.resolved_at = now
                resolved += 1
        return resolved


def holiday_year_settled(year: int) -> bool:
    from hours.calendar import year_settled

    return year_settled(year)


def _holiday_text(notice: SystemNotice) -> str:
    """The calendar's own (translated) wording for the year, or the stored text."""
    from hours.calendar import missing_notice_warning

    year = int(notice.params.get("year", 0))
    if year:
        text = missing_notice_warning(date(year - 1, 12, 31))
        if text:
            return text
    return notice.message


def active_warnings() -> list[str]:
    """Texts of the open notices, oldest first, for the staff home page. A holiday-notice
    warning disappears as soon as an admin confirms that year (no need to wait for the
    next daily check)."""
    notices = db.session.scalars(
        select(SystemNotice).where(SystemNotice.resolved_at.is_(None))
        .order_by(SystemNotice.raised_at, SystemNotice.code)).all()
    texts = []
    for notice in notices:
        if notice.kind == HOLIDAY_NOTICE_KIND:
            year = int(notice.params.get("year", 0))
            if year and holiday_year_settled(year):
                continue
            texts.append(_holiday_text(notice))
        else:
            texts.append(notice.message)
    return texts
