"""The migration that encrypts personal data at rest (746139e9e82b), on a database with rows
in it: the rows written by the schema before it (clear birth dates, phones, SMS texts and
link tokens; masks that showed the birth date) come out encrypted and hashed, nothing is
lost (SQLite makes changed tables again: no cascade may delete a row on the way), the old
links still work, and the downgrade gives the clear values back."""

from datetime import UTC, date, datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from core.extensions import db
from core.privacy import encrypt, keyed_hash, secret_hash
from offices.loader import load_offices_file
from tests.conftest import DEFAULT_OFFICES, make_app
from tests.support import databases

BEFORE, REVISION = "aae89f8b52c4", "746139e9e82b"
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
GROOM, BRIDE = "510903199001011234", "51090319920202002X"
PHONES = ("+8613800138000", "+8613900139000")
MANAGE, PURGED_MANAGE = "manage-Token-0123456789abcdefXYZ", "manage-token-purged-0123456789ab"
TICKET, RATE, SUGGESTION = "ticket-Token-xyz-0123", "rate-Token-abc-0123", "suggestion-Token-q"
WALK_IN, WRITER, STOPPED = "+8613700137000", "+8613600136000", "+8613500135000"


@pytest.fixture
def database_with_rows(db_backend, tmp_path):
    if db_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'rows.sqlite3'}"
    else:
        databases.require_postgres()
        url = databases.create_pg_database("xiyue_migrate_rows")
    app = make_app(url, PUBLIC_BASE_URL="http://localhost")
    with app.app_context():
        # the offices are loaded by today's models (at the head), then the schema goes back
        upgrade()
        load_offices_file(DEFAULT_OFFICES)
        db.session.remove()
        downgrade(revision=BEFORE)
        _seed_the_old_schema()
        db.session.remove()
        yield app
        db.session.remove()
        db.engine.dispose()
    if db_backend == "postgres":
        databases.drop_pg_database(url)


def _run(sql: str, **values) -> None:
    db.session.execute(text(sql), values)


def _seed_the_old_schema() -> None:
    """Rows as revision aae89f8b52c4 stored them: an active and a purged appointment, a
    walk-in ticket with its rating invite, a suggestion, SMS (one with a provider's error
    quoting the number) and an opt-out."""
    conn = db.session.connection()
    at = NOW.replace(tzinfo=None) if conn.dialect.name == "sqlite" else NOW
    office = db.session.scalar(text("SELECT id FROM offices WHERE code = 'chuanshan'"))
    _run('INSERT INTO slots (office_id, service_code, date, start, "end", capacity, booked) '
         "VALUES (:office, 'marriage', :day, '09:00', '09:30', 6, 2)",
         office=office, day=date(2026, 6, 15))
    slot = db.session.scalar(text("SELECT id FROM slots"))
    for code, token, status, purged in (("CODE0ABC", MANAGE, "booked", None),
                                        ("CODE1ABC", PURGED_MANAGE, "completed", at)):
        _run('INSERT INTO appointments (code, token, office_id, service_code, slot_id, date, '
             'start, "end", status, language, created_at, updated_at, cancel_reason, purged_at) '
             "VALUES (:code, :token, :office, 'marriage', :slot, :day, '09:00', '09:30', "
             ":status, 'zh_CN', :at, :at, '', :purged)", code=code, token=token, office=office,
             slot=slot, day=date(2026, 6, 15), status=status, at=at, purged=purged)
    active, purged = db.session.scalars(text("SELECT id FROM appointments ORDER BY id")).all()
    for appointment, position, number, sex, birth, phone, name in (
            (active, 0, GROOM, "M", date(1990, 1, 1), PHONES[0], "张小三"),
            (active, 1, BRIDE, "F", date(1992, 2, 2), PHONES[1], "李小红"),
            (purged, 0, GROOM, "M", date(1990, 1, 1), "", "张*三")):
        stored = appointment == active
        _run("INSERT INTO applicants (appointment_id, position, service_code, name, id_type, "
             "id_number_enc, id_hash, id_masked, active_hash, sex, birth_date, phone) VALUES "
             "(:appointment, :position, 'marriage', :name, 'resident_id', :enc, :hash, "
             ":masked, :active, :sex, :birth, :phone)", appointment=appointment,
             position=position, name=name, enc=encrypt(number) if stored else "",
             hash=keyed_hash(number), masked=number[:6] + "*" * 8 + number[-4:],
             active=keyed_hash(number) if stored else None, sex=sex, birth=birth, phone=phone)
    _run("INSERT INTO tickets (token, office_id, date, service_code, number, sequence, status, "
         "priority, green_channel, party_hashes, phone, language, issued_at, call_count, source)"
         " VALUES (:token, :office, :day, 'marriage', 'J001', 1, 'completed', 2, false, '[]', "
         ":phone, 'zh_CN', :at, 1, 'desk')", token=TICKET, office=office,
         day=date(2026, 6, 15), phone=WALK_IN, at=at)
    ticket = db.session.scalar(text("SELECT id FROM tickets"))
    _run("INSERT INTO rating_invites (token, ticket_id, created_at, expires_at) VALUES "
         "(:token, :ticket, :at, :until)", token=RATE, ticket=ticket, at=at,
         until=at.replace(year=2027))
    _run("INSERT INTO suggestions (token, office_id, category, text, name, phone, language, "
         "status, created_at, updated_at, reply, reply_sms_queued) VALUES (:token, :office, "
         "'advice', '希望周六也能办理结婚登记。', '李四', :phone, 'zh_CN', 'received', :at, :at, "
         "'', false)", token=SUGGESTION, office=office, phone=WRITER, at=at)
    for key, phone, body, status, error in (
            (f"booking_confirmed:{active}:{PHONES[0]}", PHONES[0],
             f"预约成功 http://localhost/a/{MANAGE}", "pending", ""),
            (f"reminder:{active}:2026-06-15:{PHONES[1]}", PHONES[1], "明天见", "sent", ""),
            ("rate:1", WALK_IN, f"请评价 http://localhost/rate/t/{RATE}", "failed",
             f"The 'To' number {WALK_IN} is not a valid phone number.")):
        _run("INSERT INTO outbox_messages (to_phone, body, kind, dedupe_key, status, attempts, "
             "next_attempt_at, error_message, created_at, updated_at) VALUES (:phone, :body, "
             "'reminder', :key, :status, 0, :at, :error, :at, :at)", phone=phone, body=body,
             key=key, status=status, error=error, at=at)
    _run("INSERT INTO sms_opt_outs (phone, created_at, source) VALUES (:phone, :at, 'inbound')",
         phone=STOPPED, at=at)
    db.session.commit()


