"""PostgreSQL stops under load (a private server, never the shared one): while it is down
every request gets a clear 503 with Retry-After (problem+json on the API), never a 500 or a
hang; when it is back the same gunicorn workers serve again, with no restart."""

import threading
import time
import uuid

import pytest
import requests
from sqlalchemy import text

from bench.database import CHECKS
from tests.conftest import make_app
from tests.robustness.helpers import MONDAY, NOW, OFFICE_TOML, SERVER_ENV, TUESDAY, booking
from tests.robustness.private_pg import PrivatePostgres, unavailable_reason
from tests.support.databases import in_ci
from tests.support.live import live_server
from tests.support.processes import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

STARTS = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "13:30", "14:00"]
BOOK, AVAILABILITY, PAGE = "book", "availability", "page"
MIXED = "mixed"  # a request under way while the phase changed


@pytest.fixture
def private_postgres():
    reason = unavailable_reason()
    if reason is not None:
        if in_ci():
            pytest.fail(f"cannot start a private PostgreSQL server: {reason}")
        pytest.skip(f"cannot start a private PostgreSQL server: {reason}")
    server = PrivatePostgres().init()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def _prepare(url: str) -> None:
    from core.extensions import db
    from offices.loader import load_offices

    app = make_app(url, FROZEN_NOW=NOW)
    with app.app_context():
        db.create_all()
        # seats enough that the booking loop never runs out of them: a 409 after the
        # restart would hide whether service resumed
        load_offices(OFFICE_TOML.replace("marriage = 3", "marriage = 5000"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


class Load:
    """Three clients booking, reading availability and opening a page in a loop; each
    answer is recorded with the phase in which its request started and ended, or "mixed"
    when the phase changed while it was under way."""

    def __init__(self, base: str):
        self.base = base
        self.phase = "before"
        self.records: list[tuple[str, str, object]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._count = 0
        self._threads = [threading.Thread(target=self._client, args=(kind,))
                         for kind in (BOOK, AVAILABILITY, PAGE)]

    def _next(self) -> int:
        with self._lock:
            self._count += 1
            return self._count

    def _send(self, kind: str):
        if kind == BOOK:
            i = self._next()
            return requests.post(f"{self.base}/api/v1/appointments", timeout=20,
                                 json=booking(20_000 + i, day=(MONDAY, TUESDAY)[i % 2],
                                              start=STARTS[i % len(STARTS)]))
        if kind == AVAILABILITY:
            return requests.get(f"{self.base}/api/v1/offices/robust/availability", timeout=20,
                                params={"service": "marriage", "from": MONDAY, "days": 2})
        return requests.get(f"{self.base}/book/robust", timeout=20)

    def _client(self, kind: str) -> None:
        while not self._stop.is_set():
            phase = self.phase
            started = time.monotonic()
            try:
                answer = self._send(kind)
            except requests.RequestException as error:
                answer = error
            if self.phase != phase:
                phase = MIXED
            self.records.append((phase, kind, answer, time.monotonic() - started))
            time.sleep(0.05)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def of(self, phase: str) -> list:
        return [r for r in self.records if r[0] == phase]


def _booked(answer) -> bool:
    return not isinstance(answer, Exception) and answer.status_code == 201


def _describe(records) -> list:
    out = []
    for _phase, kind, answer, _seconds in records:
        if isinstance(answer, Exception):
            out.append((kind, type(answer).__name__))
        else:
            out.append((kind, answer.status_code))
    return out


def test_postgres_stops_and_returns_under_load(private_postgres, tmp_path):
    url = private_postgres.create_database(f"xiyue_{uuid.uuid4().hex[:8]}")
    _prepare(url)
    with live_server(url, tmp_path, workers=2, env=SERVER_ENV) as server:
        workers = sorted(server.worker_pids())
        load = Load(server.url)
        load.start()
        try:
            wait_for(lambda: any(kind == BOOK and _booked(a) for _p, kind, a, _s in
                                 load.of("before")), 30, "a booking served before the stop")
            private_postgres.stop("fast")
            load.phase = "down"
            time.sleep(1)
            wait_for(lambda: {k for _p, k, a, _s in load.of("down")
                              if not isinstance(a, Exception) and a.status_code == 503}
                     == {BOOK, AVAILABILITY, PAGE}, 20, "a 503 for each kind of request")
            load.phase = "restarting"
            private_postgres.start()
            restarted = time.monotonic()
            load.phase = "after"
            recovered = None
            while time.monotonic() - restarted < 20:
                if any(kind == BOOK and _booked(a) for _p, kind, a, _s in load.of("after")):
                    recovered = time.monotonic() - restarted
                    break
                time.sleep(0.1)
            time.sleep(1.5)
        finally:
            load.stop()
        log = server.log()

        before, down, after = load.of("before"), load.of("down"), load.of("after")
        assert before and down and after
        # before, and those under way as a phase changed: served, or a clear 503
        unexpected = [(k, a if isinstance(a, Exception) else (a.status_code, a.text[:200]))
                      for _p, k, a, _s in before + load.of(MIXED)
                      if isinstance(a, Exception) or a.status_code not in (200, 201, 409, 503)]
        assert unexpected == [], log[-4000:]
        assert any(a.status_code == 201 for _p, _k, a, _s in before), _describe(before)
        assert not any(isinstance(a, Exception) or a.status_code == 500
                       for _p, _k, a, _s in load.of("restarting"))
        # down: every request answered at once with a clear 503, never a 500 or a hang
        assert all(not isinstance(a, Exception) for _p, _k, a, _s in down), _describe(down)
        # a booking needs the database: 503; a read the process can answer from its short
        # cache of offices and day plans (booking.cache) may still be a 200
        assert {a.status_code for _p, k, a, _s in down if k == BOOK} == {503}, _describe(down)
        assert {a.status_code for _p, _k, a, _s in down} <= {200, 503}, _describe(down)
        assert {k for _p, k, a, _s in down if a.status_code == 503} == {BOOK, AVAILABILITY, PAGE}
        assert max(seconds for _p, _k, _a, seconds in down) < 10
        for _phase, kind, answer, _seconds in down:
            if answer.status_code == 200:
                continue
            assert answer.headers.get("Retry-After"), kind
            if kind == PAGE:
                assert answer.headers["Content-Type"].startswith("text/html")
                assert "稍后再试" in answer.text
            else:
                assert answer.headers["Content-Type"] == "application/problem+json"
                assert answer.json()["code"] == "service_unavailable"
                assert answer.json()["status"] == 503
        assert {kind for _p, kind, _a, _s in down} == {BOOK, AVAILABILITY, PAGE}
        # back: bookings succeed again within seconds, on the same workers
        assert recovered is not None, _describe(after) + [log[-3000:]]
        assert not any(isinstance(a, Exception) or a.status_code == 500
                       for _p, _k, a, _s in after), _describe(after)
        tail = after[-6:]
        assert all(a.status_code < 500 for _p, _k, a, _s in tail), _describe(tail)
        assert sorted(server.worker_pids()) == workers
        assert "Traceback" not in log, log[-3000:]

    # what was booked is whole: seats and appointments agree
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as conn:
        assert {name: conn.execute(text(sql)).scalar() for name, sql in CHECKS.items()} == \
            dict.fromkeys(CHECKS, 0)
        booked = [a.json()["code"] for _p, kind, a, _s in load.records
                  if kind == BOOK and _booked(a)]
        found = {row[0] for row in conn.execute(text("SELECT code FROM appointments"))}
        assert booked and set(booked) <= found
    engine.dispose()
