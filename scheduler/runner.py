"""Running one job: claim its run in `job_runs`, call its function inside an app context,
record what it did.

A scheduled run is keyed by the time it was scheduled for (see registry.run_key): the unique
(job_id, run_key) constraint lets a period's run happen once, however many processes or
threads try it. A run from `flask jobs run` gets a key of its own; the job functions are
idempotent, so running one twice at once or twice in a row has the effect of running it once.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from core.database import checked_for_deferred_writes
from core.extensions import db
from core.summaries import DONE, FAILED, INTERRUPTED, TAKEN_OVER
from scheduler import registry
from scheduler.lease import Lease, wall_now
from scheduler.models import JobRun

log = logging.getLogger("scheduler.jobs")
_runs = JobRun.__table__

# The scheduler process sets these before it starts APScheduler: the job store keeps only a
# reference to run_scheduled and the job id, so the app and lease are found here.
_context: dict = {"app": None, "lease": None, "holder": None}


@dataclass(frozen=True)
class RunResult:
    job_id: str
    run_key: str
    status: str  # "ok" | "error" | "skipped"
    summary: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def bind(app: Flask, lease: Lease | None, holder: str) -> None:
    _context.update(app=app, lease=lease, holder=holder)


def run_scheduled(job_id: str) -> str:
    """What APScheduler calls (by reference, from the job store) at each fire time. A job's
    own failure is recorded and logged here; only a failure of this bookkeeping itself (the
    database unreachable, say) reaches APScheduler as EVENT_JOB_ERROR."""
    app = _context["app"]
    if app is None:
        raise RuntimeError("scheduler.runner.run_scheduled called outside `flask scheduler run`")
    with app.app_context():
        result = execute(job_id, lease=_context["lease"], holder=_context["holder"])
    return result.summary


def _claim(job_id: str, key: str, holder: str, manual: bool) -> int | None:
    try:
        with db.engine.begin() as conn:
            return conn.execute(insert(_runs).values(
                job_id=job_id, run_key=key, manual=manual, holder=holder, status="running",
                summary="", started_at=wall_now()).returning(_runs.c.id)).scalar_one()
    except IntegrityError:
        return None


def _finish(run_id: int, status: str, summary: str, running_by: str | None = None) -> None:
    """Record a run's outcome; with `running_by`, only while it is still that holder's
    running run (another process may have settled it first)."""
    condition = _runs.c.id == run_id
    if running_by is not None:
        condition &= (_runs.c.status == "running") & (_runs.c.holder == running_by)
    with db.engine.begin() as conn:
        conn.execute(update(_runs).where(condition).values(
            status=status, summary=summary[:2000], finished_at=wall_now()))


def execute(job_id: str, *, manual: bool = False, lease: Lease | None = None,
            holder: str | None = None) -> RunResult:
    """Run `job_id` once, now, in the current app context, and record it.

    Scheduled runs (manual=False) first check that this process still holds the lease and
    then claim the period's run key; either failing skips the run."""
    job = registry.get_job(job_id)
    config = current_app.config
    holder = holder or "manual"
    now = wall_now()
    if manual:
        key = f"manual:{now.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}:{secrets.token_hex(3)}"
    else:
        key = registry.run_key(registry.schedule_for(job, config),
                               registry.scheduler_timezone(config), now)
        if lease is not None and not lease.confirm():
            log.warning("%s: not run, this process no longer holds the scheduler lease", job_id)
            return RunResult(job_id, key, "skipped", "not the lease holder")
    run_id = _claim(job_id, key, holder, manual)
    if run_id is None:
        log.info("%s: run %s already claimed by another process; skipped", job_id, key)
        return RunResult(job_id, key, "skipped", f"run {key} already done elsewhere")

    return _perform(job_id, key, run_id)


def _perform(job_id: str, key: str, run_id: int) -> RunResult:
    """Call the job's function for the claimed run `run_id` and record the outcome."""
    log.info("%s: running (run %s)", job_id, key)
    try:
        function = registry.resolve(registry.get_job(job_id))
        with checked_for_deferred_writes(f"job {job_id}"):
            outcome = function()
            db.session.commit()
    except registry.JobUnavailable as error:
        db.session.rollback()
        _finish(run_id, "error", str(error))
        log.error("%s: cannot run: %s", job_id, error)
        return RunResult(job_id, key, "error", str(error))
    except Exception as error:  # recorded, logged with its traceback, and reported
        db.session.rollback()
        summary = FAILED(error=f"{type(error).__name__}: {error}")
        _finish(run_id, "error", summary)
        log.exception("%s: %s", job_id, summary)
        return RunResult(job_id, key, "error", summary)
    summary = str(outcome if outcome is not None else DONE())
    _finish(run_id, "ok", summary)
    log.info("%s: %s", job_id, summary)
    return RunResult(job_id, key, "ok", summary)


@dataclass(frozen=True)
class InterruptedRun:
    run_id: int
    job_id: str
    run_key: str
    holder: str


def interrupted_runs(holder: str, config: dict) -> list[InterruptedRun]:
    """Scheduled runs left 'running' by another scheduler process. Only the lease holder
    runs scheduled jobs, so once `holder` holds the lease their process has died (or lost
    the lease) in the middle of them. A run whose period is over is marked 'interrupted'
    here (its job ran again at its next fire time); the runs of the current period are
    returned, to be taken over with resume_run (a daily run cut short by a crash at 18:00
    still happens today)."""
    tz = registry.scheduler_timezone(config)
    now = wall_now()
    rows = db.session.execute(
        select(_runs.c.id, _runs.c.job_id, _runs.c.run_key, _runs.c.holder)
        .where(_runs.c.status == "running", _runs.c.manual.is_(False),
               _runs.c.holder != holder)).all()
    db.session.rollback()
    current = []
    for row in rows:
        try:
            job = registry.get_job(row.job_id)
            this_period = row.run_key == registry.run_key(registry.schedule_for(job, config),
                                                          tz, now)
        except KeyError:  # a job no longer in the registry
            this_period = False
        if this_period:
            current.append(InterruptedRun(row.id, row.job_id, row.run_key, row.holder))
        else:
            _finish(row.id, "interrupted", INTERRUPTED(holder=row.holder),
                    running_by=row.holder)
            log.warning("%s: run %s was cut short by the scheduler %s; marked interrupted",
                        row.job_id, row.run_key, row.holder)
    return current


def resume_run(run_id: int, previous_holder: str) -> str:
    """Take over a run of the current period that another scheduler left 'running' and run
    it again (the job functions are idempotent). APScheduler calls it once, right after the
    lease was taken; a run someone else took over already is left alone."""
    app, holder = _context["app"], _context["holder"]
    if app is None:
        raise RuntimeError("scheduler.runner.resume_run called outside `flask scheduler run`")
    with app.app_context():
        lease = _context["lease"]
        if lease is not None and not lease.confirm():
            return "not the lease holder"
        with db.engine.begin() as conn:
            row = conn.execute(
                update(_runs)
                .where(_runs.c.id == run_id, _runs.c.status == "running",
                       _runs.c.holder == previous_holder)
                .values(holder=holder, started_at=wall_now(),
                        summary=str(TAKEN_OVER(holder=previous_holder)))
                .returning(_runs.c.job_id, _runs.c.run_key)).first()
        if row is None:
            return "already taken over"
        log.warning("%s: run %s was cut short by the scheduler %s; running it again",
                    row.job_id, row.run_key, previous_holder)
        return _perform(row.job_id, row.run_key, run_id).summary

