"""GET /api/v1/offices/{office}/display and GET /api/v1/tickets/{token} (docs/api.md §3)."""

from datetime import datetime, timedelta

from core.extensions import db
from hallqueue.models import Ticket
from hours.models import DayExtension
from tests.hallqueue.factories import TODAY, make_appointment, walk_in


def call(client, headers, window):
    return client.post(f"/api/v1/offices/chuanshan/windows/{window}/call-next", headers=headers)


def display(client, view=None, **headers):
    return client.get("/api/v1/offices/chuanshan/display", headers=headers,
                      query_string={"view": view} if view else None)


def test_empty_display(client, hall):
    response = display(client)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"office", "calling", "waiting", "notices", "open_until", "extended"}
    assert body["office"] == "chuanshan"
    assert body["calling"] == [] and body["notices"] == []
    assert body["waiting"] == {"marriage": 0, "divorce": 0, "divorce-certificate": 0,
                               "reissue": 0, "counseling": 0}
    assert body["open_until"] == "17:00" and body["extended"] is False


def test_calling_newest_first_per_window(client, hall, desk, registrar, set_now):
    for serial in range(1, 5):
        walk_in(client, desk, serial=serial)
    walk_in(client, desk, service="divorce", serial=9)
    call(client, registrar, "1")                       # J001 at 1
    set_now("2026-06-15T10:01:00+08:00")
    call(client, registrar, "3")                       # L001 at 3
    set_now("2026-06-15T10:02:00+08:00")
    call(client, registrar, "2")                       # J002 at 2
    set_now("2026-06-15T10:03:00+08:00")
    call(client, registrar, "1")                       # J003 at 1: the window's newest call
    body = display(client).get_json()
    assert set(body) == {"office", "calling", "waiting", "notices", "open_until", "extended"}
    assert [(c["window"], c["number"]) for c in body["calling"]] == [
        ("1", "J003"), ("2", "J002"), ("3", "L001")]
    newest = body["calling"][0]
    assert set(newest) == {"window", "number", "called_at"}
    assert isinstance(newest["window"], str)
    assert newest["called_at"] == "2026-06-15T10:03:00+08:00"
    assert datetime.fromisoformat(newest["called_at"]).utcoffset() == timedelta(hours=8)
    assert body["waiting"]["marriage"] == 1 and body["waiting"]["divorce"] == 0
    screen = display(client, view="screen").get_json()  # what the hall screen polls
    assert [h["number"] for h in screen["history"]] == ["J003", "J002", "L001", "J001"]
    assert screen["history"][0]["text"] == "请 J003 号到 1 号窗口办理"
    assert screen["calling"][0]["number"] == "J003" and screen["waiting"] == body["waiting"]


def test_finished_tickets_leave_the_calling_list(client, hall, desk, registrar):
    ticket = walk_in(client, desk, serial=1).get_json()
    call(client, registrar, "1")
    assert len(display(client).get_json()["calling"]) == 1
    client.post(f"/api/v1/tickets/{ticket['id']}/complete", headers=registrar,
                json={"outcome": "registered"})
    body = display(client, view="screen").get_json()
    assert body["calling"] == [] and body["history"][0]["number"] == "J001"


def test_recall_makes_the_call_newest_again(client, hall, desk, registrar, set_now):
    first = walk_in(client, desk, serial=1).get_json()
    walk_in(client, desk, serial=2)
    call(client, registrar, "1")
    set_now("2026-06-15T10:05:00+08:00")
    call(client, registrar, "2")
    set_now("2026-06-15T10:07:00+08:00")
    client.post(f"/api/v1/tickets/{first['id']}/recall", headers=registrar)
    calling = display(client).get_json()["calling"]
    assert [c["number"] for c in calling] == ["J001", "J002"]
    assert calling[0]["called_at"] == "2026-06-15T10:07:00+08:00"


