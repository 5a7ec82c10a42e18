"""Eligibility: legal age on the birthday, the divorce cooling-off (the worked example of docs/domain.md),
the office that accepted step 1, and the no-show policy."""

from datetime import date

from sqlalchemy import select

from booking import attendance, queries
from booking.divorce import couple_hash, record_divorce_application
from booking.models import Appointment, DivorceCase
from booking.rules import person_hash
from core.extensions import db
from tests.booking.helpers import MONDAY, couple, payload, person, problem_code


def _book(client, **kwargs):
    return client.post("/api/v1/appointments", json=payload(**kwargs))


def test_marriage_on_the_grooms_22nd_birthday_but_not_the_day_before(client, booking_env):
    applicants = couple(groom_birth="20040616", bride_birth="20060101")
    response = _book(client, date=MONDAY, applicants=applicants)  # 15 June: still 21
    assert response.status_code == 422 and problem_code(response) == "under_age"
    assert _book(client, date="2026-06-16", applicants=applicants).status_code == 201


def test_marriage_on_the_brides_20th_birthday_but_not_the_day_before(client, booking_env):
    applicants = couple(groom_birth="19900101", bride_birth="20060617")
    response = _book(client, date="2026-06-16", applicants=applicants)
    assert response.status_code == 422 and problem_code(response) == "under_age"
    assert "2026-06-17" in response.get_json()["detail"]
    assert _book(client, date="2026-06-17", applicants=applicants).status_code == 201


def test_ages_are_configuration(app, client, booking_env):
    app.config["MARRIAGE_MIN_AGE"] = {"M": 18, "F": 18}
    assert _book(client, applicants=couple("20060101", "20070101")).status_code == 201


def test_opposite_sex_rule_is_configuration(app, client, booking_env):
    two_women = [person("李小红", "F", "19920202"), person("王芳", "F", "19930303", "13900139000")]
    assert problem_code(_book(client, applicants=two_women)) == "not_eligible"
    app.config["MARRIAGE_REQUIRES_OPPOSITE_SEX"] = False
    assert _book(client, applicants=two_women).status_code == 201


def test_the_cooling_off_example_of_domain_md(client, booking_env, set_now):
    office = booking_env["chuanshan"]
    applicants = couple()
    hashes = [person_hash(a["id_number"]) for a in applicants]
    case = record_divorce_application(office, hashes, date(2026, 9, 7))
    db.session.commit()
    assert (case.cooling_off_ends, case.step2_from, case.step2_until) == (
        date(2026, 10, 8), date(2026, 10, 9), date(2026, 11, 9))
    assert case.couple_hash == couple_hash(list(reversed(hashes)))

    set_now("2026-09-20T10:00:00+08:00")
    refused = _book(client, service="divorce-certificate", date="2026-10-08",
                    applicants=applicants)
    assert refused.status_code == 422 and problem_code(refused) == "cooling_off"
    assert "2026-10-09" in refused.get_json()["detail"]
    assert "2026-11-09" in refused.get_json()["detail"]
    booked = _book(client, service="divorce-certificate", date="2026-10-09",
                   applicants=list(reversed(applicants)))
    assert booked.status_code == 201
    client.post(f"/api/v1/appointments/{booked.get_json()['token']}/cancel")

    set_now("2026-10-20T10:00:00+08:00")
    assert _book(client, service="divorce-certificate", date="2026-11-10",
                 applicants=applicants).get_json()["code"] == "cooling_off"
    assert _book(client, service="divorce-certificate", date="2026-11-09",
                 applicants=applicants).status_code == 201


def test_divorce_certificate_needs_an_application_at_that_office(client, booking_env, set_now):
    applicants = couple()
    response = _book(client, service="divorce-certificate", applicants=applicants)
    assert response.status_code == 422 and problem_code(response) == "no_divorce_application"
    hashes = [person_hash(a["id_number"]) for a in applicants]
    record_divorce_application(booking_env["anju"], hashes, date(2026, 5, 6))
    db.session.commit()  # accepted 6 May: step 2 from 6 June
    response = _book(client, office="chuanshan", service="divorce-certificate",
                     applicants=applicants)
    assert problem_code(response) == "no_divorce_application"
    assert "安居区" in response.get_json()["detail"]
    assert _book(client, office="anju", service="divorce-certificate",
                 applicants=applicants).status_code == 201


