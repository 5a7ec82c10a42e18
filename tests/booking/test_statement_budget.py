"""A regression guard on the SQL a booking sends: every statement is a round trip to the
database and a pass through the ORM, and under a release rush they are what limits
bookings per second (bench/analysis.md). Counted with SQLAlchemy's before_cursor_execute,
on SQLite and PostgreSQL; BEGIN (IMMEDIATE) and savepoints count too."""

from contextlib import contextmanager
from datetime import date

from sqlalchemy import event

from core.extensions import db
from tests.booking.helpers import MONDAY, TUESDAY, couple, payload
from tests.booking.ids import make_id

# Measured: PostgreSQL 1 (the whole booking is one statement, in autocommit: no BEGIN, no
# COMMIT; booking.hotpath); SQLite 6 (BEGIN IMMEDIATE, the checks, the seat, the
# appointment, its applicants, the messages). Before: 29 (PostgreSQL), 32 (SQLite); then 4
# in one pipeline, and BEGIN and COMMIT around them (PostgreSQL).
BOOKING_BUDGET = {"postgresql": 1, "sqlite": 6}
# already booked: BEGIN IMMEDIATE and the checks' query (SQLite); the booking's statement,
# which writes nothing when the check finds a row (PostgreSQL)
REFUSED_BUDGET = {"postgresql": 1, "sqlite": 2}
AVAILABILITY_BUDGET = 3  # 30 days of one service: office, service, seat counts


def _budget(budgets: dict) -> int:
    return budgets[db.engine.dialect.name]


@contextmanager
def counted():
    sent: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _many):
        sent.append(" ".join(statement.split())[:90])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _couple(i: int) -> list[dict]:
    """The same two people for the same i."""
    return [{"name": "张三", "id_type": "resident_id", "phone": "13800138000",
             "id_number": make_id(f"19{60 + i:02d}0101", "M", serial=i)},
            {"name": "李小红", "id_type": "resident_id", "phone": "13900139000",
             "id_number": make_id(f"19{70 + i:02d}0202", "F", serial=i)}]


def _book(client, i: int, day: str = MONDAY, start: str = "09:00"):
    answer = client.post("/api/v1/appointments",
                         json=payload(date=day, start=start, applicants=_couple(i)))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_a_booking_stays_within_its_statement_budget(client, booking_env):
    _book(client, 0)  # warm: the first request of a process loads what it caches
    with counted() as first_of_slot:
        _book(client, 1, start="10:00")
    with counted() as rush:
        made = _book(client, 2, start="10:00")
    assert len(rush) <= _budget(BOOKING_BUDGET), "\n".join(rush)
    assert len(first_of_slot) <= _budget(BOOKING_BUDGET), "\n".join(first_of_slot)
    # …and what it answers is complete: the applicants masked, the office and service named
    assert made["office"] == "chuanshan" and made["office_name"]
    _assert_confirmations_queued(made)
    assert made["service_name"] and len(made["applicants"]) == 2
    assert all("*" in a["id_number"] for a in made["applicants"])


def _assert_confirmations_queued(made: dict) -> None:
    """One confirmation per phone, as queue_sms would have written it."""
    from sqlalchemy import select

    from booking.models import Appointment
    from notify.models import OutboxMessage
    from notify.outbox import phone_hash

    appointment_id = db.session.scalar(select(Appointment.id).where(
        Appointment.code == made["code"]))
    messages = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.dedupe_key.like(f"booking_confirmed:{appointment_id}:%"))).all()
    assert sorted(m.to_phone for m in messages) == ["+8613800138000", "+8613900139000"]
    for message in messages:
        assert message.kind == "booking_confirmed" and message.status == "pending"
        assert message.attempts == 0 and message.next_attempt_at is not None
        assert message.created_at is not None and made["code"] in message.body
        # the recipient named by the keyed hash of the number, never the number
        assert message.dedupe_key == (
            f"booking_confirmed:{appointment_id}:{phone_hash(message.to_phone)}")


