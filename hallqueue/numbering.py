"""Daily ticket numbers: the service's prefix letter and a three-digit sequence (J001).

The counter row per (office, day, service) is created with INSERT … ON CONFLICT DO NOTHING
and advanced with one `UPDATE … SET last_number = last_number + 1 … RETURNING`: the row lock
(PostgreSQL) or the write lock (SQLite, BEGIN IMMEDIATE) serialises concurrent issuers, and
because the increment lives in the caller's transaction, a failed issue rolls it back, so
numbers have neither gaps nor duplicates. The unique constraint on tickets
(office, date, number) is the last guard.
"""

from datetime import date

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from core.extensions import db
from hallqueue.models import TicketCounter


def format_number(prefix: str, sequence: int) -> str:
    return f"{prefix}{sequence:03d}"


def next_sequence(office_id: int, day: date, service_code: str) -> int:
    """Take the next number of the day for the service. Call inside a write transaction."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(TicketCounter.__table__)
        .values(office_id=office_id, date=day, service_code=service_code, last_number=0)
        .on_conflict_do_nothing())
    counter = TicketCounter.__table__
    return db.session.execute(
        update(counter)
        .where(counter.c.office_id == office_id, counter.c.date == day,
               counter.c.service_code == service_code)
        .values(last_number=counter.c.last_number + 1)
        .returning(counter.c.last_number)).scalar_one()
