"""The public booking rows of docs/api.md §3, with their error codes."""

import re

from sqlalchemy import select

from booking.models import Slot
from core.extensions import db
from core.qr import qr_svg
from notify.models import OutboxMessage
from tests.booking.helpers import (
    DRAGON_BOAT,
    MONDAY,
    TUESDAY,
    couple,
    payload,
    person,
    problem_code,
)
from tests.booking.ids import make_id, wrong_check


def _book(client, **kwargs):
    return client.post("/api/v1/appointments", json=payload(**kwargs))


def _day(body, iso):
    return next(day for day in body["days"] if day["date"] == iso)


# --- availability ---------------------------------------------------------------------------

def test_availability_lists_slots_with_remaining_seats(client, booking_env):
    response = client.get("/api/v1/offices/chuanshan/availability"
                          "?service=marriage&from=2026-06-10&days=10")
    assert response.status_code == 200
    body = response.get_json()
    assert body["office"] == "chuanshan" and body["service"] == "marriage"
    assert [d["date"] for d in body["days"]][:2] == ["2026-06-10", "2026-06-11"]
    today = _day(body, "2026-06-10")
    assert today["bookable"] is False and all(not s["bookable"] for s in today["slots"])
    monday = _day(body, MONDAY)
    assert monday["bookable"] is True
    assert monday["slots"][0] == {"start": "09:00", "end": "09:30", "capacity": 6,
                                  "remaining": 6, "bookable": True}
    # 09:00-12:00 and 13:30-17:00 in whole 30-minute slots
    assert [s["start"] for s in monday["slots"]] == [
        "09:00", "09:30", "10:00", "10:30", "11:00", "11:30",
        "13:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30"]
    saturday = _day(body, "2026-06-13")
    assert saturday["bookable"] is False and saturday["slots"] == []


def test_availability_counts_bookings(client, booking_env):
    assert _book(client).status_code == 201
    body = client.get(f"/api/v1/offices/chuanshan/availability?service=marriage&from={MONDAY}"
                      "&days=1").get_json()
    assert body["days"][0]["slots"][0]["remaining"] == 5
    assert body["days"][0]["slots"][1]["remaining"] == 6


def test_a_holiday_has_no_slots_and_cannot_be_booked(client, booking_env):
    body = client.get(f"/api/v1/offices/chuanshan/availability?service=marriage"
                      f"&from={DRAGON_BOAT}&days=1").get_json()
    assert body["days"][0]["bookable"] is False and body["days"][0]["slots"] == []
    assert body["days"][0]["kind"] == "holiday"
    response = _book(client, date=DRAGON_BOAT)
    assert response.status_code == 422 and problem_code(response) == "date_not_bookable"


def test_availability_bad_parameters(client, booking_env):
    base = "/api/v1/offices/chuanshan/availability"
    assert client.get(base + "?from=2026-06-10").status_code == 422  # no service
    assert problem_code(client.get(base + "?service=ceremony")) == "invalid_request"
    assert problem_code(client.get(base + "?service=marriage&from=june")) == "invalid_request"
    assert problem_code(client.get(base + "?service=marriage&days=367")) == "invalid_request"
    assert problem_code(client.get(base + "?service=marriage&days=x")) == "invalid_request"
    assert problem_code(client.get(base + "?service=marriage&from=9999-12-01&days=366")) == \
        "invalid_request"
    assert client.get(base + "?service=marriage&from=0001-01-01&days=3").status_code == 200
    missing = client.get("/api/v1/offices/atlantis/availability?service=marriage")
    assert missing.status_code == 404 and problem_code(missing) == "not_found"


def test_bookings_for_a_day_close_at_15_00_the_day_before(client, booking_env, set_now):
    url = "/api/v1/offices/chuanshan/availability?service=marriage&from=2026-06-11&days=1"
    set_now("2026-06-10T14:59:00+08:00")
    assert client.get(url).get_json()["days"][0]["bookable"] is True
    set_now("2026-06-10T15:00:00+08:00")
    assert client.get(url).get_json()["days"][0]["bookable"] is False
    response = _book(client, date="2026-06-11")
    assert problem_code(response) == "date_not_bookable"
    assert "15:00" in response.get_json()["detail"]


