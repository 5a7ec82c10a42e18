"""`flask jobs list` and `flask jobs run JOB` (docs/api.md §2)."""

import pytest
from sqlalchemy import select

from core.extensions import db
from scheduler import registry
from scheduler.models import JobRun

CONTRACT_JOBS = ("sms-dispatch", "sms-reminders", "extend-hours", "no-show-sweep",
                 "daily-reset", "holiday-data-check", "retention-purge")


def test_jobs_list_shows_every_job_with_schedule_and_runs(runner, offices):
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code == 0, result.output
    for job_id in CONTRACT_JOBS:
        assert job_id in result.output
    assert "daily at 00:05" in result.output and "every 1 min" in result.output
    assert "no `flask scheduler run` has started yet" in result.output
    assert "not scheduled yet" in result.output

    runner.invoke(args=["jobs", "run", "daily-reset"])
    listed = runner.invoke(args=["jobs", "list"]).output
    line = next(line for line in listed.splitlines() if line.startswith("daily-reset"))
    assert "ok (manual): 6 offices" in line


@pytest.mark.parametrize("job_id", CONTRACT_JOBS)
def test_jobs_run_runs_each_job_now_and_says_what_it_did(runner, offices, set_now, job_id):
    set_now("2026-06-15T17:00:00+08:00")
    missing = registry.availability(registry.get_job(job_id))
    result = runner.invoke(args=["jobs", "run", job_id])
    if missing:  # another engineer's function has not landed: a clear message, not a crash
        assert result.exit_code == 1
        assert f"cannot run {job_id}" in result.output and "(has that feature landed?)" in (
            result.output)
        return
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{job_id}: ") and len(result.output.strip()) > len(job_id) + 2
    run = db.session.scalars(select(JobRun).where(JobRun.job_id == job_id)).one()
    assert run.manual and run.status == "ok" and run.summary in result.output


def test_jobs_run_twice_in_a_row_does_it_once(runner, offices, set_now):
    from tests.scheduler.helpers import make_ticket

    set_now("2026-06-15T17:00:00+08:00")
    from datetime import date
    make_ticket(offices["chuanshan"], date(2026, 6, 15), "waiting", phone="+8613800000001")
    first = runner.invoke(args=["jobs", "run", "extend-hours"])
    second = runner.invoke(args=["jobs", "run", "extend-hours"])
    assert "chuanshan: extended 17:00 → 17:30" in first.output
    assert second.output == "extend-hours: no office needs an extension\n"


def test_unknown_job_is_a_clear_error(runner):
    result = runner.invoke(args=["jobs", "run", "make-coffee"])
    assert result.exit_code == 1
    assert "unknown job 'make-coffee'" in result.output and "extend-hours" in result.output


def test_missing_function_is_reported_by_run_and_list(runner, monkeypatch):
    jobs = tuple(registry.JobSpec(j.id, "notify.not_landed_yet:dispatch_outbox", j.schedule,
                                  j.misfire_grace_time, j.description)
                 if j.id == "sms-dispatch" else j for j in registry.JOBS)
    monkeypatch.setattr(registry, "JOBS", jobs)
    result = runner.invoke(args=["jobs", "run", "sms-dispatch"])
    assert result.exit_code == 1
    assert "cannot run sms-dispatch" in result.output
    assert "module notify.not_landed_yet does not exist yet" in result.output
    listed = runner.invoke(args=["jobs", "list"])
    assert listed.exit_code == 0
    assert "MISSING FUNCTION: sms-dispatch: module notify.not_landed_yet" in listed.output
