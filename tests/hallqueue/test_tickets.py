"""POST /api/v1/offices/{office}/tickets: check-in and walk-in (docs/api.md §3 staff rows)."""

from datetime import timedelta

from sqlalchemy import select

from booking.models import Appointment
from core.audit import AuditEntry
from core.extensions import db
from hallqueue.models import Ticket
from tests.hallqueue.factories import TODAY, id_number, make_appointment, walk_in


def post(client, headers, body, office="chuanshan"):
    return client.post(f"/api/v1/offices/{office}/tickets", headers=headers, json=body)


def test_walk_in_gets_a_numbered_waiting_ticket(client, hall, desk):
    response = walk_in(client, desk, service="marriage", serial=1)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"id", "token", "number", "service", "status", "ahead"}
    assert body["number"] == "J001" and body["service"] == "marriage"
    assert body["status"] == "waiting" and body["ahead"] == 0
    assert isinstance(body["id"], int) and len(body["token"]) >= 16
    second = walk_in(client, desk, service="marriage", serial=2).get_json()
    assert second["number"] == "J002" and second["ahead"] == 1
    divorce = walk_in(client, desk, service="divorce", serial=3).get_json()
    assert divorce["number"] == "L001" and divorce["ahead"] == 0
    reissue = walk_in(client, desk, service="reissue", serial=4).get_json()
    assert reissue["number"] == "B001"
    certificate = walk_in(client, desk, service="divorce-certificate", serial=5).get_json()
    assert certificate["number"] == "F001"


def test_numbers_start_again_each_day(client, hall, desk, set_now, staff_headers):
    assert walk_in(client, desk, serial=1).get_json()["number"] == "J001"
    assert walk_in(client, desk, serial=2).get_json()["number"] == "J002"
    set_now("2026-06-16T09:00:00+08:00")
    next_day = staff_headers("admin")  # a token of the next day (tokens last 12 hours)
    assert walk_in(client, next_day, serial=1).get_json()["number"] == "J001"


def test_check_in_with_both_applicants_present(client, hall, desk):
    appointment, numbers = make_appointment(hall, "marriage", start="10:30")
    response = post(client, desk, {"appointment": appointment.code, "present": numbers})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["number"] == "J001" and body["status"] == "waiting"
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == "checked_in"
    ticket = db.session.get(Ticket, body["id"])
    assert ticket.appointment_id == appointment.id and ticket.slot_start == "10:30"
    assert ticket.phone == "+8613800138000"
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ticket.issue"))
    assert audit.target == f"ticket:{ticket.id}" and audit.details["number"] == "J001"
    assert all(n not in str(audit.details) for n in numbers)  # no ID numbers in the log


def test_check_in_by_an_applicants_id_number(client, hall, desk):
    appointment, numbers = make_appointment(hall, "divorce")
    response = post(client, desk, {"appointment": numbers[1].lower(), "present": numbers})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["number"] == "L001"


def test_check_in_refused_unless_both_are_present(client, hall, desk):
    appointment, numbers = make_appointment(hall, "marriage")
    for present in ([], [numbers[0]], [numbers[0], id_number(999, "F")]):
        response = post(client, desk, {"appointment": appointment.code, "present": present})
        assert response.status_code == 422
        assert response.get_json()["code"] == "applicants_not_present"
        assert response.mimetype == "application/problem+json"
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == "booked"
    assert db.session.scalar(select(Ticket)) is None


def test_walk_in_needs_every_applicant_of_the_service(client, hall, desk):
    one = [id_number(1)]
    response = post(client, desk, {"service": "marriage", "present": one})
    assert response.get_json()["code"] == "applicants_not_present"
    same_twice = [id_number(1), id_number(1)]
    response = post(client, desk, {"service": "marriage", "present": same_twice})
    assert response.get_json()["code"] == "applicants_not_present"
    assert post(client, desk, {"service": "reissue", "present": one}).status_code == 201


