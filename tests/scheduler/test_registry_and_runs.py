"""The registry's schedules and run keys, the lease, and once-per-period runs."""

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from core.extensions import db
from scheduler import registry, runner
from scheduler.lease import Lease, current_lease
from scheduler.models import JobRun, SchedulerLease

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_run_keys_name_the_period_a_run_belongs_to():
    at = datetime(2026, 6, 15, 9, 0, 7, 300000, tzinfo=UTC)
    assert registry.run_key({"every": 5}, SHANGHAI, at) == "2026-06-15T09:00:05Z"
    assert registry.run_key({"every": 60}, SHANGHAI, at) == "2026-06-15T09:00:00Z"
    # daily at 00:05 Shanghai = 16:05 UTC the day before
    assert registry.run_key({"daily": "00:05"}, SHANGHAI, at) == "2026-06-14T16:05:00Z"
    before = datetime(2026, 6, 14, 16, 4, tzinfo=UTC)  # 00:04 local: yesterday's run
    assert registry.run_key({"daily": "00:05"}, SHANGHAI, before) == "2026-06-13T16:05:00Z"


def test_interval_fire_times_match_the_run_keys():
    trigger = registry.make_trigger({"every": 5}, SHANGHAI)
    now = datetime(2026, 6, 15, 9, 0, 7, tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, now)
    assert fire == datetime(2026, 6, 15, 9, 0, 10, tzinfo=UTC)
    assert registry.run_key({"every": 5}, SHANGHAI, fire) == "2026-06-15T09:00:10Z"


@pytest.mark.parametrize("schedule", [{"every": 0}, {"every": "5"}, {"every": 1.5},
                                      {"daily": "24:00"}, {"daily": "9:00"}, {"weekly": 1},
                                      {}, "every 5"])
def test_bad_schedules_are_refused_clearly(schedule):
    with pytest.raises(registry.ScheduleError, match="daily-reset"):
        registry.schedule_for(registry.get_job("daily-reset"),
                              {"SCHEDULER_TRIGGERS": {"daily-reset": schedule}})


def test_unknown_job_in_trigger_settings_is_refused():
    with pytest.raises(registry.ScheduleError, match="no-such-job"):
        registry.schedule_for(registry.get_job("daily-reset"),
                              {"SCHEDULER_TRIGGERS": {"no-such-job": {"every": 1}}})


def test_registry_has_the_contract_job_ids():
    assert set(registry.JOB_IDS) >= {"sms-dispatch", "sms-reminders", "extend-hours",
                                     "no-show-sweep", "daily-reset", "holiday-data-check",
                                     "retention-purge"}


def test_missing_function_is_reported_not_raised(monkeypatch):
    spec = registry.JobSpec("sms-dispatch", "notify.no_such_module:dispatch_outbox",
                            {"every": 5}, 30, "x")
    assert "does not exist yet" in registry.availability(spec)
    spec = registry.JobSpec("sms-dispatch", "notify.outbox:no_such_function", {"every": 5},
                            30, "x")
    assert "has no function no_such_function" in registry.availability(spec)


# --- the lease ------------------------------------------------------------------------------

def test_only_one_process_holds_the_lease_and_another_takes_over_when_it_expires(app):
    first = Lease(db.engine, "host-a:1", 30)
    second = Lease(db.engine, "host-b:2", 30)
    assert first.take() is True
    assert second.take() is False
    assert first.renew() is True and first.confirm()
    assert not second.confirm()
    assert current_lease(db.engine).holder == "host-a:1"

    # host a stops renewing; once the lease has expired host b takes it
    with db.engine.begin() as conn:
        conn.execute(update(SchedulerLease.__table__).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert not first.confirm()
    assert second.take() is True
    assert first.renew() is False  # a holder that lost the lease learns it at its next renewal
    assert not first.holding and second.confirm()


def test_release_lets_the_other_take_over_at_once(app):
    first = Lease(db.engine, "host-a:1", 30)
    second = Lease(db.engine, "host-b:2", 30)
    assert first.take()
    first.release()
    assert second.take()


def test_racing_takers_get_one_lease(app):
    leases = [Lease(db.engine, f"host-{n}", 30) for n in range(4)]
    results = []
    barrier = threading.Barrier(len(leases))

    def take(lease):
        with app.app_context():
            barrier.wait()
            results.append(lease.take())

    threads = [threading.Thread(target=take, args=(lease,)) for lease in leases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]


# --- runs -----------------------------------------------------------------------------------

def test_a_period_runs_once_however_many_try_it(app, offices, monkeypatch):
    from scheduler.lease import wall_now

    pinned = wall_now()  # one period throughout, even if today's run time falls inside
    monkeypatch.setattr(runner, "wall_now", lambda: pinned)
    results = []
    barrier = threading.Barrier(3)

    def run():
        with app.app_context():
            barrier.wait()
            results.append(runner.execute("daily-reset", holder="thread"))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status for r in results) == ["ok", "skipped", "skipped"]
    db.session.rollback()  # end this thread's read snapshot
    runs = db.session.scalars(select(JobRun)).all()
    assert len(runs) == 1 and runs[0].status == "ok" and "offices" in runs[0].summary
    # and again in the same period: skipped
    assert runner.execute("daily-reset", holder="later").status == "skipped"