def test_the_newest_day_is_released_at_the_release_time(app, client, booking_env, set_now):
    app.config["BOOKING_RELEASE_AT"] = "08:00"
    url = "/api/v1/offices/chuanshan/availability?service=marriage&from=2026-07-10&days=1"
    set_now("2026-06-10T07:59:00+08:00")  # 10 July is today + 30: not yet released
    assert client.get(url).get_json()["days"][0]["bookable"] is False
    assert problem_code(_book(client, date="2026-07-10")) == "date_not_bookable"
    set_now("2026-06-10T08:00:00+08:00")
    assert client.get(url).get_json()["days"][0]["bookable"] is True
    assert _book(client, date="2026-07-10").status_code == 201
    assert problem_code(_book(client, date="2026-07-13",
                              applicants=couple("19880101", "19890101"))) == "date_not_bookable"


def test_today_and_past_days_are_never_bookable(client, booking_env, app):
    app.config["BOOKING_MIN_NOTICE_DAYS"] = 0
    for day in ("2026-06-10", "2026-06-09"):
        response = _book(client, date=day)
        assert problem_code(response) == "date_not_bookable"


def test_peak_day_has_more_seats(client, booking_env, set_now):
    set_now("2026-05-01T10:00:00+08:00")
    body = client.get("/api/v1/offices/chuanshan/availability?service=marriage"
                      "&from=2026-05-20&days=1").get_json()
    day = body["days"][0]
    assert day["peak"] == {"code": "520", "name": "5·20"}
    assert day["slots"][0]["start"] == "08:30" and day["slots"][0]["capacity"] == 12


# --- booking --------------------------------------------------------------------------------

def test_booking_answers_201_masked_and_queues_sms(client, booking_env):
    applicants = couple()
    response = client.post("/api/v1/appointments", json=payload(applicants=applicants))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert re.fullmatch(r"[A-Z0-9]{6,12}", body["code"])
    assert len(body["token"]) >= 16 and re.fullmatch(r"[A-Za-z0-9_-]+", body["token"])
    assert body["status"] == "booked"
    assert (body["office"], body["service"], body["date"], body["start"], body["end"]) == (
        "chuanshan", "marriage", MONDAY, "09:00", "09:30")
    assert [a["name"] for a in body["applicants"]] == ["张*", "李*红"]
    first = applicants[0]["id_number"]
    assert body["applicants"][0]["id_number"] == first[:4] + "*" * 10 + first[-4:]
    text = response.get_data(as_text=True)
    assert first not in text and applicants[1]["id_number"] not in text
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.to_phone for m in messages] == ["+8613800138000", "+8613900139000"]
    assert all(m.kind == "booking_confirmed" and body["code"] in m.body
               and body["token"] in m.body and "2026-06-15 09:00" in m.body
               for m in messages)


def test_codes_are_random_not_sequential(client, booking_env):
    codes = []
    for i in range(4):
        response = _book(client, applicants=couple(f"19{70 + i}0101", f"19{80 + i}0101"))
        assert response.status_code == 201
        codes.append(response.get_json()["code"])
    assert len(set(codes)) == 4
    assert sorted(codes) != codes or len({c[:-1] for c in codes}) > 1
    assert all(set(code) <= set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for code in codes)


def test_slot_full(client, booking_env):
    for i in range(2):  # reissue: 2 seats per slot at chuanshan
        applicant = person("王五", "M", f"198{i}0101", "13700137000")
        assert _book(client, service="reissue", applicants=[applicant]).status_code == 201
    response = _book(client, service="reissue", applicants=[person("赵六", "F", "19850101")])
    assert response.status_code == 409 and problem_code(response) == "slot_full"
    slot = db.session.scalar(select(Slot).where(Slot.service_code == "reissue"))
    assert (slot.booked, slot.capacity) == (2, 2)


def test_already_booked_for_the_same_service(client, booking_env):
    applicants = couple()
    assert _book(client, applicants=applicants).status_code == 201
    again = _book(client, start="10:00", applicants=applicants)
    assert again.status_code == 409 and problem_code(again) == "already_booked"
    # one of the two with somebody else: still the same person
    other = [applicants[0], person("王芳", "F", "19930303")]
    assert problem_code(_book(client, date=TUESDAY, applicants=other)) == "already_booked"
    # a different service is fine
    assert _book(client, service="reissue", applicants=[applicants[0]]).status_code == 201


def test_invalid_id_number(client, booking_env):
    applicants = couple()
    applicants[1]["id_number"] = wrong_check(applicants[1]["id_number"])
    response = _book(client, applicants=applicants)
    assert response.status_code == 422 and problem_code(response) == "invalid_id_number"
    assert applicants[1]["id_number"] not in response.get_data(as_text=True)


