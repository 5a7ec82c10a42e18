"""Staff booking on behalf of a couple (电话预约 / 现场代约, docs/api.md §3.8): POST
/appointments with a desk or admin token books by the same rules and seats as the public
site, answers channel "staff", is never rate-limited, is audited, and may leave the phones
out (the office prints the confirmation)."""

import pytest
from sqlalchemy import select

from booking.models import Appointment
from core.audit import AuditEntry
from core.extensions import db
from notify.models import OutboxMessage
from tests.booking.helpers import MONDAY, couple, payload, person, problem_code

URL = "/api/v1/appointments"


@pytest.fixture
def app_overrides() -> dict:
    return {"RATELIMIT_ENABLED": True, "RATELIMIT_BOOKING": "2 per minute"}


def _couples(n: int) -> list[list[dict]]:
    return [couple(f"19{70 + i}0101", f"19{80 + i}0101") for i in range(n)]


def test_staff_bookings_pass_the_rate_limit_that_stops_anonymous_ones(
        client, booking_env, staff_headers):
    desk = staff_headers("desk", office="chuanshan")
    people = _couples(6)
    public = [client.post(URL, json=payload(applicants=people[i])) for i in range(3)]
    assert [r.status_code for r in public] == [201, 201, 429]
    assert problem_code(public[2]) == "rate_limited"
    staff = [client.post(URL, json=payload(applicants=people[i]), headers=desk)
             for i in range(2, 6)]
    assert [r.status_code for r in staff] == [201] * 4
    assert [r.get_json()["channel"] for r in public[:2]] == ["online", "online"]
    assert {r.get_json()["channel"] for r in staff} == {"staff"}
    # and the anonymous client is still limited afterwards
    assert client.post(URL, json=payload(applicants=_couples(7)[6])).status_code == 429


def test_the_channel_is_stored_shown_and_the_booking_audited(client, booking_env, staff_headers):
    admin = staff_headers("admin")
    online = client.post(URL, json=payload(applicants=_couples(1)[0])).get_json()
    staff = client.post(URL, json=payload(applicants=_couples(2)[1]), headers=admin).get_json()
    rows = {a.code: a.channel for a in db.session.scalars(select(Appointment))}
    assert rows == {online["code"]: "online", staff["code"]: "staff"}
    assert client.get(f"{URL}/{staff['token']}").get_json()["channel"] == "staff"
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "appointment.book")).all()
    assert len(entries) == 1
    assert entries[0].username.startswith("admin-") and entries[0].details["code"] == staff["code"]
    # the confirmation SMS still goes to the couple's phones
    assert db.session.scalar(select(db.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == "booking_confirmed")) == 4


def test_staff_may_book_for_a_couple_without_phones_the_public_may_not(
        client, booking_env, staff_headers):
    desk = staff_headers("desk", office="chuanshan")
    no_phones = [person("王大爷", "M", "19500101", phone=""),
                 {**person("赵奶奶", "F", "19520303"), "phone": None}]
    public = client.post(URL, json=payload(applicants=no_phones))
    assert public.status_code == 422 and problem_code(public) == "invalid_request"
    booked = client.post(URL, json=payload(applicants=no_phones), headers=desk)
    assert booked.status_code == 201, booked.get_json()
    assert booked.get_json()["channel"] == "staff"
    assert db.session.scalars(select(OutboxMessage)).all() == []  # no SMS: printed instead
    # a phone that is given must still be a phone
    wrong = [person("王大爷", "M", "19510101", phone="12345"), person("赵奶奶", "F", "19530303")]
    assert problem_code(client.post(URL, json=payload(applicants=wrong), headers=desk)) == (
        "invalid_request")


def test_the_same_rules_and_seats_as_online(client, booking_env, staff_headers):
    desk = staff_headers("desk", office="chuanshan")
    applicants = couple()
    first = client.post(URL, json=payload(applicants=applicants), headers=desk)
    assert first.status_code == 201
    again = client.post(URL, json=payload(start="10:00", applicants=applicants), headers=desk)
    assert again.status_code == 409 and problem_code(again) == "already_booked"
    young = couple("20100101", "20120101")
    assert problem_code(client.post(URL, json=payload(applicants=young), headers=desk)) == (
        "under_age")
    today = client.post(URL, json=payload(date="2026-06-10", applicants=_couples(3)[2]),
                        headers=desk)
    assert problem_code(today) == "date_not_bookable"
    availability = client.get("/api/v1/offices/chuanshan/availability",
                              query_string={"service": "marriage", "from": MONDAY, "days": 1})
    slot = availability.get_json()["days"][0]["slots"][0]
    assert (slot["start"], slot["capacity"] - slot["remaining"]) == ("09:00", 1)


def test_tokens_roles_and_offices(client, booking_env, staff_headers):
    bad = client.post(URL, json=payload(), headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and problem_code(bad) == "unauthorized"
    registrar = client.post(URL, json=payload(), headers=staff_headers("registrar", "chuanshan"))
    assert registrar.status_code == 403 and problem_code(registrar) == "forbidden"
    elsewhere = client.post(URL, json=payload(office="anju"),
                            headers=staff_headers("desk", office="chuanshan"))
    assert elsewhere.status_code == 403 and problem_code(elsewhere) == "forbidden"
    assert db.session.scalars(select(Appointment)).all() == []
    unknown = client.post(URL, json=payload(office="nowhere"),
                          headers=staff_headers("desk", office="chuanshan"))
    assert unknown.status_code == 422 and problem_code(unknown) == "invalid_request"
