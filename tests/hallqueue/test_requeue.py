"""过号 (a missed call) and the green channel (docs/api.md §3.4): requeue, the no-show rule
for a checked-in appointment whose call was missed, and green tickets called first."""

import pytest
from sqlalchemy import select

from booking.attendance import sweep_no_shows
from booking.models import Appointment
from core.audit import AuditEntry
from core.extensions import db
from hallqueue.models import Ticket
from notify.models import OutboxMessage
from offices.loader import OfficeFileError, load_offices
from offices.models import Office
from tests.hallqueue.factories import make_appointment, walk_in
from tests.hallqueue.test_calling import act, call, check_in
from tests.hallqueue.test_pages import login

TOMORROW_OPEN = "2026-06-16T10:00:00+08:00"  # a Tuesday: chuanshan is open


def missed(client, desk, registrar, count=1, window="2", **extra):
    """`count` walk-ins; the first is called at `window` and marked no_show. Returns the
    tickets' JSON in issue order."""
    tickets = [walk_in(client, desk, serial=serial, **(extra if serial == 1 else {})).get_json()
               for serial in range(1, count + 1)]
    assert call(client, registrar, window).get_json()["ticket"]["id"] == tickets[0]["id"]
    assert act(client, registrar, tickets[0]["id"], "no-show").status_code == 200
    return tickets


def call_order(client, registrar, window="2"):
    order = []
    while (response := call(client, registrar, window)).status_code == 200:
        order.append(response.get_json()["ticket"]["number"])
    return order


def test_requeue_puts_a_missed_ticket_behind_at_most_requeue_after(client, hall, desk,
                                                                      registrar):
    tickets = missed(client, desk, registrar, count=6)
    response = act(client, desk, tickets[0]["id"], "requeue")
    assert response.status_code == 200
    assert response.get_json() == {"status": "waiting", "ahead": 3}  # the default, 3
    status = client.get(f"/api/v1/tickets/{tickets[0]['token']}").get_json()
    assert status["status"] == "waiting" and status["ahead"] == 3
    display = client.get("/api/v1/offices/chuanshan/display").get_json()
    assert display["waiting"]["marriage"] == 6
    numbers = [t["number"] for t in tickets]
    assert call_order(client, registrar) == [*numbers[1:4], numbers[0], *numbers[4:]]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ticket.requeue"))
    assert entry is not None and entry.target == f"ticket:{tickets[0]['id']}"


def test_requeue_after_comes_from_the_office_and_fewer_waiting_puts_it_last(
        client, hall, desk, registrar):
    hall.requeue_after = 1
    db.session.commit()
    tickets = missed(client, desk, registrar, count=3)
    assert act(client, registrar, tickets[0]["id"], "requeue").get_json()["ahead"] == 1
    db.session.expire_all()
    # missed again, now with a single ticket waiting: it goes behind that one only
    assert call(client, registrar, "2").get_json()["ticket"]["id"] == tickets[1]["id"]
    assert call(client, registrar, "1").get_json()["ticket"]["id"] == tickets[0]["id"]
    assert act(client, registrar, tickets[0]["id"], "no-show").status_code == 200
    hall.requeue_after = 5
    db.session.commit()
    assert act(client, registrar, tickets[0]["id"], "requeue").get_json()["ahead"] == 1
    assert call_order(client, registrar) == [tickets[2]["number"], tickets[0]["number"]]


def test_two_requeues_behind_the_same_ticket_keep_within_requeue_after(
        client, hall, desk, registrar):
    first = walk_in(client, desk, serial=1).get_json()
    second = walk_in(client, desk, serial=2).get_json()
    rest = [walk_in(client, desk, serial=serial).get_json() for serial in range(3, 8)]
    for ticket in (first, second):
        assert call(client, registrar, "2").get_json()["ticket"]["id"] == ticket["id"]
        assert act(client, registrar, ticket["id"], "no-show").status_code == 200
    assert act(client, registrar, first["id"], "requeue").get_json()["ahead"] == 3
    assert act(client, registrar, second["id"], "requeue").get_json()["ahead"] == 3
    numbers = [t["number"] for t in rest]
    assert call_order(client, registrar) == [*numbers[:3], second["number"], first["number"],
                                             *numbers[3:]]


