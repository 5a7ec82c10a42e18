"""Where a booking's time goes: cProfile over bookings made in-process through Flask's test
client (the same view, service and database code as over HTTP, without gunicorn and the
socket). Writes the top functions and the share of time per package."""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections import defaultdict

from bench.scenarios import booking_body

GROUPS = (
    ("sqlalchemy", "sqlalchemy/"), ("psycopg (PostgreSQL driver)", "psycopg/"),
    ("sqlite3", "sqlite3"), ("cryptography (Fernet)", "cryptography/"),
    ("flask / werkzeug", ("flask/", "werkzeug/")), ("flask_limiter", "flask_limiter/"),
    ("flask_babel / babel", ("flask_babel", "babel/")), ("jinja2", "jinja2/"),
    ("xiyue: booking", "/booking/"), ("xiyue: hours", "/hours/"),
    ("xiyue: notify", "/notify/"), ("xiyue: core", "/core/"), ("xiyue: offices", "/offices/"),
)


def _group(filename: str) -> str:
    for name, needles in GROUPS:
        for needle in (needles if isinstance(needles, tuple) else (needles,)):
            if needle in filename:
                return name
    return "other (stdlib, json, logging…)"


def profile_bookings(database_url: str, frozen_now: str, day: str, first_index: int,
                     count: int) -> dict:
    from bench.database import make_app

    app = make_app(database_url, frozen_now)
    client = app.test_client()
    starts = [s["start"] for s in client.get(
        "/api/v1/offices/bench/availability",
        query_string={"service": "marriage", "from": day, "days": 1}).get_json()["days"][0]["slots"]]
    # warm up: imports, first connections, caches
    for i in range(5):
        client.post("/api/v1/appointments",
                    json=booking_body(first_index + count + i, day, starts[i % len(starts)]))
    profiler = cProfile.Profile()
    statuses: dict[int, int] = defaultdict(int)
    started = time.perf_counter()
    profiler.enable()
    for i in range(count):
        answer = client.post("/api/v1/appointments",
                             json=booking_body(first_index + i, day, starts[i % len(starts)]))
        statuses[answer.status_code] += 1
    profiler.disable()
    wall = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    own: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        own[_group(filename)] += tottime
    total = sum(own.values()) or 1.0
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(35)
    tottime_text = io.StringIO()
    pstats.Stats(profiler, stream=tottime_text).sort_stats("tottime").print_stats(25)
    return {
        "bookings": count, "statuses": dict(statuses),
        "ms_per_booking_profiled": round(wall / count * 1000, 2),
        "share_by_package": {k: round(v / total, 3)
                             for k, v in sorted(own.items(), key=lambda kv: -kv[1])},
        "cumulative": _trim(text.getvalue()), "tottime": _trim(tottime_text.getvalue()),
    }


def statements_per_booking(database_url: str, frozen_now: str, day: str, index: int) -> list[str]:
    """The SQL statements one booking sends (after a warm-up booking), first line of each."""
    from sqlalchemy import event

    from bench.database import make_app
    from core.extensions import db

    app = make_app(database_url, frozen_now)
    client = app.test_client()
    client.post("/api/v1/appointments", json=booking_body(index + 1, day, "11:00"))
    sent: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(_conn, _cursor, statement, _params, _context, _many):
        sent.append(" ".join(statement.split())[:100])

    event.listen(engine, "before_cursor_execute", record)
    try:
        answer = client.post("/api/v1/appointments", json=booking_body(index, day, "11:30"))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    if answer.status_code != 201:
        raise RuntimeError(f"booking for the statement count answered {answer.status_code}")
    return sent


def time_bookings(database_url: str, frozen_now: str, day: str, first_index: int,
                  count: int) -> float:
    """Milliseconds per booking in-process without the profiler (its overhead inflates)."""
    from bench.database import make_app

    app = make_app(database_url, frozen_now)
    client = app.test_client()
    starts = ["08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    client.post("/api/v1/appointments", json=booking_body(first_index + count, day, "12:00"))
    started = time.perf_counter()
    for i in range(count):
        client.post("/api/v1/appointments",
                    json=booking_body(first_index + i, day, starts[i % len(starts)]))
    return round((time.perf_counter() - started) / count * 1000, 2)


def _trim(report: str) -> str:
    lines = report.splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    import sysconfig

    from bench.servers import PROJECT_ROOT

    prefixes = (sysconfig.get_paths()["purelib"] + "/", str(PROJECT_ROOT) + "/")
    out = []
    for line in lines[start:]:
        if line.strip():
            for prefix in prefixes:
                line = line.replace(prefix, "")
            out.append(line)
    return "\n".join(out)
