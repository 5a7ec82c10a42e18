"""The office clock: every "now" in the application comes from here.

`FROZEN_NOW` (an ISO 8601 timestamp with offset, settable as XIYUE_FROZEN_NOW) pins the
clock for tests and demonstrations, also across processes such as gunicorn workers.
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Shanghai"


def utcnow() -> datetime:
    frozen = current_app.config.get("FROZEN_NOW") if has_app_context() else None
    if frozen:
        value = frozen if isinstance(frozen, datetime) else datetime.fromisoformat(frozen)
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(DEFAULT_TIMEZONE))
        return value.astimezone(UTC)
    return datetime.now(UTC)


def zone(tz_name: str | None = None) -> ZoneInfo:
    return ZoneInfo(tz_name or DEFAULT_TIMEZONE)


def local_now(tz_name: str | None = None) -> datetime:
    """Now in the office's time zone."""
    return utcnow().astimezone(zone(tz_name))


def local_today(tz_name: str | None = None) -> date:
    return local_now(tz_name).date()


def to_local(value: datetime, tz_name: str | None = None) -> datetime:
    return value.astimezone(zone(tz_name))


def local_datetime(day: date, hhmm: str, tz_name: str | None = None) -> datetime:
    """An aware datetime for a local date and an 'HH:MM' time."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone(tz_name))