def test_check_in_errors(client, hall, desk, offices, staff_headers):
    response = post(client, desk, {"appointment": "NOSUCH99", "present": []})
    assert response.status_code == 404 and response.get_json()["code"] == "appointment_not_found"

    tomorrow, numbers = make_appointment(hall, "marriage", day=TODAY + timedelta(days=1))
    response = post(client, desk, {"appointment": tomorrow.code, "present": numbers})
    assert response.status_code == 422 and response.get_json()["code"] == "wrong_day"

    # another office's appointment: staff of every office are told where it is; to the desk
    # of one office it does not exist (docs/api.md §3.4)
    elsewhere, numbers = make_appointment(offices["anju"], "marriage")
    for query in (elsewhere.code, numbers[0]):
        response = post(client, staff_headers("admin"), {"appointment": query,
                                                         "present": numbers})
        assert response.status_code == 422 and response.get_json()["code"] == "wrong_office"
        response = post(client, desk, {"appointment": query, "present": numbers})
        assert response.status_code == 404
        assert response.get_json()["code"] == "appointment_not_found"

    appointment, numbers = make_appointment(hall, "marriage")
    assert post(client, desk, {"appointment": appointment.code,
                               "present": numbers}).status_code == 201
    again = post(client, desk, {"appointment": appointment.code, "present": numbers})
    assert again.status_code == 409 and again.get_json()["code"] == "already_checked_in"


def test_office_closed_outside_issuing_hours(client, hall, fresh_headers, set_now):
    cases = [
        ("2026-06-15T08:29:00+08:00", 422),  # before 09:00 minus the 30-minute lead
        ("2026-06-15T08:30:00+08:00", 201),
        ("2026-06-15T12:45:00+08:00", 201),  # the lunch break: tickets for the afternoon
        ("2026-06-15T16:59:00+08:00", 201),
        ("2026-06-15T17:00:00+08:00", 422),  # closing time
        ("2026-06-13T10:00:00+08:00", 422),  # a Saturday
        ("2026-10-01T10:00:00+08:00", 422),  # National Day
    ]
    for serial, (now, status) in enumerate(cases, start=1):
        set_now(now)
        response = walk_in(client, fresh_headers("desk"), serial=serial)
        assert response.status_code == status, (now, response.get_json())
        if status == 422:
            assert response.get_json()["code"] == "office_closed"


def test_an_extension_keeps_ticket_issuing_open(client, hall, desk, set_now):
    from hours.models import DayExtension

    db.session.add(DayExtension(office_id=hall.id, date=TODAY, previous_close="17:00",
                                until="17:30", waiting_count=4))
    db.session.commit()
    set_now("2026-06-15T17:10:00+08:00")
    assert walk_in(client, desk, serial=1).status_code == 201
    set_now("2026-06-15T17:30:00+08:00")
    assert walk_in(client, desk, serial=2).get_json()["code"] == "office_closed"


def test_bad_bodies_are_422_never_500(client, hall, desk):
    bodies = [
        {}, {"appointment": "X", "service": "marriage"}, {"service": 5},
        {"service": "no-such-service", "present": [id_number(1), id_number(2)]},
        {"service": "marriage", "present": "110105194912310020"},
        {"service": "marriage", "present": [1, 2]},
        {"service": "marriage", "present": [id_number(1), id_number(2)], "green_channel": "y"},
        {"service": "marriage", "present": [id_number(1), id_number(2)], "phone": "12"},
        {"service": "reissue", "present": [id_number(1), id_number(2)]},
    ]
    for body in bodies:
        response = post(client, desk, body)
        assert response.status_code == 422, (body, response.get_json())
        assert response.get_json()["code"] == "invalid_request", body
    response = post(client, desk, {"service": "marriage",
                                   "present": ["110105194912310021", id_number(2)]})
    assert response.status_code == 422 and response.get_json()["code"] == "invalid_id_number"
    not_json = client.post("/api/v1/offices/chuanshan/tickets", headers=desk, data="x")
    assert not_json.status_code == 422


def test_same_person_cannot_take_two_tickets_for_a_service(client, hall, desk):
    assert walk_in(client, desk, serial=1).status_code == 201
    again = walk_in(client, desk, serial=1)
    assert again.status_code == 409 and again.get_json()["code"] == "already_has_ticket"
    assert walk_in(client, desk, service="reissue", serial=1).status_code == 201


def test_roles_and_offices(client, hall, staff_headers):
    assert walk_in(client, {}).status_code == 401
    assert walk_in(client, staff_headers("registrar")).status_code == 403
    assert walk_in(client, staff_headers("desk", office="anju")).status_code == 403
    assert walk_in(client, staff_headers("desk")).status_code == 201  # unbound desk staff
    assert walk_in(client, staff_headers("admin"), serial=2).status_code == 201
    unknown = walk_in(client, staff_headers("admin"), office="nowhere", serial=3)
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "not_found"


def test_green_channel_walk_in(client, hall, desk):
    response = walk_in(client, desk, serial=1, green_channel=True, phone="13800138001")
    assert response.status_code == 201
    ticket = db.session.get(Ticket, response.get_json()["id"])
    assert ticket.green_channel and ticket.phone == "+8613800138001"
