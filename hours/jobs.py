"""The calendar's timed job: `holiday-data-check` (daily)."""

from core.clock import local_today
from core.notices import raise_notice, resolve_notices
from core.summaries import (
    HOLIDAY_DATA_IN_PLACE,
    HOLIDAY_NOTICE_MISSING,
    WARNINGS_RESOLVED,
    RunSummary,
)
from hours.calendar import missing_notice_warning, year_settled

HOLIDAY_NOTICE_KIND = "holiday_notice_missing"


def holiday_data_check_job() -> RunSummary:
    """Warn the admins (a system notice on the staff home page) while the State Council's
    holiday notice is neither bundled nor confirmed: for next year from
    HOLIDAY_CHECK_FROM_MONTH on, and for the current year all year (the same cases as
    hours.calendar.calendar_warnings). A warning stays open until its year is confirmed.
    Idempotent: one notice per year, refreshed by each run."""
    today = local_today()

    def settled(notice) -> bool:
        year = int(notice.params.get("year", 0))
        return year < today.year or year_settled(year)

    resolved = resolve_notices(HOLIDAY_NOTICE_KIND, settled)
    due = {}
    if not year_settled(today.year):
        from hours.calendar import calendar_warnings

        due[today.year] = calendar_warnings(today)[0]
    upcoming = missing_notice_warning(today)
    if upcoming:
        due[today.year + 1] = upcoming
    raised = [year for year, text in sorted(due.items())
              if raise_notice(f"holiday-notice-{year}", HOLIDAY_NOTICE_KIND, text,
                              {"year": year})]
    if due:
        years = ", ".join(str(year) for year in sorted(due))
        parts = [HOLIDAY_NOTICE_MISSING(years=years, raised=len(raised))]
    else:
        parts = [HOLIDAY_DATA_IN_PLACE(year=today.year, next_year=today.year + 1)]
    if resolved:
        parts.append(WARNINGS_RESOLVED(resolved=resolved))
    return RunSummary.join(parts)
