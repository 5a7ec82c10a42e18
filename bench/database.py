"""The benchmark's databases: made fresh for each run (an SQLite file, a PostgreSQL database
of its own), given the schema, the offices and staff accounts; checked after each rush; and,
for the scale figures, filled with a million past appointments in one INSERT … SELECT over
generate_series per table."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support import databases

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCH_OFFICE = Path(__file__).resolve().parent / "office.toml"
DEFAULT_OFFICES = PROJECT_ROOT / "config" / "offices.toml"
BENCH_SECRET = "bench-secret-key-not-for-production"
PG_ADMIN_URL = os.environ.get("XIYUE_BENCH_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
STAFF_PASSWORD = "bench-password-2026"


def create_pg_database() -> str:
    return databases.create_pg_database("xiyue_bench", PG_ADMIN_URL)


def drop_pg_database(url: str) -> None:
    databases.drop_pg_database(url, PG_ADMIN_URL)


def make_app(database_url: str, frozen_now: str | None = None):
    from wsgi import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": BENCH_SECRET,
                       "RATELIMIT_ENABLED": False, "FROZEN_NOW": frozen_now,
                       "SMS_BACKEND": "console"})


def prepare(database_url: str) -> dict:
    """Schema, the default offices and the bench office, staff accounts and API tokens.
    Returns {"tokens": {role: bearer token}, "office": "bench"}."""
    from core.auth import issue_token
    from core.extensions import db
    from offices.loader import load_offices_file
    from staff.services import create_user

    app = make_app(database_url)
    with app.app_context():
        db.create_all()
        load_offices_file(DEFAULT_OFFICES)
        load_offices_file(BENCH_OFFICE)
        db.session.commit()
        tokens = {}
        for role in ("admin", "desk", "registrar"):
            office = None if role == "admin" else "bench"
            user = create_user(f"bench-{role}", role, STAFF_PASSWORD, office)
            token, _ = issue_token(user)
            db.session.commit()
            tokens[role] = token
        db.session.remove()
        db.engine.dispose()
    return {"tokens": tokens, "office": "bench", "password": STAFF_PASSWORD}


def server_env(database_url: str, frozen_now: str | None, extra: dict | None = None) -> dict:
    env = {"DATABASE_URL": database_url, "SECRET_KEY": BENCH_SECRET,
           "XIYUE_RATELIMIT_ENABLED": "false", "SMS_BACKEND": "console",
           "PYTHONDONTWRITEBYTECODE": "1"}
    if frozen_now:
        env["XIYUE_FROZEN_NOW"] = frozen_now
    env.update(extra or {})
    return env


def engine_for(database_url: str):
    url = database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url)


# --- checks after a rush ----------------------------------------------------------------------

CHECKS = {
    "slots_over_capacity": "SELECT count(*) FROM slots WHERE booked > capacity",
    "slots_with_more_active_appointments_than_seats": """
        SELECT count(*) FROM (
          SELECT s.id FROM slots s JOIN appointments a ON a.slot_id = s.id
          WHERE a.status IN ('booked', 'checked_in')
          GROUP BY s.id, s.capacity HAVING count(*) > s.capacity) x""",
    "slots_whose_seat_count_differs_from_appointments": """
        SELECT count(*) FROM slots s WHERE s.booked <> (
          SELECT count(*) FROM appointments a
          WHERE a.slot_id = s.id AND a.status NOT IN ('cancelled'))""",
    "people_with_two_active_bookings_of_a_service": """
        SELECT count(*) FROM (
          SELECT p.id_hash, p.service_code FROM applicants p
          JOIN appointments a ON a.id = p.appointment_id
          WHERE a.status IN ('booked', 'checked_in')
          GROUP BY p.id_hash, p.service_code HAVING count(*) > 1) x""",
}


def integrity(database_url: str, codes: list[str] | None = None) -> dict:
    """Every check's count (0 is right); `missing_201` counts booked codes not in the
    database."""
    engine = engine_for(database_url)
    out = {}
    with engine.connect() as conn:
        for name, sql in CHECKS.items():
            out[name] = int(conn.execute(text(sql)).scalar())
        if codes is not None:
            found = set()
            for start in range(0, len(codes), 500):
                chunk = codes[start:start + 500]
                found |= {row[0] for row in conn.execute(
                    text("SELECT code FROM appointments WHERE code IN :codes")
                    .bindparams(_expanding("codes")), {"codes": chunk})}
            out["booked_201_missing_in_database"] = len(set(codes) - found)
        out["appointments_active"] = int(conn.execute(text(
            "SELECT count(*) FROM appointments WHERE status IN ('booked', 'checked_in')"))
            .scalar())
    engine.dispose()
    return out


def _expanding(name: str):
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)


def outbox_counts(database_url: str) -> dict[str, int]:
    engine = engine_for(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, count(*) FROM outbox_messages GROUP BY status"))
        out = {row[0]: int(row[1]) for row in rows}
    engine.dispose()
    return out


# --- a million past appointments (PostgreSQL) --------------------------------------------------

def _fernet_pool(database_url: str, size: int = 500) -> list[dict]:
    """Real ciphertexts under the bench keys, reused across fake rows: of valid ID numbers,
    their birth dates, phone numbers and link tokens (every personal value is encrypted at
    rest, core.privacy)."""
    import secrets

    from bench.ids import couple
    from core.privacy import encrypt

    app = make_app(database_url)
    with app.app_context():
        pool = []
        for i in range(size // 2):
            for person in couple(50_000_000 + i):
                birth = person["id_number"][6:14]
                pool.append({"enc": encrypt(person["id_number"]),
                             "birth": encrypt(f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"),
                             "phone": encrypt("+86" + person["phone"]),
                             "token": encrypt(secrets.token_urlsafe(24))})
    return pool


def load_history(database_url: str, appointments: int, today: str, days: int = 1000) -> dict:
    """`appointments` past appointments over the `days` before `today` (YYYY-MM-DD), at every
    office, with their applicants (encrypted ID numbers, hashes, masks), slots and — for the
    completed and no-show ones — tickets. Well-formed rows a real history could hold."""
    pool = _fernet_pool(database_url)
    engine = engine_for(database_url)
    timings = {}
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE fernet_pool (i int PRIMARY KEY, enc text, "
                          "birth text, phone text, token text)"))
        conn.execute(text("INSERT INTO fernet_pool VALUES (:i, :enc, :birth, :phone, :token)"),
                     [{"i": i, **values} for i, values in enumerate(pool)])
        params = {"n": appointments, "today": today, "days": days, "pool": len(pool)}
        for name, sql in HISTORY_SQL:
            started = time.perf_counter()
            conn.execute(text(sql), params)
            timings[name] = round(time.perf_counter() - started, 1)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        started = time.perf_counter()
        for table in ("slots", "appointments", "applicants", "tickets"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
        timings["vacuum_analyze"] = round(time.perf_counter() - started, 1)
        counts = {table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar())
                  for table in ("appointments", "applicants", "tickets", "slots")}
    engine.dispose()
    return {"seconds": timings, "rows": counts}


# Appointment g (1..n): office, day, start and service spread evenly; 80 % completed, 5 %
# no-show, 15 % cancelled. Codes "P" + 11 hex characters can never equal a live code (live
# codes are shorter); token hashes are 64 hex characters no live token hashes to, and the
# encrypted tokens, phones and birth dates come from the pool. Rows are told from live ones
# by id.
HISTORY_SQL = [
    ("mark", "CREATE TEMP TABLE mark AS SELECT coalesce(max(id), 0) AS last FROM appointments"),
    ("plan", """
     CREATE TEMP TABLE history AS
     WITH o AS (SELECT array_agg(id ORDER BY id) AS ids FROM offices),
          s AS (SELECT ARRAY['08:30','09:00','09:30','10:00','10:30','11:00','11:30','13:30',
                             '14:00','14:30','15:00','15:30','16:00','16:30'] AS starts)
     SELECT g,
            o.ids[1 + (g / :days) % array_length(o.ids, 1)] AS office_id,
            CASE WHEN g % 10 < 8 THEN 'marriage' WHEN g % 10 = 8 THEN 'divorce'
                 ELSE 'reissue' END AS service_code,
            (CAST(:today AS date) - 1 - (g % :days)) AS day,
            s.starts[1 + (g / (:days * 7)) % 14] AS start,
            CASE WHEN g % 20 = 0 THEN 'no_show' WHEN g % 20 IN (1, 2, 3) THEN 'cancelled'
                 ELSE 'completed' END AS status
     FROM generate_series(1, :n) AS g, o, s"""),
    ("slots", """
     INSERT INTO slots (office_id, service_code, date, start, "end", capacity, booked)
     SELECT office_id, service_code, day, start,
            to_char(CAST(start AS time) + interval '30 minutes', 'HH24:MI'),
            200, count(*) FILTER (WHERE status <> 'cancelled')
     FROM history GROUP BY office_id, service_code, day, start"""),
    ("appointments", """
     INSERT INTO appointments (code, token_enc, token_hash, office_id, service_code, slot_id,
                               date, start, "end", status, language, channel, created_at,
                               updated_at, checked_in_at, cancelled_at, cancel_reason,
                               completed_at, no_show_at, reminder_queued_at)
     SELECT 'P' || upper(lpad(to_hex(h.g), 11, '0')),
            (SELECT f.token FROM fernet_pool f WHERE f.i = h.g % :pool),
            md5(h.g || 'a') || md5(h.g || 'b'),
            h.office_id, h.service_code, sl.id, h.day, h.start, sl."end", h.status, 'zh_CN',
            'online', (h.day - 12)::timestamp AT TIME ZONE 'Asia/Shanghai',
            (h.day + 1)::timestamp AT TIME ZONE 'Asia/Shanghai',
            CASE WHEN h.status = 'completed'
                 THEN (h.day + CAST(h.start AS time) - interval '10 minutes')
                      AT TIME ZONE 'Asia/Shanghai' END,
            CASE WHEN h.status = 'cancelled'
                 THEN (h.day - 3)::timestamp AT TIME ZONE 'Asia/Shanghai' END,
            '',
            CASE WHEN h.status = 'completed'
                 THEN (h.day + CAST(h.start AS time) + interval '25 minutes')
                      AT TIME ZONE 'Asia/Shanghai' END,
            CASE WHEN h.status = 'no_show'
                 THEN (h.day + CAST(h.start AS time) + interval '30 minutes')
                      AT TIME ZONE 'Asia/Shanghai' END,
            CASE WHEN h.status <> 'cancelled'
                 THEN (h.day - 1 + time '18:00') AT TIME ZONE 'Asia/Shanghai' END
     FROM history h JOIN slots sl ON sl.office_id = h.office_id
          AND sl.service_code = h.service_code AND sl.date = h.day AND sl.start = h.start
     ORDER BY h.day, h.g"""),
    ("applicants", """
     INSERT INTO applicants (appointment_id, position, service_code, name, id_type,
                             id_number_enc, id_hash, id_masked, active_hash, sex,
                             birth_date_enc, phone_enc)
     SELECT a.id, p.pos, a.service_code,
            (ARRAY['王','李','张','刘','陈','杨','黄','赵'])[1 + (a.id + p.pos) % 8]
              || (ARRAY['伟','芳','娜','敏','静','磊','军','洋'])[1 + (a.id / 8) % 8]
              || (ARRAY['华','英','明','红','平','杰','丽','涛'])[1 + (a.id / 64 + p.pos) % 8],
            'resident_id', f.enc,
            encode(sha256(convert_to(a.id || ':' || p.pos, 'UTF8')), 'hex'),
            '5109**********' || lpad(CAST((a.id * 2 + p.pos) % 10000 AS text), 4, '0'),
            NULL,
            CASE WHEN p.pos = 0 THEN 'M' ELSE 'F' END,
            f.birth, f.phone
     FROM appointments a
     CROSS JOIN LATERAL generate_series(0, CASE WHEN a.service_code = 'reissue' THEN 0
                                                ELSE 1 END) AS p(pos)
     JOIN fernet_pool f ON f.i = (a.id * 2 + p.pos) % :pool
     WHERE a.id > (SELECT last FROM mark)"""),
    ("tickets", """
     INSERT INTO tickets (token_enc, token_hash, office_id, date, service_code, number,
                          sequence, status, priority, green_channel, slot_start,
                          appointment_id, party_hashes, phone_enc, language, issued_at,
                          window_id, called_at, call_count, completed_at, outcome,
                          refusal_reason, source)
     SELECT (SELECT f.token FROM fernet_pool f WHERE f.i = a.id % :pool),
            md5(a.id || 't') || md5(a.id || 'u'), a.office_id, a.date, a.service_code,
            CASE a.service_code WHEN 'marriage' THEN 'J' WHEN 'divorce' THEN 'L' ELSE 'B' END
              || lpad(CAST(row_number() OVER w AS text), 3, '0'),
            row_number() OVER w,
            CASE WHEN a.status = 'completed' THEN 'completed' ELSE 'no_show' END,
            0, false, a.start, a.id, '[]', '', 'zh_CN',
            (a.date + CAST(a.start AS time) - interval '10 minutes') AT TIME ZONE 'Asia/Shanghai',
            NULL,
            (a.date + CAST(a.start AS time) + interval '5 minutes') AT TIME ZONE 'Asia/Shanghai',
            1,
            CASE WHEN a.status = 'completed' THEN a.completed_at END,
            CASE WHEN a.status = 'completed'
                 THEN CASE WHEN a.id % 50 = 0 THEN 'refused' ELSE 'registered' END END,
            CASE WHEN a.status = 'completed' AND a.id % 50 = 0 THEN 'documents_incomplete' END,
            'desk'
     FROM appointments a
     WHERE a.id > (SELECT last FROM mark) AND a.status IN ('completed', 'no_show')
     WINDOW w AS (PARTITION BY a.office_id, a.date, a.service_code ORDER BY a.start, a.id)"""),
]
