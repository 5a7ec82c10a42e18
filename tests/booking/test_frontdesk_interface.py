"""What the hall and the jobs call: find an appointment for check-in, check in, complete."""

import pytest
from sqlalchemy import select

from booking import attendance, queries, serialize
from booking.models import Applicant
from core.errors import ApiError
from core.extensions import db
from tests.booking.helpers import MONDAY, couple, payload


def _book(client, applicants):
    response = client.post("/api/v1/appointments", json=payload(applicants=applicants))
    assert response.status_code == 201
    return response.get_json()


def test_find_by_code_or_by_id_number_on_the_day(client, booking_env, set_now):
    applicants = couple()
    body = _book(client, applicants)
    office = booking_env["chuanshan"]
    assert queries.appointment_for_checkin(office, body["code"]).token == body["token"]
    assert queries.appointment_for_checkin(office, body["code"].lower()).token == body["token"]
    set_now("2026-06-15T08:40:00+08:00")
    spaced = applicants[1]["id_number"][:6] + " " + applicants[1]["id_number"][6:].lower()
    assert queries.appointment_for_checkin(office, spaced).token == body["token"]
    with pytest.raises(ApiError) as caught:
        queries.appointment_for_checkin(office, "ZZZZZZZZ")
    assert (caught.value.status, caught.value.code) == (404, "appointment_not_found")
    with pytest.raises(ApiError):
        queries.appointment_for_checkin(office, "")


def test_check_in_once_then_complete_frees_the_person(client, booking_env):
    applicants = couple()
    body = _book(client, applicants)
    appointment = queries.appointment_by_token(body["token"])
    attendance.mark_checked_in(appointment)
    db.session.commit()
    assert appointment.status == "checked_in" and appointment.checked_in_at is not None
    with pytest.raises(ApiError) as caught:
        attendance.mark_checked_in(appointment)
    assert (caught.value.status, caught.value.code) == (409, "already_checked_in")
    db.session.rollback()
    # still active: the same couple cannot book marriage again
    again = client.post("/api/v1/appointments",
                        json=payload(date="2026-06-16", applicants=applicants))
    assert again.get_json()["code"] == "already_booked"
    attendance.mark_completed(appointment)
    db.session.commit()
    assert appointment.status == "completed"
    assert db.session.scalar(select(Applicant.active_hash).where(
        Applicant.appointment_id == appointment.id, Applicant.active_hash.is_not(None))) is None
    attendance.mark_completed(appointment)  # a second time: nothing happens
    assert client.post("/api/v1/appointments",
                       json=payload(date="2026-06-16", applicants=applicants)).status_code == 201


def test_appointment_json_is_masked(client, booking_env):
    applicants = couple()
    body = _book(client, applicants)
    data = serialize.appointment_json(queries.appointment_by_token(body["token"]))
    assert data["date"] == MONDAY and data["status"] == "booked"
    assert all("*" in a["id_number"] and "*" in a["name"] for a in data["applicants"])
    assert applicants[0]["id_number"] not in str(data)
