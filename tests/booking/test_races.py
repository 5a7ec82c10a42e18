"""Over-booking races over real HTTP: gunicorn with 4 worker processes, on SQLite and on
PostgreSQL. The database must let exactly as many through as there are seats."""

from collections import Counter
from datetime import date

import pytest
import requests
from sqlalchemy import func, select

from booking.models import Appointment, Slot
from core.extensions import db
from offices.loader import load_offices
from tests.booking.helpers import MONDAY, NOW, TUESDAY, person
from tests.booking.ids import make_id
from tests.support.races import codes, fire, post

RACE_OFFICE = """
[[offices]]
code = "race"
name = "竞速测试登记处"
timezone = "Asia/Shanghai"
services = ["marriage", "reissue"]
slot_minutes = 30
booking_days_ahead = 30

  [offices.hours]
  mon = ["09:00-12:00", "13:30-17:00"]
  tue = ["09:00-12:00", "13:30-17:00"]

  [offices.capacity]
  marriage = 5
  reissue = 5
"""
SERVER_ENV = {"XIYUE_FROZEN_NOW": NOW}
REQUESTS = 50


@pytest.fixture
def race_office(app, set_now):
    set_now(NOW)
    load_offices(RACE_OFFICE)
    db.session.commit()


def _couple(i: int) -> list[dict]:
    return [
        {"name": "张三", "id_type": "resident_id", "phone": "13800138000",
         "id_number": make_id(f"19{60 + i // 12:02d}{1 + i % 12:02d}01", "M", serial=i)},
        {"name": "李四", "id_type": "resident_id", "phone": "13900139000",
         "id_number": make_id(f"19{70 + i // 12:02d}{1 + i % 12:02d}01", "F", serial=i)},
    ]


def _remaining(server, day: str, start: str, service: str = "marriage") -> int:
    body = requests.get(f"{server.url}/api/v1/offices/race/availability",
                        params={"service": service, "from": day, "days": 1}, timeout=30).json()
    return next(s["remaining"] for s in body["days"][0]["slots"] if s["start"] == start)


def _booked(start: str, day: str = MONDAY) -> int:
    db.session.rollback()  # see what the server committed
    return db.session.scalar(select(Slot.booked).where(
        Slot.start == start, Slot.date == date.fromisoformat(day))) or 0


def test_fifty_couples_race_for_five_seats(race_office, live_server_for):
    server = live_server_for(workers=4, env=SERVER_ENV)
    url = f"{server.url}/api/v1/appointments"
    calls = [post(url, {"office": "race", "service": "marriage", "date": MONDAY,
                         "start": "09:00", "applicants": _couple(i)})
             for i in range(REQUESTS)]
    responses = fire(calls)
    assert codes(responses) == {201: 5, "slot_full": REQUESTS - 5}, server.log()[-3000:]
    assert _remaining(server, MONDAY, "09:00") == 0
    assert _booked("09:00") == 5
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 5
    assert len(server.worker_pids()) == 4


def test_one_couple_racing_for_many_slots_gets_one(race_office, live_server_for):
    server = live_server_for(workers=4, env=SERVER_ENV)
    url = f"{server.url}/api/v1/appointments"
    couple = _couple(0)
    starts = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "13:30", "14:00",
              "14:30", "15:00", "15:30", "16:00", "16:30"]
    calls = [post(url, {"office": "race", "service": "marriage", "date": day,
                         "start": start, "applicants": couple})
             for day in (MONDAY, TUESDAY) for start in starts]
    responses = fire(calls)
    assert codes(responses) == {201: 1, "already_booked": len(calls) - 1}, server.log()[-3000:]
    db.session.rollback()
    assert db.session.scalar(select(func.sum(Slot.booked))) == 1
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1


def test_reschedules_race_into_the_last_seat(race_office, client, live_server_for):
    tokens = []
    # four of five seats at 09:00 taken; twenty more couples elsewhere (5 per slot)
    for i in range(24):
        start = "09:00" if i < 4 else ["10:00", "10:30", "11:00", "11:30"][(i - 4) // 5]
        response = client.post("/api/v1/appointments", json={
            "office": "race", "service": "marriage", "date": MONDAY, "start": start,
            "applicants": _couple(i)})
        assert response.status_code == 201, response.get_json()
        tokens.append(response.get_json()["token"])
    db.session.commit()
    server = live_server_for(workers=4, env=SERVER_ENV)
    calls = [post(f"{server.url}/api/v1/appointments/{token}/reschedule",
                   {"date": MONDAY, "start": "09:00"}) for token in tokens[4:]]
    responses = fire(calls)
    assert codes(responses) == {200: 1, "slot_full": 19}, server.log()[-3000:]
    assert _remaining(server, MONDAY, "09:00") == 0
    assert _booked("09:00") == 5
    # the winner left one seat behind; everybody else kept theirs
    assert sorted(_booked(s) for s in ("10:00", "10:30", "11:00", "11:30")) == [4, 5, 5, 5]
    moved = [r.json()["token"] for r in responses if r.status_code == 200]
    assert len(moved) == 1
    starts = Counter(db.session.scalars(select(Appointment.start)))
    assert starts["09:00"] == 5 and sum(starts.values()) == 24


def test_bookings_and_cancellations_race_without_losing_seats(race_office, client,
                                                               live_server_for):
    tokens = []
    for i in range(5):
        response = client.post("/api/v1/appointments", json={
            "office": "race", "service": "reissue", "date": MONDAY, "start": "09:00",
            "applicants": [person("王五", "M", f"198{i}0101")]})
        tokens.append(response.get_json()["token"])
    db.session.commit()
    server = live_server_for(workers=4, env=SERVER_ENV)
    cancels = [post(f"{server.url}/api/v1/appointments/{t}/cancel", {}) for t in tokens[:3]]
    books = [post(f"{server.url}/api/v1/appointments", {
        "office": "race", "service": "reissue", "date": MONDAY, "start": "09:00",
        "applicants": [person("赵六", "F", "19900101")]}) for i in range(20)]
    responses = fire(cancels + books)
    assert all(r.status_code == 200 for r in responses[:3])
    booked = sum(1 for r in responses[3:] if r.status_code == 201)
    assert 0 <= booked <= 3
    assert codes(responses[3:])["slot_full"] == 20 - booked
    assert _booked("09:00") == 2 + booked
    assert _remaining(server, MONDAY, "09:00", "reissue") == 3 - booked