def test_a_process_without_the_lease_runs_nothing(app):
    holder = Lease(db.engine, "host-a", 30)
    other = Lease(db.engine, "host-b", 30)
    assert holder.take()
    result = runner.execute("daily-reset", lease=other, holder="host-b")
    assert result.status == "skipped"
    assert db.session.scalars(select(JobRun)).all() == []


def test_a_failing_job_is_recorded(app, monkeypatch):
    import hallqueue.jobs

    def broken():
        raise RuntimeError("counter table locked")

    monkeypatch.setattr(hallqueue.jobs, "daily_reset_job", broken)
    result = runner.execute("daily-reset", manual=True, holder="cli")
    assert result.status == "error" and "counter table locked" in result.summary
    run = db.session.scalars(select(JobRun)).one()
    assert run.status == "error" and run.manual and run.finished_at is not None


def test_runs_a_dead_scheduler_left_running_are_taken_over_or_marked(app, offices,
                                                                      monkeypatch):
    from scheduler.lease import wall_now

    config = app.config
    now = wall_now()
    monkeypatch.setattr(runner, "wall_now", lambda: now)  # "this period" is the test's
    daily = registry.get_job("daily-reset")
    this_period = registry.run_key(registry.schedule_for(daily, config),
                                   registry.scheduler_timezone(config), now)
    # the dead scheduler was in the middle of today's daily-reset and of an old dispatch;
    # a manual run from the command line is nobody's lease business
    cut_short = JobRun(job_id="daily-reset", run_key=this_period, holder="host-a:1:dead",
                       status="running", manual=False, started_at=now)
    old = JobRun(job_id="sms-dispatch", run_key="2026-01-05T02:00:00Z", holder="host-a:1:dead",
                 status="running", manual=False, started_at=now - timedelta(days=3))
    by_hand = JobRun(job_id="daily-reset", run_key="manual:x", holder="manual",
                     status="running", manual=True, started_at=now)
    db.session.add_all([cut_short, old, by_hand])
    db.session.commit()
    ids = cut_short.id, old.id, by_hand.id
    lease = Lease(db.engine, "host-b:2:alive", 30)
    assert lease.take()
    monkeypatch.setitem(runner._context, "app", app)
    monkeypatch.setitem(runner._context, "lease", lease)
    monkeypatch.setitem(runner._context, "holder", "host-b:2:alive")

    resumable = runner.interrupted_runs("host-b:2:alive", config)

    assert [(r.run_id, r.job_id, r.holder) for r in resumable] == [
        (ids[0], "daily-reset", "host-a:1:dead")]
    db.session.rollback()  # see what the runner committed on its own connections
    assert db.session.get(JobRun, ids[1]).status == "interrupted"
    assert db.session.get(JobRun, ids[1]).finished_at is not None
    assert db.session.get(JobRun, ids[2]).status == "running"

    summary = runner.resume_run(ids[0], "host-a:1:dead")
    assert "offices" in summary
    db.session.rollback()
    resumed = db.session.get(JobRun, ids[0])
    assert (resumed.status, resumed.holder) == ("ok", "host-b:2:alive")
    assert resumed.finished_at is not None
    # a second takeover of the same run (another process, a repeated start) does nothing
    assert runner.resume_run(ids[0], "host-a:1:dead") == "already taken over"
    assert db.session.scalar(select(db.func.count()).select_from(JobRun)) == 3