def test_only_a_missed_ticket_of_today_can_be_requeued(client, hall, desk, registrar,
                                                       fresh_headers, set_now):
    waiting = walk_in(client, desk, serial=9, service="divorce").get_json()
    refused = act(client, desk, waiting["id"], "requeue")
    assert refused.status_code == 409 and refused.get_json()["code"] == "ticket_not_missed"
    tickets = missed(client, desk, registrar, count=1)
    set_now(TOMORROW_OPEN)
    late = act(client, fresh_headers("desk"), tickets[0]["id"], "requeue")
    assert late.status_code == 422 and late.get_json()["code"] == "wrong_day"
    assert db.session.get(Ticket, tickets[0]["id"]).status == "no_show"


def test_a_requeued_appointment_is_checked_in_again_and_ends_completed(
        client, hall, desk, registrar, set_now):
    appointment, numbers = make_appointment(hall, "marriage")
    ticket = check_in(client, desk, appointment, numbers)
    call(client, registrar, "2")
    assert act(client, registrar, ticket["id"], "no-show").status_code == 200
    db.session.expire_all()
    stored = db.session.get(Appointment, appointment.id)
    assert stored.status == "checked_in" and stored.call_missed_at is not None
    assert act(client, registrar, ticket["id"], "requeue").status_code == 200
    db.session.expire_all()
    stored = db.session.get(Appointment, appointment.id)
    assert stored.status == "checked_in" and stored.call_missed_at is None
    assert call(client, registrar, "2").get_json()["ticket"]["id"] == ticket["id"]
    done = act(client, registrar, ticket["id"], "complete", {"outcome": "registered"})
    assert done.status_code == 200
    set_now(TOMORROW_OPEN)
    sweep_no_shows()
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == "completed"


def test_a_missed_call_is_a_no_show_only_when_the_day_ends_unserved(
        client, hall, desk, registrar, set_now):
    appointment, numbers = make_appointment(hall, "marriage")
    ticket = check_in(client, desk, appointment, numbers)
    call(client, registrar, "2")
    assert act(client, registrar, ticket["id"], "no-show").status_code == 200
    sweep_no_shows()  # the same day: the desk may still requeue it
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == "checked_in"
    set_now(TOMORROW_OPEN)
    sweep_no_shows()
    db.session.expire_all()
    stored = db.session.get(Appointment, appointment.id)
    assert stored.status == "no_show" and stored.no_show_at is not None
    assert all(applicant.active_hash is None for applicant in stored.applicants)


def test_the_near_turn_sms_goes_out_again_after_a_requeue(client, hall, desk, registrar):
    first = walk_in(client, desk, serial=1).get_json()
    mine = walk_in(client, desk, serial=2, phone="13800138007").get_json()
    rest = [walk_in(client, desk, serial=serial).get_json() for serial in range(3, 8)]

    def near_turn_messages():
        return [m for m in db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "near_turn")) if m.to_phone == "+8613800138007"]

    assert call(client, registrar, "2").get_json()["ticket"]["id"] == first["id"]
    assert len(near_turn_messages()) == 1  # next in line
    assert call(client, registrar, "2").get_json()["ticket"]["id"] == mine["id"]
    assert act(client, registrar, mine["id"], "no-show").status_code == 200
    assert act(client, registrar, mine["id"], "requeue").get_json()["ahead"] == 3
    assert len(near_turn_messages()) == 2  # 3 ahead: "your turn is near" again
    assert len(rest) == 5


def test_a_green_ticket_is_called_before_every_other_waiting_ticket(
        client, hall, desk, registrar):
    appointment, numbers = make_appointment(hall, "marriage", start="09:30")
    booked = check_in(client, desk, appointment, numbers)
    walk = walk_in(client, desk, serial=101).get_json()
    later = walk_in(client, desk, serial=102).get_json()
    assert call(client, registrar, "2").get_json()["ticket"]["id"] == booked["id"]
    # sent back into the queue: a transfer goes ahead of booked couples and walk-ins
    assert act(client, registrar, booked["id"], "transfer", {"service": "marriage"}).status_code == 200
    green = walk_in(client, desk, serial=103, priority="green").get_json()
    older_name = walk_in(client, desk, serial=104, green_channel=True).get_json()
    assert green["ahead"] == 0 and db.session.get(Ticket, green["id"]).green_channel
    assert call_order(client, registrar) == [
        green["number"], older_name["number"], booked["number"], walk["number"],
        later["number"]]


