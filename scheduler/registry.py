"""The job registry: every scheduled job's id, the function it runs (imported lazily by its
dotted path, so that a function another feature has not written yet gives a clear error in
`flask jobs` instead of breaking the app), its schedule and its APScheduler options.

A schedule is {"every": SECONDS} (fired at whole multiples of SECONDS since 2020-01-01 UTC,
so every process computes the same fire times) or {"daily": "HH:MM"} (in the scheduler's
time zone, BABEL_DEFAULT_TIMEZONE). `SCHEDULER_TRIGGERS` overrides schedules per job, e.g.
XIYUE_SCHEDULER_TRIGGERS='{"daily-reset": {"every": 2}}' for a test; `SCHEDULER_JOBS`
(a list of ids) limits which jobs the scheduler process schedules (default: all).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from core.clock import DEFAULT_TIMEZONE, is_hhmm, to_minutes

INTERVAL_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


class JobUnavailable(Exception):
    """The job's function cannot be imported (its feature has not landed, or it is broken)."""


class ScheduleError(ValueError):
    """A schedule in the settings that does not make sense."""


@dataclass(frozen=True)
class JobSpec:
    id: str
    target: str  # "package.module:function"
    schedule: dict  # {"every": seconds} or {"daily": "HH:MM"}
    misfire_grace_time: int  # seconds a run may start late (after a takeover, say)
    description: str | LazyString  # for the staff jobs page: shown in the reader's language


JOBS: tuple[JobSpec, ...] = (
    JobSpec("sms-dispatch", "notify.jobs:dispatch_outbox", {"every": 5}, 30,
            _l("发送短信发件箱中待发的短信")),
    JobSpec("sms-reminders", "booking.reminders:queue_reminders", {"every": 300}, 300,
            _l("把到期的预约前一天提醒短信放入发件箱")),
    JobSpec("extend-hours", "hallqueue.extensions:extend_hours_job", {"every": 60}, 60,
            _l("到了下班时间仍有人等候时，今天延时办公")),
    JobSpec("no-show-sweep", "booking.attendance:sweep_no_shows", {"every": 300}, 300,
            _l("把已过预约时间仍未签到的预约记为未到")),
    JobSpec("daily-reset", "hallqueue.jobs:daily_reset_job", {"daily": "00:05"}, 23 * 3600,
            _l("当天的排队号重新编号；结清以前各天遗留的排队号")),
    JobSpec("holiday-data-check", "hours.jobs:holiday_data_check_job", {"daily": "08:00"},
            23 * 3600, _l("明年的放假通知尚未录入时提醒管理员")),
    JobSpec("sms-divorce-notices", "booking.reminders:queue_divorce_window_notices",
            {"daily": "09:00"}, 23 * 3600,
            _l("离婚第二步（发证）可以办理时通知当事人，期限届满前 5 天再提醒一次")),
    JobSpec("retention-purge", "scheduler.retention:retention_purge_job", {"daily": "03:30"},
            23 * 3600, _l("删除早已办结的预约中的个人信息")),
)
JOB_IDS = tuple(job.id for job in JOBS)


def get_job(job_id: str) -> JobSpec:
    for job in JOBS:
        if job.id == job_id:
            return job
    raise KeyError(job_id)


def resolve(job: JobSpec) -> Callable[[], object]:
    """The job's function, imported now; JobUnavailable says clearly why it cannot be."""
    module_name, _, attribute = job.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            raise JobUnavailable(
                f"{job.id}: module {module_name} does not exist yet, so "
                f"{job.target} cannot run (has that feature landed?)") from error
        raise JobUnavailable(f"{job.id}: importing {module_name} failed: {error}") from error
    except Exception as error:  # a broken module must not break the scheduler
        raise JobUnavailable(
            f"{job.id}: importing {module_name} failed: {type(error).__name__}: {error}"
        ) from error
    function = getattr(module, attribute, None)
    if function is None or not callable(function):
        raise JobUnavailable(
            f"{job.id}: {module_name} has no function {attribute} yet, so {job.target} "
            "cannot run (has that feature landed?)")
    return function


