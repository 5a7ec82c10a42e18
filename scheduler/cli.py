"""`flask scheduler run`, `flask scheduler status`, `flask jobs list`, `flask jobs run JOB`
(docs/api.md §2)."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from core.extensions import db
from scheduler import registry, runner
from scheduler.lease import current_lease, wall_now
from scheduler.models import JobRun, apscheduler_jobs

scheduler_cli = AppGroup("scheduler", help="The one process that runs the timed jobs.")
jobs_cli = AppGroup("jobs", help="List the scheduled jobs, or run one now.")


@scheduler_cli.command("run")
def run_command() -> None:
    """Run the scheduler: wait for the lease, then run the jobs while holding it.

    Start one on each host you like: only the lease holder runs jobs; another takes over
    within SCHEDULER_LEASE_SECONDS when it stops. Stop with Ctrl-C or SIGTERM."""
    from scheduler.process import SchedulerProcess, SchedulerSetupError

    try:
        process = SchedulerProcess(current_app._get_current_object())
        process.run()
    except SchedulerSetupError as error:
        raise click.ClickException(str(error)) from error


@scheduler_cli.command("status")
def status_command() -> None:
    """Who holds the scheduler lease, and until when."""
    click.echo(_lease_line())


def _lease_line() -> str:
    try:
        state = current_lease(db.engine)
    except SQLAlchemyError as error:
        return f"Scheduler lease: unknown ({str(error).splitlines()[0]})"
    if state is None:
        return "Scheduler lease: never taken (no `flask scheduler run` has started yet)."
    if state.expired():
        return (f"Scheduler lease: free (last held by {state.holder}, expired "
                f"{_local(state.expires_at)}): no scheduler is running.")
    return (f"Scheduler lease: held by {state.holder} since {_local(state.acquired_at)}, "
            f"renewed {_local(state.heartbeat_at)}, expires {_local(state.expires_at)}.")


def _local(value: datetime | None) -> str:
    if value is None:
        return "-"
    tz = registry.scheduler_timezone(current_app.config)
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def _next_runs() -> dict[str, datetime | None]:
    try:
        rows = db.session.execute(select(apscheduler_jobs.c.id,
                                         apscheduler_jobs.c.next_run_time)).all()
    except SQLAlchemyError:
        db.session.rollback()
        return {}
    return {row.id: (datetime.fromtimestamp(row.next_run_time, UTC)
                     if row.next_run_time is not None else None) for row in rows}


def _last_runs() -> dict[str, JobRun]:
    latest = (select(JobRun.job_id, func.max(JobRun.id).label("id"))
              .group_by(JobRun.job_id).subquery())
    runs = db.session.scalars(select(JobRun).join(latest, JobRun.id == latest.c.id)).all()
    return {run.job_id: run for run in runs}


def job_rows() -> list[dict]:
    """Each registered job with its schedule, next run, last run and whether its function
    can be imported: what `flask jobs list` and the staff jobs page show. "schedule" and
    "next_note" are the command line's English; the page words its own from "spec",
    "schedule_error" and "next_state" (None, "overdue" or "unscheduled")."""
    config = current_app.config
    tz = registry.scheduler_timezone(config)
    stored = _next_runs()
    last = _last_runs()
    rows = []
    now = wall_now()
    for job in registry.JOBS:
        schedule_error = None
        try:
            schedule = registry.schedule_for(job, config)
            described = registry.describe(schedule)
        except registry.ScheduleError as error:
            schedule, described, schedule_error = None, f"invalid: {error}", str(error)
        next_state = None
        if job.id in stored:
            next_run = stored[job.id]
            if next_run is not None and next_run < now:
                next_state = "overdue"
        elif schedule is not None:
            next_run = registry.make_trigger(schedule, tz).get_next_fire_time(None, now)
            next_state = "unscheduled"
        else:
            next_run = None
        rows.append({"id": job.id, "schedule": described, "spec": schedule,
                     "schedule_error": schedule_error, "description": job.description,
                     "target": job.target, "next_run": next_run, "next_state": next_state,
                     "next_note": NEXT_NOTES.get(next_state, ""),
                     "last_run": last.get(job.id), "missing": registry.availability(job)})
    return rows


NEXT_NOTES = {"overdue": "overdue: is a scheduler running?",
              "unscheduled": "not scheduled yet: start `flask scheduler run`"}


@jobs_cli.command("list")
def list_command() -> None:
    """List the jobs: id, schedule, next run, last run and its result."""
    rows = job_rows()
    click.echo(_lease_line())
    click.echo("")
    header = f"{'JOB':<20} {'SCHEDULE':<16} {'NEXT RUN':<20} {'LAST RUN':<20} RESULT"
    click.echo(header)
    for row in rows:
        run = row["last_run"]
        if run is None:
            last, result = "never", ""
        else:
            last = _local(run.started_at)
            result = f"{run.status}{' (manual)' if run.manual else ''}: {run.summary}"
            if len(result) > 120:
                result = result[:117] + "..."
        next_run = _local(row["next_run"]) if row["next_run"] else "-"
        click.echo(f"{row['id']:<20} {row['schedule']:<16} {next_run:<20} {last:<20} {result}")
        if row["next_note"]:
            click.echo(f"{'':<20} next run {row['next_note']}")
        if row["missing"]:
            click.echo(f"{'':<20} MISSING FUNCTION: {row['missing']}")


@jobs_cli.command("run")
@click.argument("job_id", metavar="JOB")
def run_job_command(job_id: str) -> None:
    """Run one job once, now, in the foreground, and print what it did."""
    try:
        job = registry.get_job(job_id)
    except KeyError:
        raise click.ClickException(
            f"unknown job {job_id!r}; the jobs are: {', '.join(registry.JOB_IDS)}") from None
    try:
        registry.resolve(job)
    except registry.JobUnavailable as error:
        raise click.ClickException(f"cannot run {job_id}: {error}") from error
    holder = f"cli:{socket.gethostname()}:{os.getpid()}"
    result = runner.execute(job_id, manual=True, holder=holder)
    if not result.ok:
        raise click.ClickException(f"{job_id} {result.summary}")
    click.echo(f"{job_id}: {result.summary}")
