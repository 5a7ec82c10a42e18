"""The open system notices (core.notices) as the staff home page shows them: a holiday-notice
warning in the calendar's own words, and gone as soon as an admin confirms that year."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core.extensions import db
from core.notices import SystemNotice
from hours.jobs import HOLIDAY_NOTICE_KIND


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
