"""Seat accounting that cannot over-book.

A seat is taken by one conditional UPDATE (`booked = booked + 1 … WHERE booked < capacity`)
in the same transaction as the appointment's insert, with a check that it changed the row;
the database serialises concurrent takers on the slot row (PostgreSQL row lock, SQLite's
write lock from BEGIN IMMEDIATE). Slot rows are created on first use; two first users
racing to create the same row both end up with it (ON CONFLICT on the slot's unique key).
The CHECK constraint `booked <= capacity` stands behind all of it. Callers run these
inside `core.database.write_transaction()`.

A new booking takes its seat with one statement (`TAKE_SEAT_SQL`): an INSERT of the row with
one seat taken that, when the row exists, becomes the conditional UPDATE instead
(`ON CONFLICT (office_id, service_code, date, start) DO UPDATE … WHERE slots.booked <
capacity RETURNING id`): a row back means the seat was taken, none means the slot is full.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from booking.errors import BookingError, tr
from booking.models import Slot
from core.extensions import db


def _slot_id(office_id: int, service_code: str, day: date, start: str) -> int | None:
    return db.session.scalar(
        select(Slot.id).where(Slot.office_id == office_id, Slot.service_code == service_code,
                              Slot.date == day, Slot.start == start))


def ensure_slot(office_id: int, service_code: str, day: date, start: str, end: str,
                capacity: int) -> int:
    """The id of the slot row, created if it does not exist yet."""
    slot_id = _slot_id(office_id, service_code, day, start)
    if slot_id is not None:
        return slot_id
    values = {"office_id": office_id, "service_code": service_code, "date": day,
              "start": start, "end": end, "capacity": capacity, "booked": 0}
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        db.session.execute(pg_insert(Slot).values(**values).on_conflict_do_nothing(
            index_elements=["office_id", "service_code", "date", "start"]))
    else:
        try:
            with db.session.begin_nested():
                db.session.execute(Slot.__table__.insert().values(**values))
        except IntegrityError:
            pass  # someone else created it first: use theirs
    slot_id = _slot_id(office_id, service_code, day, start)
    if slot_id is None:  # pragma: no cover - the insert or the other writer made it
        raise RuntimeError("slot row missing after insert")
    return slot_id


def slot_full() -> BookingError:
    return BookingError(409, "slot_full", tr("该时段已约满，请选择其他时段。"), field="start")


# One seat of :capacity (today's configured seats, which the row then records), the slot row
# created on first use: a row back (its id) means the seat was taken, none that the slot is
# full. With :name placeholders; booking.hotpath sends it.
_SEAT_COLUMNS = 'INSERT INTO slots (office_id, service_code, date, start, "end", capacity, booked) '
_SEAT_TAKEN = ("ON CONFLICT (office_id, service_code, date, start) DO UPDATE "
               "SET booked = slots.booked + 1, capacity = excluded.capacity "
               "WHERE slots.booked < excluded.capacity "
               "RETURNING id")
# on its own (SQLite 3.35+ has upsert and RETURNING)
TAKE_SEAT_SQL = (_SEAT_COLUMNS + "VALUES (:office_id, :service_code, :date, :start, :end, "
                 ":capacity, 1) " + _SEAT_TAKEN)
# PostgreSQL, inside a booking's one statement: the seat is taken only WHERE {condition}
# holds (each value cast: a bare parameter in a select list is text there)
TAKE_SEAT_WHERE_SQL = (
    _SEAT_COLUMNS + "SELECT CAST(:office_id AS INTEGER), CAST(:service_code AS VARCHAR), "
    "CAST(:date AS DATE), CAST(:start AS VARCHAR), CAST(:end AS VARCHAR), "
    "CAST(:capacity AS INTEGER), 1 WHERE {condition} " + _SEAT_TAKEN)


def take_seat(slot_id: int, capacity: int) -> None:
    """Take one seat of `capacity` (today's configured seats, which the row then records);
    409 slot_full when none is left."""
    result = db.session.execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked < capacity)
        .values(booked=Slot.booked + 1, capacity=capacity)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise slot_full()


def free_seat(slot_id: int) -> None:
    """Give one seat back (a cancellation or the old slot of a reschedule)."""
    db.session.execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1)
        .execution_options(synchronize_session=False))


def booked_counts(office_id: int, service_code: str, first: date, last: date
                  ) -> dict[tuple[date, str], int]:
    rows = db.session.execute(
        select(Slot.date, Slot.start, Slot.booked).where(
            Slot.office_id == office_id, Slot.service_code == service_code,
            Slot.date >= first, Slot.date <= last))
    return {(row.date, row.start): row.booked for row in rows}
