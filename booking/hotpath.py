"""A booking's statements sent straight to the database driver: the hot path of a release
rush (bench/RESULTS.md, "Where a booking's time goes").

`booking.transactions` decides what a booking is (the rules, the rows, the answer); this
module only sends its statements, inside the caller's `write_transaction()`, and turns what
comes back into the same outcomes. It exists because under a rush each statement's pass
through SQLAlchemy's execution machinery cost more CPU than the database's work on it, and
each round trip to the database costs the worker CPU too (a system call each way and a
wake-up). The statements:

1. the no-show/already-booked check,
2. the seat (one conditional upsert of the slot row) and the appointment,
3. the applicants (in hash order: the lock order),
4. the confirmation SMS in the outbox.

On PostgreSQL none of them waits for another's answer: the seat and the appointment are one
statement (a data-modifying WITH), and the applicants and messages name the appointment by
`currval` of its id sequence, so psycopg's pipeline mode sends all four in ONE round trip;
the check's answer is read afterwards and a refusal rolls everything back, as a full slot
(no appointment row came back) does. SQLite runs them one after another (there is no
network to save) under its write lock (BEGIN IMMEDIATE), checking before it writes.

The guarantees are the database's, as before: the seat is one conditional upsert, the CHECK
`booked <= capacity` and the unique `(active_hash, service_code)` and code/token
constraints stand behind the checks, and nothing is committed unless every statement
succeeded (the caller's transaction rolls back on any error raised here). Each statement is
announced to SQLAlchemy's `before_cursor_execute` listeners, so the statement-budget test
(tests/booking/test_statement_budget.py) and the bench count what is sent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError

from booking.models import Applicant, Appointment
from booking.seats import TAKE_SEAT_SQL
from notify.models import OutboxMessage

# -- SQL for the driver --------------------------------------------------------------------

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.cache
def _driver_sql(sql: str, dialect_name: str) -> str:
    """`sql` with :name placeholders in the driver's style: psycopg's %(name)s on
    PostgreSQL (a literal % doubled), sqlite3's own :name on SQLite."""
    if dialect_name == "postgresql":
        return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
    return sql


@dataclass(frozen=True)
class _Insert:
    """INSERT of `rows` rows into a table, every column but the id listed; each column's
    conversion is its type's bind processor (encryption at rest, dates and times as each
    database stores them), exactly what SQLAlchemy would apply."""

    sql: str
    columns: tuple  # (key, processor or None, default) per parameter column

    def parameters(self, rows: list[dict], converted: dict) -> dict:
        """The driver's parameters of `rows`. `converted` remembers each conversion for the
        rest of the booking: an equal value (a phone in an applicant and in its SMS, the one
        text of both SMS) is encrypted once; an equal ciphertext tells no more than the
        keyed hashes beside it already do."""
        out = {}
        for index, row in enumerate(rows):
            for key, process, default in self.columns:
                value = row[key] if key in row else default()
                if process is not None and value is not None:
                    done = converted.get((process, value))
                    if done is None:
                        done = converted[(process, value)] = process(value)
                    value = done
                out[f"{key}_{index}"] = value
        return out


def _default_of(column) -> Callable[[], object]:
    default = column.default
    if default is None:
        return lambda: None
    if default.is_callable:
        return lambda: default.arg(None)  # SQLAlchemy wraps a no-argument callable
    return lambda: default.arg


@functools.cache
def _insert(table: Table, rows: int, dialect: Dialect, returning: str = "",
            computed: tuple = (), before: str = "") -> _Insert:
    """The INSERT of `rows` rows. `computed`: (column key, SQL expression) pairs whose
    value the database works out ({i}: the row's index); `before`: a WITH clause whose
    one row (named `seat`) the single row is selected from, each value cast to its
    column's type (PostgreSQL types a bare parameter in a select list as text)."""
    expressions = dict(computed)
    if rows < 1:
        return _Insert("", ())
    columns = [column for column in table.columns if not column.primary_key]

    def value(column, index: int) -> str:
        if column.key in expressions:
            return expressions[column.key].format(i=index)
        placeholder = f":{column.key}_{index}"
        if before:
            return f"CAST({placeholder} AS {column.type.compile(dialect=dialect)})"
        return placeholder

    names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
    if before:
        sql = (f"{before} INSERT INTO {table.name} ({names}) "
               f"SELECT {', '.join(value(c, 0) for c in columns)} FROM seat")
    else:
        sql = f"INSERT INTO {table.name} ({names}) VALUES " + ", ".join(
            "(" + ", ".join(value(c, i) for c in columns) + ")" for i in range(rows))
    if returning:
        sql += f" RETURNING {returning}"
    return _Insert(_driver_sql(sql, dialect.name),
                   tuple((c.key, c.type.bind_processor(dialect), _default_of(c))
                         for c in columns if c.key not in expressions))