def test_divorce_step_one_needs_two_different_people_and_no_open_case(client, booking_env):
    applicants = couple()
    twice = [applicants[0], dict(applicants[0], name="张三")]
    assert problem_code(_book(client, service="divorce", applicants=twice)) == \
        "invalid_request"
    hashes = [person_hash(a["id_number"]) for a in applicants]
    record_divorce_application(booking_env["chuanshan"], hashes, date(2026, 6, 1))
    db.session.commit()
    response = _book(client, service="divorce", applicants=applicants)
    assert response.status_code == 422 and problem_code(response) == "not_eligible"
    others = couple("19700101", "19710101")
    assert _book(client, service="divorce", applicants=others).status_code == 201


def test_recording_the_same_acceptance_twice_gives_one_case(app, booking_env):
    office = booking_env["chuanshan"]
    hashes = ["a" * 64, "b" * 64]
    first = record_divorce_application(office, hashes, date(2026, 6, 10))
    second = record_divorce_application(office, list(reversed(hashes)), date(2026, 6, 10))
    db.session.commit()
    assert first.id == second.id
    assert db.session.scalar(select(DivorceCase.id).where(DivorceCase.id != first.id)) is None


# --- no-shows ---------------------------------------------------------------------------------

def test_no_show_sweep_and_the_block(client, booking_env, set_now):
    applicants = couple()
    first = _book(client, date=MONDAY, applicants=applicants).get_json()
    set_now("2026-06-15T09:59:00+08:00")  # slot 09:00-09:30, grace 30 minutes
    assert attendance.sweep_no_shows().startswith("0 appointment(s) marked no_show")
    set_now("2026-06-15T10:00:00+08:00")
    assert attendance.sweep_no_shows().startswith("1 appointment(s) marked no_show,")
    assert attendance.sweep_no_shows().startswith("0 appointment(s) marked no_show,")
    assert client.get(f"/api/v1/appointments/{first['token']}").get_json()["status"] == "no_show"

    # one no-show: booking again is allowed (the active hash was freed)
    second = _book(client, date="2026-06-17", applicants=applicants)
    assert second.status_code == 201
    set_now("2026-06-17T12:00:00+08:00")
    attendance.sweep_no_shows()

    response = _book(client, date="2026-06-22", applicants=applicants)
    assert response.status_code == 422 and problem_code(response) == "not_eligible"
    assert "2026-07-17" in response.get_json()["detail"]
    # the partner alone, with somebody else, is blocked as well
    other = [applicants[0], person("王芳", "F", "19930303", "13900139000")]
    assert problem_code(_book(client, date="2026-06-22", applicants=other)) == "not_eligible"

    set_now("2026-07-17T10:00:00+08:00")
    assert problem_code(_book(client, date="2026-07-20", applicants=applicants)) == \
        "not_eligible"
    set_now("2026-07-18T10:00:00+08:00")
    assert _book(client, date="2026-07-20", applicants=applicants).status_code == 201


def test_sweep_leaves_checked_in_and_future_appointments(client, booking_env, set_now):
    early = _book(client, start="09:00", applicants=couple()).get_json()
    late = _book(client, start="16:30", applicants=couple("19800101", "19810101")).get_json()
    checked = _book(client, start="09:00", applicants=couple("19700101", "19710101")).get_json()
    attendance.mark_checked_in(queries.appointment_by_token(checked["token"]))
    db.session.commit()
    set_now("2026-06-15T12:00:00+08:00")
    assert attendance.sweep_no_shows().startswith("1 appointment(s) marked no_show")
    statuses = {row.code: row.status for row in db.session.scalars(select(Appointment))}
    assert statuses == {early["code"]: "no_show", late["code"]: "booked",
                        checked["code"]: "checked_in"}
