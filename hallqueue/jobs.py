"""The hall's timed job: `daily-reset` (just after midnight).

Ticket numbers restart every day because the counters are per (office, date, service): the
job makes today's counter rows exist (ON CONFLICT DO NOTHING, so numbering code that creates
them itself is unaffected), closes tickets of past days still `waiting` or `called` as
`no_show`, and reopens windows left paused from an earlier day (only before the day's first
ticket, so that a late run never undoes a registrar's pause of today). Nothing is deleted: history stays. Every step is a
conditional statement, so a second run (at once or later) changes nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from booking.divorce import with_lapsed
from core.clock import local_today
from core.database import write_transaction
from core.extensions import db
from core.summaries import DAILY_RESET, RunSummary
from hallqueue.models import Ticket, TicketCounter
from offices.models import Office, Window
from offices.queries import offices_for

OPEN_STATUSES = ("waiting", "called")


@dataclass
class ResetReport:
    offices: int = 0
    counters_created: int = 0
    tickets_closed: int = 0
    windows_reopened: int = 0

    def summary(self) -> RunSummary:
        return DAILY_RESET(offices=self.offices, counters=self.counters_created,
                           closed=self.tickets_closed, reopened=self.windows_reopened)


def _insert_counter(office_id: int, day, service_code: str) -> bool:
    """True when the row was inserted (RETURNING gives a row only then)."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    table = TicketCounter.__table__
    return db.session.execute(
        dialect.insert(table)
        .values(office_id=office_id, date=day, service_code=service_code, last_number=0)
        .on_conflict_do_nothing()
        .returning(table.c.office_id)).first() is not None


def _hall_started(office_id: int, day) -> bool:
    return db.session.scalar(
        select(Ticket.id).where(Ticket.office_id == office_id, Ticket.date == day).limit(1)
    ) is not None


def reset_office(office: Office, report: ResetReport) -> None:
    today = local_today(office.timezone)
    with write_transaction():
        for code in office.service_codes:
            report.counters_created += int(_insert_counter(office.id, today, code))
        report.tickets_closed += db.session.execute(
            update(Ticket)
            .where(Ticket.office_id == office.id, Ticket.date < today,
                   Ticket.status.in_(OPEN_STATUSES))
            .values(status="no_show")
            .execution_options(synchronize_session=False)).rowcount
        if _hall_started(office.id, today):
            return  # a late run (after a takeover, say) leaves today's pauses alone
        report.windows_reopened += db.session.execute(
            update(Window)
            .where(Window.office_id == office.id, Window.paused.is_(True))
            .values(paused=False)
            .execution_options(synchronize_session=False)).rowcount


def daily_reset() -> ResetReport:
    report = ResetReport()
    for office in offices_for():
        reset_office(office, report)
        report.offices += 1
    return report


def daily_reset_job() -> RunSummary:
    """The `daily-reset` job; it also lapses the divorce cases whose step-2 window passed
    (booking.divorce), if no-show-sweep has not yet today."""
    return with_lapsed(daily_reset().summary())