# The people's no-shows that can still block them and their active bookings of the service
# (booking.rules' no-show rule and the unique active_hash), in one statement; one
# placeholder per person. The rows: (id_hash, no-show date or NULL, 'no_show' | 'taken').
_MAY_BOOK = (
    "SELECT applicants.id_hash, appointments.date, 'no_show' FROM applicants "
    "JOIN appointments ON applicants.appointment_id = appointments.id "
    "WHERE applicants.id_hash IN ({hashes}) AND appointments.status = 'no_show' "
    "AND appointments.date >= :horizon "
    "UNION ALL "
    "SELECT applicants.active_hash, NULL, 'taken' FROM applicants "
    "WHERE applicants.service_code = :service_code AND applicants.active_hash IN ({hashes})")


@functools.cache
def _may_book_sql(people: int, dialect_name: str) -> str:
    hashes = ", ".join(f":hash_{i}" for i in range(people))
    return _driver_sql(_MAY_BOOK.format(hashes=hashes), dialect_name)


# PostgreSQL: the appointment this transaction has just inserted (the session's last value
# of its id sequence), for the statements sent with it before its id is known.
_NEW_APPOINTMENT = "currval(pg_get_serial_sequence('appointments', 'id'))"
# (the phone's hash is also its own column's value: cast, so that both uses of the
# parameter give it one type)
_CONFIRMATION_KEY = ("'booking_confirmed:' || " + _NEW_APPOINTMENT
                     + " || ':' || CAST(:to_phone_hash_{i} AS VARCHAR)")


@dataclass
class Booking:
    """What one booking sends: the check's people and day, the seat, and the rows."""

    service_code: str
    hashes: list[str]  # the people's ID hashes, sorted
    horizon: date  # the earliest no-show that still blocks
    seat: dict  # office_id, service_code, date, start, end, capacity
    appointment: dict  # its column values (slot_id filled in here)
    applicants: list[dict]  # in hash order (the lock order); appointment_id filled in here
    messages: list[dict]  # the confirmations (dedupe_key filled in here)


@dataclass
class Outcomes:
    """How the caller's rules read what came back. Each raises the booking's error."""

    judge: Callable[[dict, bool], None]  # (no-show days, already booked): a refusal
    slot_full: Callable[[], Exception]
    explain: Callable[[Exception], Exception | None]  # a unique constraint's meaning


def confirmation_key(appointment_id: int, to_phone_hash: str) -> str:
    """The dedupe key of a booking's confirmation to one phone (no earlier message can
    carry it: the appointment is new). _CONFIRMATION_KEY is the same in SQL."""
    return f"booking_confirmed:{appointment_id}:{to_phone_hash}"


# -- sending ---------------------------------------------------------------------------------

def _answered(cursor) -> bool:
    """A pipelined statement ran and its answer came (not: it failed, or a statement
    before it did)."""
    return cursor is not None and cursor.pgresult is not None


