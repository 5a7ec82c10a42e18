"""`flask scheduler run`: the one process that runs the timed jobs.

Any number of copies may run (one per host, say); the lease (scheduler.lease) lets exactly
one of them run APScheduler. The others poll the lease and take over when it expires, within
SCHEDULER_LEASE_SECONDS plus one poll. The holder renews it every third of its length; a
holder that cannot renew stops its jobs as soon as its lease runs out, and a job about to run
checks the lease first (scheduler.runner.execute).

APScheduler keeps the jobs in the app's database (SQLAlchemyJobStore, table
apscheduler_jobs), so a run missed while nobody held the lease is caught up once (coalesced)
when it is still within the job's misfire grace time.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from core.extensions import db
from scheduler import registry, runner
from scheduler.lease import Lease, current_lease, make_holder_id, wall_now
from scheduler.models import JOBSTORE_TABLE

log = logging.getLogger("scheduler")

REQUIRED_TABLES = ("scheduler_leases", "job_runs", "system_notices")
WAITING_LOG_EVERY = 60.0  # seconds between "waiting for the lease" lines for the same holder


class SchedulerSetupError(RuntimeError):
    """The scheduler cannot start: the schema or the settings are not right."""


def poll_interval(lease_seconds: float) -> float:
    return min(max(lease_seconds / 3.0, 0.5), 10.0)


def scheduled_jobs(config: dict) -> list[registry.JobSpec]:
    """The jobs this deployment schedules (SCHEDULER_JOBS, default all), schedules checked."""
    wanted = config.get("SCHEDULER_JOBS")
    if wanted is None:
        jobs = list(registry.JOBS)
    else:
        if isinstance(wanted, str):
            wanted = [part.strip() for part in wanted.split(",") if part.strip()]
        unknown = sorted(set(wanted) - set(registry.JOB_IDS))
        if unknown:
            raise SchedulerSetupError(f"SCHEDULER_JOBS names unknown jobs: {', '.join(unknown)}"
                                      f" (known: {', '.join(registry.JOB_IDS)})")
        jobs = [job for job in registry.JOBS if job.id in wanted]
    try:
        for job in jobs:
            registry.schedule_for(job, config)
    except registry.ScheduleError as error:
        raise SchedulerSetupError(str(error)) from error
    return jobs


def check_schema() -> None:
    present = set(inspect(db.engine).get_table_names())
    missing = [name for name in REQUIRED_TABLES if name not in present]
    if missing:
        raise SchedulerSetupError(
            f"the database has no table {', '.join(missing)}: run `flask db upgrade` first")


class SchedulerProcess:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.config = app.config
        self.lease_seconds = float(self.config.get("SCHEDULER_LEASE_SECONDS") or 30)
        self.poll = poll_interval(self.lease_seconds)
        self.holder = make_holder_id()
        self.lease = Lease(db.engine, self.holder, self.lease_seconds)
        self.jobs = scheduled_jobs(self.config)
        self.tz = registry.scheduler_timezone(self.config)
        self.scheduler: BackgroundScheduler | None = None
        self.stopping = threading.Event()
        self._last_waiting: tuple[str | None, float] = (None, 0.0)

    # --- the main loop ------------------------------------------------------------------

    def run(self) -> None:
        check_schema()
        self._install_signal_handlers()
        # our own lines say when each job runs and what it did; APScheduler's would repeat them
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
        log.info("scheduler %s starting: lease %gs, polling every %gs, jobs: %s", self.holder,
                 self.lease_seconds, self.poll, ", ".join(job.id for job in self.jobs))
        try:
            while not self.stopping.is_set():
                self.tick()
                self.stopping.wait(self.poll)
        finally:
            self.shutdown()

    def tick(self) -> None:
        was_holding = self.lease.holding
        try:
            held = self.lease.acquire_or_renew()
        except SQLAlchemyError as error:
            held = self.lease.still_valid()
            log.warning("cannot reach the database to %s the lease (%s); %s",
                        "renew" if was_holding else "take",
                        str(error).splitlines()[0],
                        "still within it" if held else "not running jobs")
            if not held:
                self.lease.holding = False
        if held and self.scheduler is None:
            log.info("took the lease as %s (valid %gs, renewed every %gs); starting the jobs",
                     self.holder, self.lease_seconds, self.poll)
            self.start_jobs()
        elif not held and self.scheduler is not None:
            log.warning("lost the lease; stopping the jobs")
            self.stop_jobs(wait=False)
        if not held:
            self._log_waiting()

    def _log_waiting(self) -> None:
        try:
            state = current_lease(db.engine)
        except SQLAlchemyError:
            return
        holder = state.holder if state else None
        previous, at = self._last_waiting
        now = wall_now().timestamp()
        if holder != previous or now - at >= WAITING_LOG_EVERY:
            if state is None:
                log.info("waiting for the lease (nobody holds it yet)")
            else:
                log.info("waiting for the lease held by %s (expires %s)", state.holder,
                         _iso(state.expires_at))
            self._last_waiting = (holder, now)

    # --- APScheduler ------------------------------------------------------------------------

    def start_jobs(self) -> None:
        runner.bind(self.app, self.lease, self.holder)
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=db.engine,
                                                     tablename=JOBSTORE_TABLE)},
            executors={"default": ThreadPoolExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=self.tz)
        scheduler.add_listener(self._on_event,
                               EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        scheduler.start(paused=True)
        wanted = set()
        for job in self.jobs:
            wanted.add(job.id)
            trigger = registry.make_trigger(registry.schedule_for(job, self.config), self.tz)
            options = {}
            existing = scheduler.get_job(job.id)
            if (existing is not None and existing.next_run_time is not None
                    and repr(existing.trigger) == repr(trigger)):
                # same schedule: keep its next run time, so that a run missed while nobody
                # held the lease is caught up (once, within the misfire grace time)
                options["next_run_time"] = existing.next_run_time
            scheduler.add_job(runner.run_scheduled, trigger=trigger, args=[job.id], id=job.id,
                              name=job.id, replace_existing=True, coalesce=True,
                              misfire_grace_time=job.misfire_grace_time, max_instances=1,
                              **options)
        for stale in scheduler.get_jobs():
            if stale.id not in wanted:
                scheduler.remove_job(stale.id)
        for run in runner.interrupted_runs(self.holder, self.config):
            # a run of this period that the previous holder died in: run it again, now
            scheduler.add_job(runner.resume_run, trigger="date", args=[run.run_id, run.holder],
                              id=f"resume-run-{run.run_id}", name=f"{run.job_id} (resumed)",
                              replace_existing=True, misfire_grace_time=None)
        scheduler.resume()
        self.scheduler = scheduler
        for job in scheduler.get_jobs():
            if job.id not in wanted:
                log.info("scheduled %s, now", job.name)
                continue
            log.info("scheduled %s (%s), next run %s", job.id,
                     registry.describe(registry.schedule_for(registry.get_job(job.id),
                                                             self.config)),
                     _iso(job.next_run_time))

    def stop_jobs(self, wait: bool) -> None:
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is None:
            return
        try:
            # Detach the job store first: APScheduler 3's background thread processes due
            # jobs once more after shutdown() (its loop checks the state only afterwards) and
            # would advance their stored next run time without running them, losing a run
            # the next lease holder should catch up. It also keeps the store from disposing
            # the app's engine.
            scheduler.pause()
            scheduler.remove_jobstore("default", shutdown=False)
            scheduler.shutdown(wait=wait)
        except Exception:  # never let a shutdown hide the reason we stop
            log.exception("stopping APScheduler failed")

    def _on_event(self, event) -> None:
        if event.code == EVENT_JOB_ERROR:
            log.error("%s: the run at %s failed outside the job: %r", event.job_id,
                      _iso(event.scheduled_run_time), event.exception)
        elif event.code == EVENT_JOB_MISSED:
            log.warning("%s: the run due at %s was missed (later than its grace time)",
                        event.job_id, _iso(event.scheduled_run_time))
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning("%s: still running from before; this run is skipped", event.job_id)

    # --- stopping ---------------------------------------------------------------------------

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def stop(signum, _frame):
            log.info("received %s; stopping", signal.Signals(signum).name)
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def shutdown(self) -> None:
        self.stop_jobs(wait=True)
        if self.lease.holding:
            try:
                self.lease.release()
                log.info("released the lease")
            except SQLAlchemyError as error:
                log.warning("could not release the lease (%s); it expires by itself", error)
        log.info("scheduler %s stopped", self.holder)


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"
