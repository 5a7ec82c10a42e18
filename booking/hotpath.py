"""A booking's statements sent straight to the database driver: the hot path of a release
rush (bench/RESULTS.md, "Where a booking's time goes").

`booking.transactions` decides what a booking is (the rules, the rows, the answer); this
module only sends its statements and turns what comes back into the same outcomes. It
exists because under a rush each statement's pass through SQLAlchemy's execution machinery
cost more CPU than the database's work on it, and each round trip to the database costs the
worker CPU too (a system call each way and a wake-up). What a booking sends:

1. the no-show/already-booked check,
2. the seat (one conditional upsert of the slot row) and the appointment,
3. the applicants (in hash order: the lock order),
4. the confirmation SMS in the outbox.

On PostgreSQL these are ONE statement (data-modifying WITH clauses), so a booking is one
round trip: the seat is taken only if the check found nothing, the appointment is inserted
from the seat's row, and the applicants and messages from the appointment's. What the check
found comes back with it. When it found something (an active booking of the service, or a
no-show), nothing was written: the rules judge the rows, and when they do not refuse (a
no-show that does not block) the statement is sent again with the check already judged. A
single statement is atomic on its own, so an online booking sends it in autocommit, with no
BEGIN or COMMIT (`send_on_its_own`); a staff booking sends it inside the caller's
transaction, which also writes the audit row.

SQLite runs the four one after another (there is no network to save) under its write lock
(BEGIN IMMEDIATE) in the caller's `write_transaction()`, checking before it writes.

The guarantees are the database's, as before: the seat is one conditional upsert, the CHECK
`booked <= capacity` and the unique `(active_hash, service_code)` and code/token
constraints stand behind the checks, and nothing is kept unless every part succeeded. Each
statement is announced to SQLAlchemy's `before_cursor_execute` listeners, so the
statement-budget test (tests/booking/test_statement_budget.py) and the bench count what is
sent.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError

from booking.models import Applicant, Appointment
from booking.seats import TAKE_SEAT_SQL, TAKE_SEAT_WHERE_SQL
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
    """INSERT of rows into a table, every column but the id listed; each column's
    conversion is its type's bind processor (encryption at rest, dates and times as each
    database stores them), exactly what SQLAlchemy would apply."""

    sql: str
    columns: tuple  # (key, name, processor or None, default) per column the rows give

    def rows(self, rows: list[dict], converted: dict) -> list[dict]:
        """`rows` converted for the driver, by column name. `converted` remembers each
        conversion for the rest of the booking: an equal value (the one text of both SMS)
        is encrypted once; an equal ciphertext tells no more than the keyed hashes beside
        it already do."""
        out = []
        for row in rows:
            values = {}
            for key, name, process, default in self.columns:
                value = row[key] if key in row else default()
                if process is not None and value is not None:
                    done = converted.get((process, value))
                    if done is None:
                        done = converted[(process, value)] = process(value)
                    value = done
                values[name] = value
            out.append(values)
        return out

    def parameters(self, rows: list[dict], converted: dict) -> dict:
        """The rows as parameters of the VALUES form: name_0, name_1, … per column."""
        return {f"{name}_{index}": value
                for index, values in enumerate(self.rows(rows, converted))
                for name, value in values.items()}


def _default_of(column) -> Callable[[], object]:
    default = column.default
    if default is None:
        return lambda: None
    if default.is_callable:
        return lambda: default.arg(None)  # SQLAlchemy wraps a no-argument callable
    return lambda: default.arg


def _columns(table: Table, keys: tuple, expressions: dict) -> list:
    """The columns an INSERT lists, as SQLAlchemy's own INSERT would: those the rows give
    (`keys`), those with a default, and those the database works out (`expressions`); the
    rest are left to the database (NULL)."""
    return [c for c in table.columns if not c.primary_key
            and (c.key in keys or c.key in expressions or c.default is not None)]


def _given(columns: list, dialect: Dialect) -> tuple:
    """_Insert.columns of the columns whose values the rows give."""
    return tuple((c.key, c.name, c.type.bind_processor(dialect), _default_of(c))
                 for c in columns)


@functools.cache
def _insert(table: Table, keys: tuple, rows: int, dialect: Dialect,
            returning: str = "") -> _Insert:
    """INSERT … VALUES of `rows` rows that give `keys`, a :name_i placeholder per column
    and row."""
    columns = _columns(table, keys, {})
    if rows < 1:
        return _Insert("", ())
    names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES " + ", ".join(
        "(" + ", ".join(f":{c.name}_{i}" for c in columns) + ")" for i in range(rows))
    if returning:
        sql += f" RETURNING {returning}"
    return _Insert(sql, _given(columns, dialect))


@functools.cache
def _insert_from_json(table: Table, keys: tuple, dialect: Dialect, source: str,
                      parameter: str, computed: tuple = (), returning: str = "") -> _Insert:
    """PostgreSQL: INSERT … SELECT of rows that give `keys`, as ONE parameter: a JSON array
    of objects by column name (`rows`, then `_json_rows`), each row with the one row of the
    WITH clause `source`. `computed`: (column key, SQL expression) pairs whose value the
    database works out (they may name `source` and the row, `r`). One parameter per table
    keeps the statement short and its parameters few: psycopg then converts the statement
    once per process instead of on every booking, and adapts a few values, not ninety."""
    expressions = dict(computed)
    quote = dialect.identifier_preparer.quote
    columns = _columns(table, keys, expressions)
    given = [c for c in columns if c.key not in expressions]
    record = ", ".join(f"{quote(c.name)} {c.type.compile(dialect=dialect)}" for c in given)
    values = ", ".join(expressions.get(c.key) or f"r.{quote(c.name)}" for c in columns)
    sql = (f"INSERT INTO {table.name} ({', '.join(quote(c.name) for c in columns)}) "
           f"SELECT {values} FROM {source}, "
           f"jsonb_to_recordset(CAST(:{parameter} AS JSONB)) AS r({record})")
    if returning:
        sql += f" RETURNING {returning}"
    return _Insert(sql, _given(given, dialect))


def _json(value):
    """What json.dumps cannot write itself: dates and times (ISO 8601, as PostgreSQL reads
    them)."""
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in a booking's row")


# One encoder for every booking: json.dumps with options builds a new one on each call.
_ENCODER = json.JSONEncoder(default=_json, ensure_ascii=False, separators=(",", ":"))


def _json_rows(rows: list[dict]) -> str:
    return _ENCODER.encode(rows)


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


def _may_book(people: int) -> str:
    return _MAY_BOOK.format(hashes=", ".join(f":hash_{i}" for i in range(people)))


@dataclass(frozen=True)
class _Statement:
    """PostgreSQL: a whole booking as one statement (its SQL for the driver) and the
    inserts whose rows it takes."""

    sql: str
    appointment: _Insert
    applicants: _Insert
    messages: _Insert


# The dedupe key of a booking's confirmation to one phone, in SQL (confirmation_key in
# Python): no earlier message can carry it, the appointment is new.
_CONFIRMATION_KEY = "'booking_confirmed:' || appointment.id || ':' || r.to_phone_hash"


@functools.cache
def _one_statement(people: int, keys: tuple, dialect: Dialect) -> _Statement:
    """The booking in one statement: what the check finds (`found`), the seat taken only
    when it found nothing or the rules have judged it (:judged), the appointment from the
    seat's row, the applicants and messages from the appointment's. It answers the check's
    rows and, when booked, a row (NULL, NULL, 'booked', the appointment's id). Every WITH
    clause that writes runs whether or not the answer names it (PostgreSQL's rule). `keys`:
    what the appointment's, the applicants' and the messages' rows give."""
    appointment_keys, applicant_keys, message_keys = keys
    appointment = _insert_from_json(Appointment.__table__, appointment_keys, dialect, "seat",
                                    "appointment", computed=(("slot_id", "seat.id"),),
                                    returning="id")
    applicants = _insert_from_json(Applicant.__table__, applicant_keys, dialect,
                                   "appointment", "applicants",
                                   computed=(("appointment_id", "appointment.id"),))
    messages = _insert_from_json(OutboxMessage.__table__, message_keys, dialect,
                                 "appointment", "messages",
                                 computed=(("dedupe_key", _CONFIRMATION_KEY),))
    seat = TAKE_SEAT_WHERE_SQL.format(
        condition="CAST(:judged AS BOOLEAN) OR NOT EXISTS (SELECT FROM found)")
    sql = (f"WITH found (id_hash, day, what) AS ({_may_book(people)}), seat AS ({seat}), "
           f"appointment AS ({appointment.sql}), applicant_rows AS ({applicants.sql}), "
           f"message_rows AS ({messages.sql}) "
           "SELECT id_hash, day, what, CAST(NULL AS INTEGER) FROM found "
           "UNION ALL SELECT NULL, NULL, 'booked', id FROM appointment")
    return _Statement(_driver_sql(sql, dialect.name), appointment, applicants, messages)


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

    def keys(self) -> tuple:
        """The columns the appointment's, the applicants' and the messages' rows give (the
        rows of one kind give the same)."""
        return tuple(tuple(sorted(rows[0])) if rows else ()
                     for rows in ([self.appointment], self.applicants, self.messages))


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

class Sender:
    """One booking's statements: made ready (their parameters converted: encrypted, dates
    as stored) when it is created, BEFORE anything is sent, so that the transaction (on
    SQLite the database's write lock, on PostgreSQL the slot row's lock) lasts only as long
    as the database's own work; then `send_on_its_own` or `send`."""

    def __init__(self, booking: Booking, dialect: Dialect):
        self.booking = booking
        self.dialect = dialect
        converted: dict = {}  # see _Insert.parameters
        check = {"service_code": booking.service_code, "horizon": self._date(booking.horizon)}
        check |= {f"hash_{i}": h for i, h in enumerate(booking.hashes)}
        seat = dict(booking.seat, date=self._date(booking.seat["date"]))
        if dialect.name == "postgresql":  # all in one statement, a parameter per table
            statement = _one_statement(len(booking.hashes), booking.keys(), dialect)
            self.statement = (statement.sql, check | seat | {
                "judged": False,
                "appointment": _json_rows(statement.appointment.rows([booking.appointment],
                                                                    converted)),
                "applicants": _json_rows(statement.applicants.rows(booking.applicants,
                                                                  converted)),
                "messages": _json_rows(statement.messages.rows(booking.messages, converted))})
            return
        self.statement = None  # one after another, the ids filled in as they come back
        name = dialect.name
        self.check = (_driver_sql(_may_book(len(booking.hashes)), name), check)
        self.seat = (_driver_sql(TAKE_SEAT_SQL, name), seat)
        appointment_keys, applicant_keys, message_keys = booking.keys()
        appointment = _insert(Appointment.__table__, appointment_keys, 1, dialect, "id")
        applicants = _insert(Applicant.__table__, applicant_keys, len(booking.applicants),
                             dialect)
        outbox = _insert(OutboxMessage.__table__, message_keys, len(booking.messages), dialect)
        self.appointment = (_driver_sql(appointment.sql, name),
                            appointment.parameters([booking.appointment], converted))
        self.applicants = (_driver_sql(applicants.sql, name),
                           applicants.parameters(booking.applicants, converted))
        self.outbox = ((_driver_sql(outbox.sql, name),
                        outbox.parameters(booking.messages, converted))
                       if booking.messages else None)

    @property
    def sends_one_statement(self) -> bool:
        return self.statement is not None

    def send_on_its_own(self, engine: Engine, outcomes: Outcomes) -> int:
        """PostgreSQL, a booking that nothing else joins: its one statement is its own
        transaction (autocommit), so the booking is one round trip, with no BEGIN and no
        COMMIT. It goes on a connection from the engine's pool, without a SQLAlchemy
        Connection around it: making one, switching its isolation level and switching it
        back cost about 7 % of a booking's CPU (in-process). The new appointment's id;
        raises as `send`."""
        try:
            pooled = engine.raw_connection()
        except self.dialect.loaded_dbapi.Error as error:  # no database: 503, as everywhere
            raise self._wrapped(error) from error
        try:
            pooled.driver_connection.autocommit = True
            self._use(pooled.driver_connection, engine.dispatch, pooled, pooled.invalidate)
            return self._send_at_once(outcomes)
        finally:
            try:
                if pooled.is_valid and not pooled.driver_connection.closed:
                    pooled.driver_connection.autocommit = False  # as the pool lends it out
            finally:
                pooled.close()  # back to the pool (a dead one is replaced there)

    def send(self, connection: Connection, outcomes: Outcomes) -> int:
        """Send the booking on `connection` (inside the caller's transaction, if it has
        one); the new appointment's id. Raises what `outcomes` make of a refusal, a full
        slot or a unique constraint; the caller's transaction rolls back."""
        self._use(connection.connection.driver_connection, connection.dispatch, connection,
                  connection.invalidate)
        if self.statement is not None:
            return self._send_at_once(outcomes)
        return self._send_in_turn(outcomes)

    def _use(self, driver, listeners, announced_as, invalidate) -> None:
        """The driver connection to send on, the SQLAlchemy events to announce each
        statement to (and the connection they are told it went on), and how to discard a
        connection found dead."""
        self.raw = driver
        self._listeners = listeners
        self._announced_as = announced_as
        self._invalidate = invalidate

    def _send_at_once(self, outcomes: Outcomes) -> int:
        """PostgreSQL: the one statement. The check's rows come first in the rules' order:
        a refusal, then a full slot, then a constraint."""
        sql, parameters = self.statement
        found, appointment_id = self._answer(sql, parameters, outcomes.explain)
        if appointment_id is None and found:  # nothing written: the rules judge the rows
            outcomes.judge(*self._found(found))
            # not refused (no-shows that do not block): again, the rows judged
            found, appointment_id = self._answer(sql, parameters | {"judged": True},
                                                 outcomes.explain)
        if appointment_id is None:
            raise outcomes.slot_full()
        return appointment_id

    def _answer(self, sql: str, parameters: dict, explain) -> tuple[list, int | None]:
        """The check's rows, and the appointment's id (None: nothing was booked)."""
        with self._integrity(explain):
            rows = self._send(sql, parameters).fetchall()
        found = [row[:3] for row in rows if row[2] != "booked"]
        booked = [row[3] for row in rows if row[2] == "booked"]
        return found, (booked[0] if booked else None)

    def _send_in_turn(self, outcomes: Outcomes) -> int:
        """SQLite: check, then write, one statement after another."""
        outcomes.judge(*self._found(self._send(*self.check).fetchall()))
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

    def _found(self, rows: list) -> tuple[dict, bool]:
        """The check's rows: {id_hash: [no-show dates]}, and whether one of the people has
        an active booking of the service."""
        days: dict = {}
        already = False
        for id_hash, day, what in rows:
            if what == "taken":
                already = True
            else:
                days.setdefault(id_hash, []).append(self._date_result(day))
        return days, already

    # -- the driver ------------------------------------------------------------------------

    def _send(self, sql: str, parameters: dict):
        """Execute on a new driver cursor, telling SQLAlchemy's listeners first."""
        cursor = self.raw.cursor()
        dispatch = self._listeners.before_cursor_execute
        if dispatch:
            dispatch(self._announced_as, cursor, sql, parameters, None, False)
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
            self._invalidate(error)
        raise self._wrapped(error, sql, parameters, disconnected) from error

    def _wrapped(self, error, sql=None, parameters=None, disconnected=False) -> DBAPIError:
        """The driver's error as SQLAlchemy's wrapper of it."""
        return DBAPIError.instance(sql, parameters, error, self.dialect.loaded_dbapi.Error,
                                   connection_invalidated=disconnected, dialect=self.dialect)

    def _date(self, value):
        """A date as the driver stores it (SQLite: ISO text, like SQLAlchemy's Date)."""
        return value if self.dialect.name == "postgresql" else value.isoformat()

    @staticmethod
    def _date_result(value):
        return value if isinstance(value, date) or value is None else date.fromisoformat(value)
