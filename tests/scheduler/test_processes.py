"""Two real `flask scheduler run` processes on one database: one runs the jobs, the other
waits; when the active one is killed (SIGKILL, no goodbye) the other takes over within the
lease time, and no run happens twice."""

import os
import signal
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.extensions import db
from scheduler.models import JobRun, SchedulerLease
from tests.conftest import DEFAULT_OFFICES, make_app
from tests.support import databases
from tests.support.processes import SchedulerProcess, wait_for

# long enough that a holder stalled for a second or two on a loaded machine keeps its lease;
# short enough that the takeover is quick
LEASE_SECONDS = 6
POLL_SECONDS = 2  # scheduler.process.poll_interval(6)


def scheduler_process(name: str, url: str, tmp_path: Path) -> SchedulerProcess:
    return SchedulerProcess(name, url, tmp_path, env={
        "XIYUE_SCHEDULER_LEASE_SECONDS": str(LEASE_SECONDS),
        # a test-only fast schedule for one cheap job; the others keep theirs
        "XIYUE_SCHEDULER_TRIGGERS": '{"daily-reset": {"every": 1}}'})


@pytest.fixture
def scheduler_db(db_backend, tmp_path):
    """A fresh database with the schema and the default offices."""
    if db_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'scheduler.sqlite3'}"
    else:
        databases.require_postgres()
        url = databases.create_pg_database("xiyue_sched")
    app = make_app(url)
    with app.app_context():
        from offices.loader import load_offices_file

        db.create_all()
        load_offices_file(DEFAULT_OFFICES)
        db.session.remove()
    try:
        yield app, url
    finally:
        with app.app_context():
            db.engine.dispose()
        if db_backend != "sqlite":
            databases.drop_pg_database(url)


def lease_holder(app) -> str | None:
    with app.app_context():
        lease = db.session.get(SchedulerLease, "scheduler")
        holder = lease.holder if lease else None
        db.session.remove()
        return holder


def runs(app) -> list[JobRun]:
    with app.app_context():
        rows = db.session.scalars(select(JobRun).order_by(JobRun.id)).all()
        db.session.expunge_all()
        db.session.remove()
        return rows


def test_one_scheduler_runs_the_other_waits_and_takes_over(scheduler_db, tmp_path):
    app, url = scheduler_db
    first = scheduler_process("a", url, tmp_path)
    second = None
    try:
        wait_for(lambda: first.holder() and lease_holder(app) == first.holder(), 60,
                 "the first scheduler to take the lease", [first])
        second = scheduler_process("b", url, tmp_path)
        wait_for(lambda: "waiting for the lease held by " + first.holder() in second.log(), 60,
                 "the second scheduler to wait", [first, second])
        # both run side by side for a few of the fast job's periods: only the first runs it
        def runs_by_first() -> int:
            return sum(r.holder == first.holder() and r.job_id == "daily-reset"
                       for r in runs(app))

        before = runs_by_first()
        wait_for(lambda: runs_by_first() >= before + 4, 30,
                 "the first scheduler to run the fast job while the second waits",
                 [first, second], interval=0.2)

        os.kill(first.process.pid, signal.SIGKILL)
        killed_at = time.time()
        first.process.wait(timeout=10)
        wait_for(lambda: lease_holder(app) == second.holder(), 30,
                 "the second scheduler to take over", [first, second])
        took_over = time.time() - killed_at
        wait_for(lambda: sum(r.holder == second.holder() and r.job_id == "daily-reset"
                             for r in runs(app)) >= 3, 30,
                 "the second scheduler to run jobs", [first, second])

        # a clean stop (SIGTERM) releases the lease for the next one
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(timeout=30) == 0
    finally:
        first.kill()
        if second is not None:
            second.kill()

    log_a, log_b = first.log(), second.log()
    assert "took the lease as " + first.holder() in log_a
    assert "took the lease as " + second.holder() in log_b
    assert "released the lease" in log_b
    # within the lease time, plus a poll and the time to start APScheduler, with room for a
    # stall of this loaded machine (the promise is "within a minute"; no overlap is checked
    # below)
    assert took_over <= LEASE_SECONDS + 2 * POLL_SECONDS + 5, (took_over, log_b)

    all_runs = runs(app)
    scheduled = [r for r in all_runs if not r.manual]
    holders = {r.holder for r in scheduled}
    assert holders == {first.holder(), second.holder()}, holders
    # every run happened once: one row per job and period, and the database guard was
    # never needed because only the lease holder ever tried
    keys = [(r.job_id, r.run_key) for r in scheduled]
    assert len(keys) == len(set(keys))
    assert "already claimed by another process" not in log_a + log_b
    # the standby ran nothing while the first one was alive
    first_b_run = min(r.started_at for r in scheduled if r.holder == second.holder())
    last_a_run = max(r.started_at for r in scheduled if r.holder == first.holder())
    assert last_a_run < first_b_run
    # the fast job really ran once per period (every second) while the first one held it
    a_keys = sorted(r.run_key for r in scheduled
                    if r.holder == first.holder() and r.job_id == "daily-reset")
    assert len(a_keys) >= 4
    span = (time.mktime(time.strptime(a_keys[-1], "%Y-%m-%dT%H:%M:%SZ"))
            - time.mktime(time.strptime(a_keys[0], "%Y-%m-%dT%H:%M:%SZ")))
    assert len(a_keys) >= 0.6 * (span + 1), a_keys
    # the kill may land in the middle of a run: the second marks it interrupted when it
    # takes over (its one-second period is over by then); nothing stays "running"
    statuses = Counter(r.status for r in scheduled if r.job_id == "daily-reset")
    assert set(statuses) <= {"ok", "interrupted"} and statuses["interrupted"] <= 1, statuses
    assert all(r.holder == first.holder() for r in scheduled if r.status == "interrupted")
    with app.app_context():
        lease = db.session.get(SchedulerLease, "scheduler")
        assert lease.expires_at <= lease.heartbeat_at  # released, not just left to expire
        db.session.remove()


def test_a_run_cut_short_by_a_dead_scheduler_is_run_again_by_the_next(scheduler_db, tmp_path):
    """A scheduler killed in the middle of today's daily run leaves it 'running'; the next
    lease holder takes it over and runs it again the same day (jobs are idempotent)."""
    from scheduler import registry
    from scheduler.lease import wall_now

    app, url = scheduler_db
    with app.app_context():
        job = registry.get_job("daily-reset")
        schedule = registry.schedule_for(job, app.config)
        zone = registry.scheduler_timezone(app.config)
        if registry.run_key(schedule, zone, wall_now() + timedelta(seconds=90)) != \
                registry.run_key(schedule, zone, wall_now()):
            time.sleep(91)  # today's run time falls inside the test: begin after it
        key = registry.run_key(schedule, zone, wall_now())
        db.session.add(JobRun(job_id="daily-reset", run_key=key, holder="gone:1:dead",
                              status="running", manual=False, started_at=wall_now()))
        db.session.commit()
        db.session.remove()
    process = SchedulerProcess("next", url, tmp_path,
                               env={"XIYUE_SCHEDULER_LEASE_SECONDS": str(LEASE_SECONDS)})
    try:
        wait_for(lambda: any(r.run_key == key and r.status == "ok" for r in runs(app)), 60,
                 "the cut-short run to be run again", [process])
    finally:
        process.kill()
    [run] = [r for r in runs(app) if r.job_id == "daily-reset" and r.run_key == key]
    assert run.holder == process.holder()
    assert "offices" in run.summary  # daily-reset's own summary: it really ran
    assert "cut short by the scheduler gone:1:dead; running it again" in process.log()