def test_no_personal_data_on_the_display(client, hall, desk, registrar):
    appointment, numbers = make_appointment(hall, "marriage")
    client.post("/api/v1/offices/chuanshan/tickets", headers=desk,
                json={"appointment": appointment.code, "present": numbers})
    call(client, registrar, "1")
    text = display(client).get_data(as_text=True) + display(client, "screen").get_data(
        as_text=True)
    for secret in (*numbers, "张小三", "李小四", "13800138000", appointment.code):
        assert secret not in text


def test_etag_answers_304_until_something_changes(client, hall, desk, registrar):
    first = display(client)
    etag = first.headers["ETag"]
    assert etag and first.headers["Cache-Control"] == "no-cache"
    again = display(client, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    walk_in(client, desk, serial=1)
    changed = display(client, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_extended_day_says_until_when(client, hall):
    db.session.add(DayExtension(office_id=hall.id, date=TODAY, previous_close="17:00",
                                until="18:00", waiting_count=6))
    db.session.commit()
    body = display(client).get_json()
    assert body["extended"] is True and body["open_until"] == "18:00"
    assert any("18:00" in notice for notice in body["notices"])


def test_closed_day_and_unknown_office(client, hall, set_now):
    set_now("2026-06-13T10:00:00+08:00")  # Saturday
    body = display(client).get_json()
    assert body["open_until"] is None and body["extended"] is False
    response = client.get("/api/v1/offices/nowhere/display")
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"


def test_peak_day_display(client, offices, set_now):
    set_now("2026-05-20T10:00:00+08:00")  # 5·20, a Wednesday: peak hours 08:30-18:30
    body = client.get("/api/v1/offices/chuanshan/display").get_json()
    assert body["extended"] is True and body["open_until"] == "18:30"
    assert any("5·20" in notice for notice in body["notices"])


def test_ticket_status(client, hall, desk, registrar):
    tickets = [walk_in(client, desk, serial=i).get_json() for i in range(1, 5)]
    response = client.get(f"/api/v1/tickets/{tickets[3]['token']}")
    assert response.status_code == 200
    # no service finished yet today: 10 minutes each, over the 3 windows serving marriage
    assert response.get_json() == {"number": "J004", "service": "marriage",
                                   "status": "waiting", "ahead": 3,
                                   "estimated_wait_minutes": 10}
    call(client, registrar, "1")
    body = client.get(f"/api/v1/tickets/{tickets[0]['token']}?view=page").get_json()
    assert body["status"] == "called" and body["ahead"] == 0 and body["window"] == "1"
    assert client.get(f"/api/v1/tickets/{tickets[3]['token']}").get_json()["ahead"] == 2
    client.post(f"/api/v1/tickets/{tickets[0]['id']}/no-show", headers=registrar)
    assert client.get(f"/api/v1/tickets/{tickets[0]['token']}").get_json()["status"] == "no_show"
    missing = client.get("/api/v1/tickets/not-a-real-token")
    assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"


def test_estimated_wait_uses_todays_average_service_time(client, hall, desk, registrar, set_now):
    tickets = [walk_in(client, desk, serial=i).get_json() for i in range(1, 6)]
    for window in ("1", "2"):  # two services of 20 minutes each
        call(client, registrar, window)
    set_now("2026-06-15T10:20:00+08:00")
    for ticket in tickets[:2]:
        client.post(f"/api/v1/tickets/{ticket['id']}/complete", headers=registrar,
                    json={"outcome": "registered"})
    client.post("/api/v1/offices/chuanshan/windows/5/pause", headers=registrar)
    body = client.get(f"/api/v1/tickets/{tickets[4]['token']}").get_json()
    # 2 ahead × 20 minutes ÷ 2 open windows serving marriage (1 and 2; 5 is paused)
    assert body["ahead"] == 2 and body["estimated_wait_minutes"] == 20
    ticket = db.session.get(Ticket, tickets[0]["id"])
    assert ticket.outcome == "registered"