def test_under_age_and_not_eligible(client, booking_env):
    young = couple(groom_birth="20040616", bride_birth="19990101")  # 22 on 16 June 2026
    response = _book(client, applicants=young)
    assert response.status_code == 422 and problem_code(response) == "under_age"
    assert "2026-06-16" in response.get_json()["detail"]
    same_sex = [person("张三", "M", "19900101"), person("李四", "M", "19910101", "13900139000")]
    response = _book(client, applicants=same_sex)
    assert response.status_code == 422 and problem_code(response) == "not_eligible"


def test_wrong_applicant_count(client, booking_env):
    one = [person()]
    assert problem_code(_book(client, applicants=one)) == "wrong_applicant_count"
    three = couple() + [person("王五", "M", "19800101")]
    assert problem_code(_book(client, service="divorce", applicants=three)) == \
        "wrong_applicant_count"
    assert problem_code(_book(client, service="reissue", applicants=couple())) == \
        "wrong_applicant_count"


def test_start_must_be_one_of_the_day_slots(client, booking_env):
    response = _book(client, start="09:15")
    assert problem_code(response) == "date_not_bookable"
    assert "09:00" in response.get_json()["detail"]
    assert problem_code(_book(client, start="12:00")) == "date_not_bookable"  # lunch
    assert problem_code(_book(client, date="2026-06-13")) == "date_not_bookable"  # Saturday


def test_malformed_bodies_are_422_never_500(client, booking_env):
    cases = [
        "not json",
        [],
        {},
        payload() | {"office": "atlantis"},
        payload() | {"office": 7},
        payload() | {"service": "ceremony"},
        payload() | {"date": "15/06/2026"},
        payload() | {"date": None},
        payload() | {"start": "9am"},
        payload() | {"start": "25:00"},
        payload() | {"applicants": "two people"},
        payload() | {"applicants": ["x", "y"]},
        payload(applicants=[person() | {"name": ""}, person("李", "F", "19920202")]),
        payload(applicants=[person() | {"phone": "12"}, person("李", "F", "19920202")]),
        payload(applicants=[person() | {"id_type": "licence"}, person("李", "F", "19920202")]),
        payload(applicants=[person() | {"id_number": 110105}, person("李", "F", "19920202")]),
    ]
    for body in cases:
        if isinstance(body, str):
            response = client.post("/api/v1/appointments", data=body,
                                   content_type="application/json")
        else:
            response = client.post("/api/v1/appointments", json=body)
        assert response.status_code == 422, (body, response.get_data(as_text=True))
        assert problem_code(response) in ("invalid_request", "invalid_id_number")


def test_cross_border_couples_only_where_accepted(client, booking_env):
    hk = {"name": "陈大文", "id_type": "hk_macau_permit", "id_number": "H12345678",
          "phone": "+852 9123 4567", "sex": "M", "birth_date": "1990-01-01"}
    bride = person("李小红", "F", "19920202", "13900139000")
    response = _book(client, office="chuanshan", applicants=[hk, bride])
    assert response.status_code == 422 and problem_code(response) == "not_eligible"
    assert _book(client, office="suining", applicants=[hk, bride]).status_code == 201
    permit = {"name": "林志明", "id_type": "resident_id",
              "id_number": make_id("19900101", "M", area="830000"), "phone": "13800138111"}
    assert problem_code(_book(client, office="anju", applicants=[
        permit, person("王芳", "F", "19930303", "13900139111")])) == "not_eligible"


# --- manage -----------------------------------------------------------------------------------

