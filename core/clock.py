"""The office clock: every "now" in the application comes from here.

`FROZEN_NOW` (an ISO 8601 timestamp with offset, settable as XIYUE_FROZEN_NOW) pins the
clock for tests and demonstrations, also across processes such as gunicorn workers.
"""

import functools
import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Shanghai"


def utcnow() -> datetime:
    frozen = current_app.config.get("FROZEN_NOW") if has_app_context() else None
    if frozen:
        return _frozen_utc(frozen)
    return datetime.now(UTC)


@functools.lru_cache(maxsize=16)
def _frozen_utc(frozen: str | datetime) -> datetime:
    """FROZEN_NOW in UTC; parsed once, not at each of a request's many look-ups."""
    value = frozen if isinstance(frozen, datetime) else datetime.fromisoformat(frozen)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(DEFAULT_TIMEZONE))
    return value.astimezone(UTC)


def wall_now() -> datetime:
    """The machine's clock, never frozen: leases, job runs and notices are stamped with it,
    because every process must agree on it whatever FROZEN_NOW a test sets."""
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


# --- times of day as "HH:MM" (office hours, slots, schedules) ------------------------------

HHMM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"  # 00:00 to 23:59; also the OpenAPI pattern
_HHMM = re.compile(HHMM_PATTERN)


def is_hhmm(value: object) -> bool:
    return isinstance(value, str) and _HHMM.fullmatch(value) is not None


def to_minutes(hhmm: str) -> int:
    """"13:30" -> 810 (minutes since midnight)."""
    hour, minute = hhmm.split(":")
    return int(hour) * 60 + int(minute)


def from_minutes(minutes: int) -> str:
    """810 -> "13:30"; a negative count is midnight."""
    minutes = max(0, minutes)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def time_of(hhmm: str) -> time:
    return time(*divmod(to_minutes(hhmm), 60))