def test_a_refused_booking_sends_few_statements(client, booking_env):
    _book(client, 0)
    with counted() as again:
        answer = client.post("/api/v1/appointments",
                             json=payload(applicants=_couple(0), start="10:00"))
    assert answer.status_code == 409 and answer.get_json()["code"] == "already_booked"
    assert len(again) <= _budget(REFUSED_BUDGET), "\n".join(again)


def test_availability_for_30_days_stays_within_its_budget(client, booking_env):
    _book(client, 0)
    url = f"/api/v1/offices/chuanshan/availability?service=marriage&from={MONDAY}&days=30"
    assert client.get(url).status_code == 200
    with counted() as sent:
        body = client.get(url).get_json()
    assert len(body["days"]) == 30
    assert len(sent) <= AVAILABILITY_BUDGET, "\n".join(sent)
    monday = body["days"][0]
    assert next(s for s in monday["slots"] if s["start"] == "09:00")["remaining"] == (
        next(s for s in monday["slots"] if s["start"] == "09:00")["capacity"] - 1)


def test_admin_changes_reach_bookings_at_once_in_this_process(client, booking_env):
    """What the booking caches (offices, services, the calendar) is dropped when this
    process changes it; other processes see the change within BOOKING_CACHE_SECONDS."""
    from hours.models import CalendarOverride

    _book(client, 0, day=TUESDAY)
    office = booking_env["chuanshan"]
    db.session.add(CalendarOverride(office_id=office.id, date=date.fromisoformat(MONDAY),
                                    closed=True, note="停电"))
    db.session.commit()
    answer = client.post("/api/v1/appointments", json=payload(applicants=couple()))
    assert answer.status_code == 422 and answer.get_json()["code"] == "date_not_bookable"


def test_a_full_slot_is_refused_in_one_statement_and_changes_nothing(app, client, booking_env):
    from sqlalchemy import func, select

    from booking.models import Appointment, Slot

    capacity = next(s for s in client.get(
        f"/api/v1/offices/chuanshan/availability?service=marriage&from={MONDAY}&days=1"
    ).get_json()["days"][0]["slots"] if s["start"] == "09:00")["capacity"]
    for i in range(capacity):
        _book(client, i)
    with counted() as sent:
        answer = client.post("/api/v1/appointments",
                             json=payload(applicants=_couple(capacity)))
    assert answer.status_code == 409 and answer.get_json()["code"] == "slot_full"
    assert len(sent) <= _budget(REFUSED_BUDGET) + 1, "\n".join(sent)
    assert db.session.scalar(select(Slot.booked).where(Slot.start == "09:00")) == capacity
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == capacity


