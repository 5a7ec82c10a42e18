"""Two app servers (two ports, standing for two hosts, each gunicorn with its own workers)
against one PostgreSQL database: whatever one server does, the other sees at once, and
races across the two are settled by the database exactly as on one (docs/deploy.md)."""

import pytest
import requests

from tests.robustness.helpers import MONDAY, SERVER_ENV, booking, ids_of
from tests.support.races import codes, fire, post

pytestmark = pytest.mark.slow


@pytest.fixture
def two_servers(db_backend, robust_office, live_server_for):
    if db_backend != "postgres":
        pytest.skip("two hosts share a PostgreSQL server (an SQLite file serves one host)")
    first = live_server_for(workers=2, env=SERVER_ENV)
    second = live_server_for(workers=2, env=SERVER_ENV)
    return first.url, second.url


def _remaining(base: str, start: str = "09:00", day: str = MONDAY) -> int:
    body = requests.get(f"{base}/api/v1/offices/robust/availability",
                        params={"service": "marriage", "from": day, "days": 1}, timeout=30).json()
    return next(s["remaining"] for s in body["days"][0]["slots"] if s["start"] == start)


def test_bookings_are_the_same_on_both_servers(two_servers):
    a, b = two_servers
    made = requests.post(f"{a}/api/v1/appointments", json=booking(1), timeout=30)
    assert made.status_code == 201, made.text
    token = made.json()["token"]

    seen = requests.get(f"{b}/api/v1/appointments/{token}", timeout=30)
    assert seen.status_code == 200
    assert seen.json()["code"] == made.json()["code"]
    assert seen.json()["status"] == "booked"
    assert _remaining(a) == _remaining(b) == 2

    # the last two seats, raced for by twelve couples through both servers at once
    calls = [post(f"{(a, b)[i % 2]}/api/v1/appointments", booking(100 + i)) for i in range(12)]
    assert codes(fire(calls)) == {201: 2, "slot_full": 10}
    assert _remaining(a) == _remaining(b) == 0

    # cancelled on one server: the seat is free on the other
    cancelled = requests.post(f"{b}/api/v1/appointments/{token}/cancel", json={}, timeout=30)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert requests.get(f"{a}/api/v1/appointments/{token}", timeout=30).json()["status"] == \
        "cancelled"
    assert _remaining(a) == 1


def test_one_couple_booking_through_both_servers_gets_one_appointment(two_servers):
    a, b = two_servers
    starts = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "13:30", "14:00"]
    calls = [post(f"{(a, b)[i % 2]}/api/v1/appointments", booking(7, start=start))
             for i, start in enumerate(starts)]
    assert codes(fire(calls)) == {201: 1, "already_booked": len(starts) - 1}
    remaining = [_remaining(server, start) for server in (a, b) for start in starts]
    assert sum(remaining) == 2 * (3 * len(starts) - 1)


def _display(base: str) -> requests.Response:
    return requests.get(f"{base}/api/v1/offices/robust/display", timeout=30)


def test_tickets_calls_and_the_display_agree_across_servers(two_servers, staff_headers):
    a, b = two_servers
    desk = staff_headers("desk", office="robust")
    registrar = staff_headers("registrar", office="robust")

    # walk-ins issued through both servers at once: one gapless sequence of numbers
    calls = [post(f"{(a, b)[i % 2]}/api/v1/offices/robust/tickets",
                  {"service": "marriage", "present": ids_of(500 + i)}, desk)
             for i in range(10)]
    issued = fire(calls)
    assert codes(issued) == {201: 10}
    numbers = sorted(r.json()["number"] for r in issued)
    assert numbers == [f"J{n:03d}" for n in range(1, 11)]

    # three windows call at the same moment, through different servers: three tickets
    calls = [post(f"{(a, b, a)[w - 1]}/api/v1/offices/robust/windows/{w}/call-next", {},
                  registrar) for w in (1, 2, 3)]
    answers = fire(calls)
    assert codes(answers) == {200: 3}
    called = {r.json()["ticket"]["number"]: r.json()["ticket"]["window"] for r in answers}
    assert sorted(called) == ["J001", "J002", "J003"]
    assert sorted(called.values()) == ["1", "2", "3"]

    # both servers show the same hall: the same calls, the same waiting count, the same ETag
    state_a, state_b = _display(a), _display(b)
    assert state_a.json() == state_b.json()
    assert state_a.headers["ETag"] == state_b.headers["ETag"]
    shown = {c["number"]: c["window"] for c in state_a.json()["calling"]}
    assert shown == called
    assert state_a.json()["waiting"]["marriage"] == 7
    unchanged = requests.get(f"{b}/api/v1/offices/robust/display", timeout=30,
                             headers={"If-None-Match": state_a.headers["ETag"]})
    assert unchanged.status_code == 304

    # a ticket called through one server is completed through the other
    first = next(r.json()["ticket"] for r in answers if r.json()["ticket"]["number"] == "J001")
    done = requests.post(f"{b}/api/v1/tickets/{first['id']}/complete",
                         json={"outcome": "registered"}, headers=registrar, timeout=30)
    assert done.status_code == 200, done.text
    token = next(r.json()["token"] for r in issued if r.json()["number"] == "J001")
    status = requests.get(f"{a}/api/v1/tickets/{token}", timeout=30).json()
    assert status["status"] == "completed"
    # the display changed, and both servers say so
    assert _display(a).headers["ETag"] == _display(b).headers["ETag"] != state_a.headers["ETag"]
