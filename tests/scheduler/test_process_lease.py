"""The scheduler process's lease loop, in-process: it starts the jobs when it takes the
lease, stops them when it loses it, and keeps APScheduler's jobs in the database."""

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select, update

from core.extensions import db
from scheduler import runner
from scheduler.models import JOBSTORE_TABLE, JobRun, SchedulerLease, apscheduler_jobs
from scheduler.process import SchedulerProcess, SchedulerSetupError, scheduled_jobs
from scheduler.registry import get_job, make_trigger, schedule_for, scheduler_timezone


@pytest.fixture
def app_overrides():
    return {"SCHEDULER_JOBS": ["retention-purge", "holiday-data-check"],
            "SCHEDULER_LEASE_SECONDS": 30}


def test_takes_the_lease_starts_jobs_and_stops_them_when_the_lease_is_lost(app, caplog):
    caplog.set_level(logging.INFO, logger="scheduler")
    process = SchedulerProcess(app)
    try:
        process.tick()
        assert process.scheduler is not None and process.lease.holding
        assert "took the lease as " + process.holder in caplog.text
        stored = dict(db.session.execute(select(apscheduler_jobs.c.id,
                                                apscheduler_jobs.c.next_run_time)).all())
        assert set(stored) == {"retention-purge", "holiday-data-check"}
        job = process.scheduler.get_job("retention-purge")
        assert job.coalesce and job.max_instances == 1 and job.misfire_grace_time == 23 * 3600

        process.tick()  # renews
        assert process.scheduler is not None

        # another host took the lease (this one stalled past its expiry, say)
        with db.engine.begin() as conn:
            conn.execute(update(SchedulerLease.__table__).values(
                holder="other-host:1:abc",
                expires_at=datetime.now(UTC) + timedelta(seconds=30)))
        process.tick()
        assert process.scheduler is None and not process.lease.holding
        assert "lost the lease; stopping the jobs" in caplog.text
        assert "waiting for the lease held by other-host:1:abc" in caplog.text
    finally:
        process.shutdown()
    db.session.rollback()
    lease = db.session.get(SchedulerLease, "scheduler")
    assert lease.holder == "other-host:1:abc"  # shutting down never releases another's lease


def test_a_run_missed_while_nobody_held_the_lease_is_caught_up_once(app):
    # the last scheduler stopped three days ago: the job store still holds the run it was
    # waiting for; with an unchanged schedule the next holder keeps it and catches up, once
    # (coalesced: three missed days make one run, within the misfire grace time). The job
    # runs daily an hour before now: its latest missed run is an hour old, well inside the
    # 23-hour grace (at its own 03:30 it would be up to 24 hours old, outside the grace in
    # the hour before 03:30); it alone is scheduled, so nothing else runs meanwhile.
    tz = scheduler_timezone(app.config)
    app.config["SCHEDULER_JOBS"] = ["retention-purge"]
    app.config["SCHEDULER_TRIGGERS"] = {
        "retention-purge": {"daily": f"{datetime.now(tz) - timedelta(hours=1):%H:%M}"}}
    job = get_job("retention-purge")
    store = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=db.engine, tablename=JOBSTORE_TABLE)},
        timezone=tz)
    store.start(paused=True)
    store.add_job(runner.run_scheduled, trigger=make_trigger(schedule_for(job, app.config), tz),
                  args=[job.id],
                  id=job.id, name=job.id, coalesce=True, max_instances=1,
                  misfire_grace_time=job.misfire_grace_time,
                  next_run_time=datetime.now(UTC) - timedelta(days=3))
    store.remove_jobstore("default", shutdown=False)  # see SchedulerProcess.stop_jobs
    store.shutdown()
    second = SchedulerProcess(app)
    try:
        second.tick()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            db.session.rollback()
            done = db.session.scalars(select(JobRun).where(
                JobRun.job_id == "retention-purge", JobRun.status != "running")).all()
            if done:
                break
            time.sleep(0.2)
        assert len(done) == 1 and done[0].status == "ok" and not done[0].manual
        assert "personal data removed from 0 appointments" in done[0].summary
        assert second.scheduler.get_job("retention-purge").next_run_time > datetime.now(UTC)
    finally:
        second.shutdown()
    db.session.rollback()
    assert len(db.session.scalars(select(JobRun)).all()) == 1


def test_bad_settings_stop_the_scheduler_with_a_clear_message(app):
    app.config["SCHEDULER_JOBS"] = ["daily-reset", "make-coffee"]
    with pytest.raises(SchedulerSetupError, match="unknown jobs: make-coffee"):
        scheduled_jobs(app.config)
    app.config["SCHEDULER_JOBS"] = None
    app.config["SCHEDULER_TRIGGERS"] = {"daily-reset": {"every": -1}}
    with pytest.raises(SchedulerSetupError, match="daily-reset"):
        scheduled_jobs(app.config)


def test_scheduler_command_refuses_a_database_without_its_tables(app, runner):
    SchedulerLease.__table__.drop(db.engine)
    try:
        result = runner.invoke(args=["scheduler", "run"])
        assert result.exit_code == 1
        assert "no table scheduler_leases: run `flask db upgrade` first" in result.output
    finally:
        SchedulerLease.__table__.create(db.engine)