def test_show_cancel_and_seat_returns(client, booking_env):
    token = _book(client).get_json()["token"]
    shown = client.get(f"/api/v1/appointments/{token}")
    assert shown.status_code == 200 and shown.get_json()["status"] == "booked"
    cancelled = client.post(f"/api/v1/appointments/{token}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert client.get(f"/api/v1/appointments/{token}").get_json()["status"] == "cancelled"
    slot = db.session.scalar(select(Slot))
    db.session.refresh(slot)
    assert slot.booked == 0
    kinds = [m.kind for m in db.session.scalars(select(OutboxMessage))]
    assert kinds.count("booking_cancelled") == 2
    # cancelling again changes nothing; the people may book again
    assert client.post(f"/api/v1/appointments/{token}/cancel").status_code == 200
    assert _book(client).status_code == 201


def test_unknown_tokens_are_404(client, booking_env):
    for path in ("/api/v1/appointments/nope-nope-nope-nope-nope",
                 "/api/v1/appointments/x"):
        response = client.get(path)
        assert response.status_code == 404 and problem_code(response) == "not_found"
    assert client.post("/api/v1/appointments/nope-nope-nope-nope-nope/cancel").status_code == 404
    assert client.post("/api/v1/appointments/nope-nope-nope-nope-nope/reschedule",
                       json={"date": MONDAY, "start": "09:00"}).status_code == 404
    assert client.get("/api/v1/appointments/nope-nope-nope-nope-nope/qr.svg").status_code == 404


def test_reschedule_moves_the_seat(client, booking_env):
    token = _book(client).get_json()["token"]
    response = client.post(f"/api/v1/appointments/{token}/reschedule",
                           json={"date": TUESDAY, "start": "14:00"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["date"], body["start"], body["end"], body["status"]) == (
        TUESDAY, "14:00", "14:30", "booked")
    seats = {(s.date.isoformat(), s.start): s.booked for s in db.session.scalars(select(Slot))}
    assert seats == {(MONDAY, "09:00"): 0, (TUESDAY, "14:00"): 1}
    kinds = [m.kind for m in db.session.scalars(select(OutboxMessage))]
    assert kinds.count("booking_rescheduled") == 2


def test_reschedule_into_a_full_slot_changes_nothing(client, booking_env):
    tokens = []
    for i in range(3):
        applicant = person("王五", "M", f"198{i}0101", "13700137000")
        start = "09:00" if i < 2 else "10:00"
        response = _book(client, service="reissue", start=start, applicants=[applicant])
        tokens.append(response.get_json()["token"])
    response = client.post(f"/api/v1/appointments/{tokens[2]}/reschedule",
                           json={"date": MONDAY, "start": "09:00"})
    assert response.status_code == 409 and problem_code(response) == "slot_full"
    assert client.get(f"/api/v1/appointments/{tokens[2]}").get_json()["start"] == "10:00"
    seats = {s.start: s.booked for s in db.session.scalars(select(Slot))}
    assert seats == {"09:00": 2, "10:00": 1}


def test_reschedule_errors(client, booking_env):
    token = _book(client).get_json()["token"]
    url = f"/api/v1/appointments/{token}/reschedule"
    assert problem_code(client.post(url, json={"date": DRAGON_BOAT, "start": "09:00"})) == \
        "date_not_bookable"
    assert problem_code(client.post(url, json={"date": "tomorrow"})) == "invalid_request"
    assert problem_code(client.post(url, data="x", content_type="application/json")) == \
        "invalid_request"
    client.post(f"/api/v1/appointments/{token}/cancel")
    response = client.post(url, json={"date": TUESDAY, "start": "09:00"})
    assert response.status_code == 409 and problem_code(response) == "not_changeable"


def test_qr_code_is_svg_of_the_code(client, booking_env):
    body = _book(client).get_json()
    response = client.get(f"/api/v1/appointments/{body['token']}/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert "<svg" in svg and "<path" in svg
    assert svg == qr_svg(body["code"])
    assert svg != qr_svg(body["code"] + "X")


def test_ics_file(client, booking_env):
    body = _book(client).get_json()
    response = client.get(f"/api/v1/appointments/{body['token']}/calendar.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    text = response.get_data(as_text=True)
    assert text.startswith("BEGIN:VCALENDAR\r\n") and "END:VEVENT" in text
    assert "DTSTART:20260615T010000Z" in text and "DTEND:20260615T013000Z" in text
    assert body["code"] in text


# --- OpenAPI --------------------------------------------------------------------------------

def test_every_booking_endpoint_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    expected = {
        "/offices/{office}/availability": ("get", []),
        "/appointments": ("post", ["slot_full", "already_booked", "invalid_id_number",
                                   "under_age", "not_eligible", "date_not_bookable",
                                   "wrong_applicant_count", "cooling_off",
                                   "no_divorce_application", "rate_limited"]),
        "/appointments/{token}": ("get", ["not_found"]),
        "/appointments/{token}/cancel": ("post", ["not_found"]),
        "/appointments/{token}/reschedule": ("post", ["slot_full"]),
        "/appointments/{token}/qr.svg": ("get", ["not_found"]),
    }
    for path, (method, codes) in expected.items():
        operation = paths[path][method]
        described = " ".join(r.get("description", "") for r in operation["responses"].values())
        for code in codes:
            assert code in described, (path, code)
    create = paths["/appointments"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"office", "service", "date", "start", "applicants"}