def _all_stored_text() -> str:
    """Every value of every table the migrations made, read as stored."""
    texts = []
    for table in inspect(db.engine).get_table_names():
        for row in db.session.execute(text(f'SELECT * FROM "{table}"')):
            texts += [str(value) for value in row if value is not None]
    db.session.rollback()
    return "\n".join(texts)


def _count(table: str) -> int:
    return db.session.scalar(text(f"SELECT count(*) FROM {table}"))


def test_the_upgrade_encrypts_existing_rows_and_keeps_every_row(database_with_rows):
    from booking.models import Applicant, Appointment
    from notify.models import OutboxMessage
    from notify.outbox import is_opted_out, phone_hash

    counts = {t: _count(t) for t in ("appointments", "applicants", "tickets", "rating_invites",
                                     "suggestions", "outbox_messages", "sms_opt_outs")}
    db.session.rollback()
    upgrade(revision=REVISION)
    assert {t: _count(t) for t in counts} == counts  # nothing lost, nothing cascaded away

    stored = _all_stored_text()
    for clear in (GROOM, BRIDE, "1990-01-01", "19900101", "1992-02-02", "19920202",
                  *PHONES, PHONES[0][3:], WALK_IN, WALK_IN[3:], WRITER, STOPPED, MANAGE,
                  PURGED_MANAGE, TICKET, RATE, SUGGESTION, "预约成功", "明天见"):
        assert clear not in stored, clear

    db.session.rollback()
    upgrade()  # today's models read the rows: the later revisions keep them too
    applicants = db.session.scalars(select(Applicant).order_by(Applicant.id)).all()
    assert [a.id_masked for a in applicants] == [
        "5109**********1234", "5109**********002X", "5109**********1234"]
    assert [(a.phone, a.birth_date) for a in applicants] == [
        (PHONES[0], date(1990, 1, 1)), (PHONES[1], date(1992, 2, 2)), ("", None)]
    assert db.session.scalar(select(Appointment.token).where(
        Appointment.token_hash == secret_hash(MANAGE))) == MANAGE
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.to_phone for m in messages] == [PHONES[0], PHONES[1], WALK_IN]
    assert messages[0].body == f"预约成功 http://localhost/a/{MANAGE}"
    assert [m.to_phone_hash for m in messages] == [phone_hash(m.to_phone) for m in messages]
    assert messages[0].dedupe_key == f"booking_confirmed:1:{phone_hash(PHONES[0])}"
    assert messages[1].dedupe_key == f"reminder:1:2026-06-15:{phone_hash(PHONES[1])}"
    assert messages[2].error_message == "The 'To' number +86137****7000 is not a valid phone number."
    assert is_opted_out(STOPPED) and not is_opted_out(WRITER)
    db.session.rollback()

    # the links people hold still work (on the schema of today's models)
    upgrade()
    client = database_with_rows.test_client()
    assert client.get(f"/api/v1/appointments/{MANAGE}").get_json()["code"] == "CODE0ABC"
    assert client.get(f"/api/v1/tickets/{TICKET}").status_code == 200
    assert client.get(f"/rate/t/{RATE}").status_code == 200
    assert client.get(f"/suggestions/t/{SUGGESTION}").status_code == 200
    db.session.remove()

    # and the downgrade gives the clear columns back
    downgrade(revision=BEFORE)
    restored = db.session.execute(text("SELECT birth_date, phone FROM applicants ORDER BY id"))
    assert [(str(birth), phone) for birth, phone in restored][:2] == [  # SQLite: text dates
        ("1990-01-01", PHONES[0]), ("1992-02-02", PHONES[1])]
    assert db.session.scalar(text("SELECT token FROM appointments ORDER BY id")) == MANAGE
    assert db.session.scalar(text("SELECT phone FROM sms_opt_outs")) == STOPPED
    assert db.session.scalar(text("SELECT to_phone FROM outbox_messages ORDER BY id")) == PHONES[0]
    assert {t: _count(t) for t in counts} == counts
    db.session.remove()