def test_changes_made_by_another_process_show_up_within_the_cache_time(app, client,
                                                                       booking_env,
                                                                       monkeypatch):
    """A write this process's session did not see (another worker, `flask offices load`):
    bookings use the old seats at most BOOKING_CACHE_SECONDS longer. The cache's clock is
    the test's, so a stall of the machine cannot age the snapshot."""
    from types import SimpleNamespace

    from sqlalchemy import text

    import booking.cache as cache

    clock = [1000.0]
    monkeypatch.setattr(cache, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    cache.forget_cached()  # the next snapshot is loaded on the test's clock
    app.config["BOOKING_CACHE_SECONDS"] = 60
    url = f"/api/v1/offices/chuanshan/availability?service=marriage&from={MONDAY}&days=1"

    def seats() -> int:
        return client.get(url).get_json()["days"][0]["slots"][0]["capacity"]

    before = seats()
    db.session.rollback()
    office_id = booking_env["chuanshan"].id
    with db.engine.begin() as connection:  # behind the session's back
        connection.execute(text("UPDATE office_services SET capacity = capacity + 7 "
                                "WHERE office_id = :office AND service_code = 'marriage'"),
                           {"office": office_id})
    db.session.rollback()  # as a new request would: the test's session outlives requests
    clock[0] += 59
    assert seats() == before  # still the snapshot at 59 s…
    clock[0] += 1
    assert seats() == before + 7  # …not at 60 s


def test_a_code_that_exists_already_is_replaced_and_nothing_is_taken_twice(
        client, booking_env, monkeypatch):
    """Codes are random: when one is taken (about one in 10¹² per appointment made), the
    booking's transaction runs again with a new code; the first try leaves nothing."""
    from sqlalchemy import func, select

    import booking.transactions as transactions
    from booking.models import Appointment, Slot

    first = _book(client, 0)
    codes = iter([first["code"], "NEWCQDE2"])
    monkeypatch.setattr(transactions, "new_code", lambda: next(codes))
    made = _book(client, 1)
    assert made["code"] == "NEWCQDE2"
    assert db.session.scalar(select(Slot.booked).where(Slot.start == "09:00")) == 2
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 2


def test_the_unique_active_hash_refuses_a_second_booking_the_check_let_through(
        client, booking_env, monkeypatch):
    """Two bookings of one couple racing past the already-booked check: the database's
    unique (active_hash, service_code) refuses the second, whose seat goes back."""
    from sqlalchemy import select

    from booking.hotpath import Sender
    from booking.models import Slot

    _book(client, 0)
    # the check finds nothing, as when the other booking commits just after it ran
    monkeypatch.setattr(Sender, "_found", lambda self, check: ({}, False))
    again = client.post("/api/v1/appointments",
                        json=payload(applicants=_couple(0), start="10:00"))
    assert again.status_code == 409 and again.get_json()["code"] == "already_booked"
    assert db.session.scalar(select(Slot.booked).where(Slot.start == "10:00")) in (None, 0)


def test_a_booking_on_postgresql_is_one_round_trip(client, booking_env):
    """booking.hotpath: the check, the seat with the appointment, the applicants and the
    messages are one statement, sent in autocommit (its own transaction): no BEGIN before
    it, no COMMIT after it."""
    import pytest

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no network round trips to save")
    from psycopg import pq

    _book(client, 0)
    seen: list[tuple] = []

    def record(_conn, cursor, statement, _parameters, _context, _many):
        seen.append((statement.split()[0], cursor.connection.autocommit,
                     cursor.connection.pgconn.transaction_status))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        _book(client, 1, start="10:00")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert seen == [("WITH", True, pq.TransactionStatus.IDLE)]


def test_the_booking_connection_goes_back_to_the_pool_as_it_was_lent(client, booking_env):
    """The autocommit booking borrows a pooled connection and switches autocommit on; what
    it returns must be in transactions again, or the next request's write_transaction
    would run statement by statement."""
    import pytest

    if db.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL books in autocommit")
    returned: list[bool] = []

    def on_checkin(dbapi_connection, _record):
        returned.append(dbapi_connection.autocommit)

    event.listen(db.engine, "checkin", on_checkin)
    try:
        _book(client, 2, start="10:30")
    finally:
        event.remove(db.engine, "checkin", on_checkin)
    assert returned and not any(returned)


def test_a_no_show_that_does_not_block_costs_the_statement_once_more(client, booking_env):
    """PostgreSQL: when the check finds a row the booking writes nothing and the rules judge
    it; one no-show does not block (NO_SHOW_LIMIT 2), so the statement goes again, judged."""
    from sqlalchemy import select

    from booking.attendance import mark_no_show
    from booking.models import Appointment

    first = _book(client, 0)
    mark_no_show(db.session.scalar(select(Appointment).where(
        Appointment.code == first["code"])))
    db.session.commit()
    with counted() as sent:
        again = client.post("/api/v1/appointments",
                            json=payload(applicants=_couple(0), start="10:00"))
    assert again.status_code == 201, again.get_json()
    assert len(sent) <= _budget({"postgresql": 2, "sqlite": BOOKING_BUDGET["sqlite"]})
    if db.engine.dialect.name == "postgresql":  # nothing written the first time
        assert len(sent) == 2, "\n".join(sent)