def test_a_booked_couple_can_take_the_green_channel(client, hall, desk, registrar):
    walk = walk_in(client, desk, serial=101).get_json()
    appointment, numbers = make_appointment(hall, "marriage", start="11:00")
    response = client.post("/api/v1/offices/chuanshan/tickets", headers=desk, json={
        "appointment": appointment.code, "present": numbers, "priority": "green"})
    assert response.status_code == 201 and response.get_json()["ahead"] == 0
    assert call_order(client, registrar) == [response.get_json()["number"], walk["number"]]
    bad = walk_in(client, desk, serial=102, priority="urgent")
    assert bad.status_code == 422 and "priority" in bad.get_json()["detail"]


def test_statistics_count_green_and_requeued_tickets(client, hall, desk, registrar,
                                                     staff_headers):
    tickets = missed(client, desk, registrar, count=2)
    act(client, registrar, tickets[0]["id"], "requeue")
    walk_in(client, desk, serial=103, priority="green")
    walk_in(client, desk, serial=104, service="divorce", green_channel=True)
    response = client.get("/api/v1/stats?from=2026-06-15&to=2026-06-15&office=chuanshan"
                          "&group=office_service", headers=staff_headers("admin"))
    assert response.status_code == 200
    rows = {row["service"]: row for row in response.get_json()["rows"]}
    assert (rows["marriage"]["green"], rows["marriage"]["requeued"]) == (1, 1)
    assert (rows["divorce"]["green"], rows["divorce"]["requeued"]) == (1, 0)
    assert response.get_json()["total"]["green"] == 2


def test_the_desk_and_window_pages_requeue_a_missed_ticket(client, hall, desk, registrar):
    tickets = missed(client, desk, registrar, count=4)
    login(client, "registrar")
    window = client.get("/window/chuanshan/2")
    assert f'data-requeue="{tickets[0]["number"]}"'.encode() in window.data
    login(client, "desk")
    page = client.get("/desk/chuanshan")
    assert "过号重排".encode() in page.data
    response = client.post(f"/desk/chuanshan/tickets/{tickets[0]['id']}/requeue",
                           data={}, follow_redirects=True)
    assert response.status_code == 200
    assert f"{tickets[0]['number']} 已重新排队，前面还有 3 人".encode() in response.data
    assert db.session.get(Ticket, tickets[0]["id"]).status == "waiting"
    again = client.post(f"/desk/chuanshan/tickets/{tickets[0]['id']}/requeue",
                        follow_redirects=True)
    assert "该号码不是过号状态".encode() in again.data


def test_requeue_after_is_read_from_the_office_file(app):
    office = '[[offices]]\ncode = "x"\nname = "X"\nservices = ["marriage"]\n'
    load_offices(office + "requeue_after = 1\n")
    assert db.session.scalar(select(Office.requeue_after).where(Office.code == "x")) == 1
    load_offices(office)
    assert db.session.scalar(select(Office.requeue_after).where(Office.code == "x")) == 3
    with pytest.raises(OfficeFileError) as error:
        load_offices(office + "requeue_after = -1\n")
    assert "offices[0].requeue_after" in str(error.value)


def test_with_requeue_after_zero_a_missed_ticket_goes_first(client, hall, desk, registrar):
    hall.requeue_after = 0
    db.session.commit()
    first = walk_in(client, desk, serial=1).get_json()
    second = walk_in(client, desk, serial=2).get_json()
    third = walk_in(client, desk, serial=3).get_json()
    for ticket in (first, second):
        assert call(client, registrar, "2").get_json()["ticket"]["id"] == ticket["id"]
        assert act(client, registrar, ticket["id"], "no-show").status_code == 200
    assert act(client, registrar, first["id"], "requeue").get_json()["ahead"] == 0
    assert act(client, registrar, second["id"], "requeue").get_json()["ahead"] == 0
    assert call_order(client, registrar) == [second["number"], first["number"],
                                             third["number"]]
