"""Optional services (docs/api.md §3.5-§3.6, docs/domain.md §2): counselling (婚姻家庭辅导) for
one person or a couple, and the certificate ceremony (颁证仪式) only for a couple holding an
active marriage appointment at that office on that day; group ceremonies on peak days."""

from datetime import date

from sqlalchemy import select

from booking.models import Appointment
from core.extensions import db
from hours.calendar import slot_specs
from tests.booking.helpers import MONDAY, TUESDAY, couple, payload, person, problem_code

URL = "/api/v1/appointments"


def _book(client, **values):
    return client.post(URL, json=payload(**values))


def test_counselling_takes_one_person_or_a_couple(client, booking_env):
    alone = _book(client, service="counseling", applicants=[person("李小红", "F", "19920202")])
    assert alone.status_code == 201, alone.get_json()
    assert len(alone.get_json()["applicants"]) == 1
    together = _book(client, service="counseling", start="10:00",
                     applicants=couple("19850101", "19860101"))
    assert together.status_code == 201, together.get_json()
    assert len(together.get_json()["applicants"]) == 2
    assert problem_code(_book(client, service="counseling", applicants=[])) in (
        "wrong_applicant_count", "invalid_request")
    three = [*couple("19700101", "19710101"), person("王五", "M", "19720101")]
    assert problem_code(_book(client, service="counseling", applicants=three)) == (
        "wrong_applicant_count")


def test_other_services_still_take_exactly_their_number(client, booking_env):
    single = _book(client, applicants=[person()])
    assert single.status_code == 422 and problem_code(single) == "wrong_applicant_count"


def test_a_ceremony_needs_the_couples_marriage_there_that_day(client, booking_env):
    couple_a = couple()
    refused = _book(client, office="suining", service="ceremony", applicants=couple_a)
    assert refused.status_code == 422 and problem_code(refused) == "not_eligible"

    marriage = _book(client, office="suining", applicants=couple_a)
    assert marriage.status_code == 201
    other_day = _book(client, office="suining", service="ceremony", date=TUESDAY,
                      applicants=couple_a)
    assert problem_code(other_day) == "not_eligible"
    strangers = [couple_a[0], person("钱多多", "F", "19930303")]
    assert problem_code(_book(client, office="suining", service="ceremony", start="11:00",
                              applicants=strangers)) == "not_eligible"

    ceremony = _book(client, office="suining", service="ceremony", start="11:00",
                     applicants=list(reversed(couple_a)))
    assert ceremony.status_code == 201, ceremony.get_json()
    assert ceremony.get_json()["service"] == "ceremony"

    # no ceremony at an office that does not hold them
    elsewhere = _book(client, office="chuanshan", service="ceremony", applicants=couple_a)
    assert elsewhere.status_code == 422 and problem_code(elsewhere) == "invalid_request"


def test_a_cancelled_marriage_gives_no_ceremony(client, booking_env):
    couple_b = couple("19880808", "19890909")
    marriage = _book(client, office="suining", applicants=couple_b).get_json()
    assert client.post(f"{URL}/{marriage['token']}/cancel").status_code == 200
    refused = _book(client, office="suining", service="ceremony", applicants=couple_b)
    assert problem_code(refused) == "not_eligible"
    assert db.session.scalar(select(db.func.count()).select_from(Appointment).where(
        Appointment.service_code == "ceremony")) == 0


def test_group_ceremonies_on_peak_days(booking_env):
    suining = booking_env["suining"]
    assert {s.capacity for s in slot_specs(suining, "ceremony", date.fromisoformat(MONDAY))} == {2}
    may_20 = slot_specs(suining, "ceremony", date(2026, 5, 20))  # a Wednesday, peak day
    assert may_20 and {s.capacity for s in may_20} == {10}
    # other services keep capacity × the peak day's factor
    assert {s.capacity for s in slot_specs(suining, "marriage", date(2026, 5, 20))} == {12}


def test_the_hall_serves_them_counselling_for_one_walk_in(client, booking_env, staff_headers):
    desk = staff_headers("desk", office="suining")
    one = client.post("/api/v1/offices/suining/tickets", headers=desk,
                      json={"service": "counseling", "present": [person()["id_number"]]})
    assert one.status_code == 201, one.get_json()
    assert one.get_json()["number"] == "D001"
    alone = client.post("/api/v1/offices/suining/tickets", headers=desk,
                        json={"service": "ceremony", "present": [person()["id_number"]]})
    assert alone.status_code == 422 and problem_code(alone) == "applicants_not_present"
    display = client.get("/api/v1/offices/suining/display").get_json()
    assert display["waiting"]["counseling"] == 1 and display["waiting"]["ceremony"] == 0


def test_the_booking_page_books_counselling_for_one_person(client, booking_env):
    url = f"/book/chuanshan/counseling/{MONDAY}/apply?start=09:00"
    page = client.get(url).get_data(as_text=True)
    assert page.count('class="bk-applicant"') == 2 and "可不填" in page
    alone = person("李小红", "F", "19920202")
    answer = client.post(url, data={
        "applicants-0-name": alone["name"], "applicants-0-id_type": "resident_id",
        "applicants-0-id_number": alone["id_number"], "applicants-0-phone": alone["phone"],
        "applicants-1-name": "", "applicants-1-id_type": "resident_id",
        "applicants-1-id_number": "", "applicants-1-phone": ""})
    assert answer.status_code == 302 and "/a/" in answer.headers["Location"]
    booked = db.session.scalar(select(Appointment))
    assert booked.service_code == "counseling" and len(booked.applicants) == 1
    office = client.get("/book/chuanshan").get_data(as_text=True)
    assert "申请人：1 至 2 人" in office and "冷静期内可预约免费的婚姻家庭辅导" in office