def availability(job: JobSpec) -> str | None:
    """None when the job's function can be imported, else the reason it cannot."""
    try:
        resolve(job)
    except JobUnavailable as error:
        return str(error)
    return None


# --- schedules ------------------------------------------------------------------------

def scheduler_timezone(config: dict) -> ZoneInfo:
    return ZoneInfo(config.get("BABEL_DEFAULT_TIMEZONE") or DEFAULT_TIMEZONE)


def schedule_for(job: JobSpec, config: dict) -> dict:
    overrides = config.get("SCHEDULER_TRIGGERS") or {}
    if not isinstance(overrides, dict):
        raise ScheduleError("SCHEDULER_TRIGGERS must be a mapping of job id to schedule, "
                            'e.g. {"daily-reset": {"every": 2}}')
    unknown = set(overrides) - set(JOB_IDS)
    if unknown:
        raise ScheduleError(f"SCHEDULER_TRIGGERS names unknown jobs: {', '.join(sorted(unknown))}")
    schedule = overrides.get(job.id, job.schedule)
    validate_schedule(job.id, schedule)
    return schedule


def validate_schedule(job_id: str, schedule: object) -> None:
    if not isinstance(schedule, dict) or len(schedule) != 1:
        raise ScheduleError(f"{job_id}: a schedule is {{\"every\": SECONDS}} or "
                            f"{{\"daily\": \"HH:MM\"}}, not {schedule!r}")
    if "every" in schedule:
        seconds = schedule["every"]
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 1:
            raise ScheduleError(f"{job_id}: \"every\" takes a whole number of seconds >= 1, "
                                f"not {seconds!r}")
    elif "daily" in schedule:
        if not is_hhmm(schedule["daily"]):
            raise ScheduleError(f"{job_id}: \"daily\" takes a time HH:MM, not "
                                f"{schedule['daily']!r}")
    else:
        raise ScheduleError(f"{job_id}: unknown schedule {schedule!r}")


def make_trigger(schedule: dict, tz: ZoneInfo) -> IntervalTrigger | CronTrigger:
    if "every" in schedule:
        return IntervalTrigger(seconds=schedule["every"], start_date=INTERVAL_EPOCH,
                               timezone=UTC)
    hour, minute = divmod(to_minutes(schedule["daily"]), 60)
    return CronTrigger(hour=hour, minute=minute, timezone=tz)


def describe(schedule: dict, translated: bool = False) -> str:
    """"every 5 s", "every 5 min", "daily at 00:05": the command line's and the log's
    English. translated=True: the staff page's words in the request's language
    ("每 5 秒", "每天 00:05"; English through the catalogue)."""
    if "every" in schedule:
        seconds = schedule["every"]
        if seconds % 60 == 0:
            if translated:
                return gettext("每 %(n)s 分钟", n=seconds // 60)
            return f"every {seconds // 60} min"
        return gettext("每 %(n)s 秒", n=seconds) if translated else f"every {seconds} s"
    if translated:
        return gettext("每天 %(time)s", time=schedule["daily"])
    return f"daily at {schedule['daily']}"


def scheduled_time(schedule: dict, tz: ZoneInfo, now: datetime) -> datetime:
    """The fire time of the period `now` falls in: the latest fire time not after `now`.
    A scheduled run is keyed by it, so each period runs at most once."""
    if "every" in schedule:
        seconds = schedule["every"]
        elapsed = (now - INTERVAL_EPOCH).total_seconds()
        return INTERVAL_EPOCH + timedelta(seconds=math.floor(elapsed / seconds) * seconds)
    hour, minute = divmod(to_minutes(schedule["daily"]), 60)
    local = now.astimezone(tz)
    fire = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if fire > local:
        fire -= timedelta(days=1)
        fire = fire.replace(hour=hour, minute=minute)  # keep the wall time across DST
    return fire.astimezone(UTC)


def run_key(schedule: dict, tz: ZoneInfo, now: datetime) -> str:
    return scheduled_time(schedule, tz, now).strftime("%Y-%m-%dT%H:%M:%SZ")
