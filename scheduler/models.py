"""The scheduler's own tables: the lease that lets one `flask scheduler run` work while a
second one waits, the record of job runs (one per job and period), and APScheduler's job store table (declared here so that the
migration creates it and `flask db check` knows it)."""

from datetime import datetime

from sqlalchemy import (
    Column,
    Float,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.types import UTCDateTime

JOBSTORE_TABLE = "apscheduler_jobs"

# Exactly the columns of apscheduler.jobstores.sqlalchemy.SQLAlchemyJobStore (3.x): the
# store finds the table present and leaves it alone (it creates it with checkfirst).
apscheduler_jobs = Table(
    JOBSTORE_TABLE,
    db.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class SchedulerLease(db.Model):
    """Who may run the jobs. Taken and renewed only by a conditional UPDATE (or an INSERT
    when the row does not exist yet) whose row count says whether it worked."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JobRun(db.Model):
    """One run of a job. A scheduled run's key is the time it was scheduled for, so the
    unique constraint lets a period's run happen once whoever tries it; a run from
    `flask jobs run` has a key of its own."""

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job_id", "run_key"),
        Index("ix_job_runs_job_started", "job_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64))
    run_key: Mapped[str] = mapped_column(String(96))
    manual: Mapped[bool] = mapped_column(default=False)
    holder: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="running")
    summary: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