class Sender:
    """One booking's statements: made ready (their parameters converted: encrypted, dates
    as stored) when it is created, BEFORE the caller's write transaction begins, so that
    the transaction (on SQLite the database's write lock, on PostgreSQL the slot row's
    lock) lasts only as long as the database's own work; then `send`."""

    def __init__(self, booking: Booking, dialect: Dialect):
        self.booking = booking
        self.dialect = dialect
        converted: dict = {}  # see _Insert.parameters
        parameters = {"service_code": booking.service_code,
                      "horizon": self._date(booking.horizon)}
        parameters |= {f"hash_{i}": h for i, h in enumerate(booking.hashes)}
        self.check = (_may_book_sql(len(booking.hashes), dialect.name), parameters)
        seat = dict(booking.seat, date=self._date(booking.seat["date"]))
        pipelined = dialect.name == "postgresql"
        if pipelined:  # the seat and the appointment in one statement; ids by currval
            appointment = _insert(
                Appointment.__table__, 1, dialect, "id", computed=(("slot_id", "seat.id"),),
                before="WITH seat AS (" + TAKE_SEAT_SQL + ")")
            applicants = _insert(Applicant.__table__, len(booking.applicants), dialect,
                                 computed=(("appointment_id", _NEW_APPOINTMENT),))
            outbox = _insert(OutboxMessage.__table__, len(booking.messages), dialect,
                             computed=(("dedupe_key", _CONFIRMATION_KEY),))
            self.seat = None
        else:  # the ids filled in as they come back
            appointment = _insert(Appointment.__table__, 1, dialect, "id")
            applicants = _insert(Applicant.__table__, len(booking.applicants), dialect)
            outbox = _insert(OutboxMessage.__table__, len(booking.messages), dialect)
            self.seat = (_driver_sql(TAKE_SEAT_SQL, dialect.name), seat)
        self.appointment = (appointment.sql, (seat if pipelined else {}) | appointment.parameters(
            [booking.appointment], converted))
        self.applicants = (applicants.sql, applicants.parameters(booking.applicants, converted))
        self.outbox = ((outbox.sql, outbox.parameters(booking.messages, converted))
                       if booking.messages else None)

    def send(self, connection: Connection, outcomes: Outcomes) -> int:
        """Send the booking on the connection of the caller's write transaction; the new
        appointment's id. Raises what `outcomes` make of a refusal, a full slot or a unique
        constraint; the caller's transaction rolls back."""
        self.connection = connection
        self.raw = connection.connection.driver_connection
        if self.seat is None:
            return self._send_pipelined(outcomes)
        return self._send_in_turn(outcomes)

    def _send_in_turn(self, outcomes: Outcomes) -> int:
        """SQLite: check, then write, one statement after another."""
        outcomes.judge(*self._found(self._send(*self.check)))
        seat = self._send(*self.seat).fetchone()
        if seat is None:
            raise outcomes.slot_full()
        sql, parameters = self.appointment
        parameters["slot_id_0"] = seat[0]
        with self._integrity(outcomes.explain):
            appointment_id = self._send(sql, parameters).fetchone()[0]
        sql, parameters = self.applicants
        for index in range(len(self.booking.applicants)):
            parameters[f"appointment_id_{index}"] = appointment_id
        with self._integrity(outcomes.explain):
            self._send(sql, parameters)
            if self.outbox is not None:
                sql, parameters = self.outbox
                for index in range(len(self.booking.messages)):
                    parameters[f"dedupe_key_{index}"] = confirmation_key(
                        appointment_id, parameters[f"to_phone_hash_{index}"])
                self._send(sql, parameters)
        return appointment_id

    def _send_pipelined(self, outcomes: Outcomes) -> int:
        """PostgreSQL: all four statements in one round trip, their answers read after."""
        check = inserted = None
        failed = None
        try:
            with self.raw.pipeline():
                check = self._send(*self.check, in_pipeline=True)
                inserted = self._send(*self.appointment, in_pipeline=True)
                self._send(*self.applicants, in_pipeline=True)
                if self.outbox is not None:
                    self._send(*self.outbox, in_pipeline=True)
        except self.dialect.loaded_dbapi.Error as error:
            failed = error  # the statements after it did not run
        if failed is not None and isinstance(failed, self.dialect.loaded_dbapi.OperationalError) \
                and self.dialect.is_disconnect(failed, self.raw, None):
            self._raise(failed, None, None, None)
        # What the booking's rules say comes first: the check ran first, whatever failed
        # after it. Then the appointment's answer: a row (booked), no row (the seat's
        # condition failed: the slot is full), or none (its statement, or one before it,
        # failed).
        if _answered(check):
            outcomes.judge(*self._found(check))
        row = inserted.fetchone() if _answered(inserted) else None
        if _answered(inserted) and row is None:
            raise outcomes.slot_full()
        if failed is None:
            return row[0]
        if isinstance(failed, self.dialect.loaded_dbapi.IntegrityError):
            explained = outcomes.explain(failed)
            if explained is not None:
                raise explained from None
        self._raise(failed, None, None, None)

    def _found(self, check) -> tuple[dict, bool]:
        """The check's rows: {id_hash: [no-show dates]}, and whether one of the people has
        an active booking of the service."""
        days: dict = {}
        already = False
        for id_hash, day, what in check.fetchall():
            if what == "taken":
                already = True
            else:
                days.setdefault(id_hash, []).append(self._date_result(day))
        return days, already

    # -- the driver ------------------------------------------------------------------------

    def _send(self, sql: str, parameters: dict, in_pipeline: bool = False):
        """Execute on a new driver cursor, telling SQLAlchemy's listeners first. In a
        pipeline its answer comes when the pipeline ends, and a driver error (the answer
        of an earlier statement, perhaps) is left to the pipeline's caller."""
        cursor = self.raw.cursor()
        dispatch = self.connection.dispatch.before_cursor_execute
        if dispatch:
            dispatch(self.connection, cursor, sql, parameters, None, False)
        if in_pipeline:
            cursor.execute(sql, parameters)
            return cursor
        try:
            cursor.execute(sql, parameters)
        except self.dialect.loaded_dbapi.Error as error:
            self._raise(error, sql, parameters, cursor)
        return cursor

    @contextmanager
    def _integrity(self, explain) -> Iterator[None]:
        """A unique constraint the caller can explain (a taken code, a booking made
        meanwhile) becomes its error; any other database error stays one."""
        try:
            yield
        except DBAPIError as error:
            if isinstance(error.orig, self.dialect.loaded_dbapi.IntegrityError):
                raise (explain(error.orig) or error) from None
            raise

    def _raise(self, error, sql, parameters, cursor):
        """As SQLAlchemy would: a lost connection invalidates it (the pool replaces it), and
        the error is SQLAlchemy's wrapper (the application answers OperationalError with
        503, as everywhere else)."""
        disconnected = self.dialect.is_disconnect(error, self.raw, cursor)
        if disconnected:
            self.connection.invalidate(error)
        raise DBAPIError.instance(sql, parameters, error, self.dialect.loaded_dbapi.Error,
                                  connection_invalidated=disconnected,
                                  dialect=self.dialect) from error

    def _date(self, value):
        """A date as the driver stores it (SQLite: ISO text, like SQLAlchemy's Date)."""
        return value if self.dialect.name == "postgresql" else value.isoformat()

    @staticmethod
    def _date_result(value):
        return value if isinstance(value, date) or value is None else date.fromisoformat(value)

