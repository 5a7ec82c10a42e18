"""Divorce cases from application to closure (docs/api.md §5.1), all through the API with the
clock pinned: the couple books step 1, the hall registers it (a case opens), and the case
ends withdrawn (one party, during cooling-off), certified (step 2 registered) or lapsed (the
day after the step-2 window, by daily-reset or no-show-sweep). The dates are docs/domain.md's
worked example: accepted Monday 2026-09-07, cooling-off until 2026-10-08 (the National Day
holiday moves it), step 2 from 2026-10-09 to Monday 2026-11-09."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from booking.models import Appointment, DivorceCase, Slot
from core.audit import AuditEntry
from core.extensions import db
from notify.models import OutboxMessage
from tests.booking.helpers import couple, problem_code

OFFICE = "chuanshan"
WINDOW = "3"  # divorce and divorce-certificate


@pytest.fixture
def headers(app, offices):
    """headers("desk") -> a bearer token issued at the pinned now (the clock moves by days)."""
    from core.auth import User, issue_token
    from staff.services import create_user

    def make(role: str, office: str = OFFICE) -> dict:
        username = f"{role}-{office}-cases"
        user = db.session.query(User).filter_by(username=username).one_or_none()
        if user is None:
            user = create_user(username, role, "password-123", office)
        token, _ = issue_token(user)
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return make


def _book(client, service: str, day: str, start: str = "09:00", people=None):
    return client.post("/api/v1/appointments", json={
        "office": OFFICE, "service": service, "date": day, "start": start,
        "applicants": people})


def _serve(client, headers, set_now, code: str, people: list[dict], moment: str,
           outcome: str = "registered") -> None:
    """Check the couple in at the desk and register (or refuse) them at window 3."""
    set_now(moment)
    desk, registrar = headers("desk"), headers("registrar")
    ticket = client.post(f"/api/v1/offices/{OFFICE}/tickets", headers=desk, json={
        "appointment": code, "present": [p["id_number"] for p in people]})
    assert ticket.status_code == 201, ticket.get_json()
    called = client.post(f"/api/v1/offices/{OFFICE}/windows/{WINDOW}/call-next",
                         headers=registrar)
    assert called.status_code == 200
    body = {"outcome": outcome} | ({"reason": "not_voluntary"} if outcome == "refused" else {})
    done = client.post(f"/api/v1/tickets/{called.get_json()['ticket']['id']}/complete",
                       headers=registrar, json=body)
    assert done.status_code == 200, done.get_json()


@pytest.fixture
def opened(client, offices, set_now, headers):
    """A couple whose divorce application chuanshan accepted on 2026-09-07."""
    people = couple()
    set_now("2026-09-04T10:00:00+08:00")
    booked = _book(client, "divorce", "2026-09-07", people=people)
    assert booked.status_code == 201
    _serve(client, headers, set_now, booked.get_json()["code"], people,
           "2026-09-07T09:05:00+08:00")
    return people


def _cases(client, headers, id_number: str) -> list[dict]:
    response = client.get(f"/api/v1/offices/{OFFICE}/divorce-cases",
                          query_string={"id_number": id_number}, headers=headers("desk"))
    assert response.status_code == 200
    return response.get_json()["cases"]


def _withdraw(client, headers, case_id: int, id_number: str, role: str = "registrar"):
    return client.post(f"/api/v1/divorce-cases/{case_id}/withdraw", headers=headers(role),
                       json={"id_number": id_number})


def _messages() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def test_a_registered_application_opens_a_case_found_by_either_party(client, opened, headers):
    for person in opened:
        [case] = _cases(client, headers, person["id_number"])
        assert case == {"id": case["id"], "status": "cooling_off", "accepted_on": "2026-09-07",
                        "cooling_off_ends": "2026-10-08", "certificate_from": "2026-10-09",
                        "certificate_until": "2026-11-09"}
    assert _cases(client, headers, couple()[0]["id_number"]) == []  # somebody else
    # no names and no ID numbers in the answer
    text = client.get(f"/api/v1/offices/{OFFICE}/divorce-cases",
                      query_string={"id_number": opened[0]["id_number"]},
                      headers=headers("registrar")).get_data(as_text=True)
    assert opened[0]["id_number"] not in text and opened[0]["name"] not in text
    # another office's staff: 403; no token: 401
    assert client.get(f"/api/v1/offices/{OFFICE}/divorce-cases",
                      query_string={"id_number": opened[0]["id_number"]},
                      headers=headers("desk", "anju")).status_code == 403
    assert client.get(f"/api/v1/offices/{OFFICE}/divorce-cases",
                      query_string={"id_number": "x"}).status_code == 401
    missing = client.get(f"/api/v1/offices/{OFFICE}/divorce-cases", headers=headers("desk"))
    assert missing.status_code == 422 and problem_code(missing) == "invalid_request"


def test_while_a_case_is_open_the_couple_cannot_apply_again(client, opened, set_now):
    set_now("2026-09-20T10:00:00+08:00")
    again = _book(client, "divorce", "2026-09-28", people=opened)
    assert again.status_code == 422 and problem_code(again) == "not_eligible"
    assert "2026-10-08" in again.get_json()["detail"]


def test_one_party_withdraws_during_cooling_off(client, opened, set_now, headers):
    set_now("2026-09-20T10:00:00+08:00")
    step2 = _book(client, "divorce-certificate", "2026-10-09", people=opened)
    assert step2.status_code == 201
    [case] = _cases(client, headers, opened[0]["id_number"])
    stranger = couple()[1]["id_number"]
    refused = _withdraw(client, headers, case["id"], stranger)
    assert refused.status_code == 422 and problem_code(refused) == "not_a_party"
    assert _withdraw(client, headers, case["id"], stranger, "desk").status_code == 422
    assert client.post(f"/api/v1/divorce-cases/{case['id']}/withdraw", headers=headers("desk"),
                       json={}).status_code == 422
    assert client.post("/api/v1/divorce-cases/999999/withdraw", headers=headers("desk"),
                       json={"id_number": stranger}).status_code == 404
    # the other party, alone, with the number as typed (spaces and case do not matter)
    typed = " ".join([opened[1]["id_number"][:6], opened[1]["id_number"][6:].lower()])
    withdrawn = _withdraw(client, headers, case["id"], typed)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"

    [case] = _cases(client, headers, opened[0]["id_number"])
    assert case["status"] == "withdrawn"
    # the step-2 appointment is cancelled and its seat is back
    appointment = db.session.scalar(select(Appointment).where(
        Appointment.code == step2.get_json()["code"]))
    assert appointment.status == "cancelled"
    slot = db.session.get(Slot, appointment.slot_id)
    db.session.refresh(slot)
    assert slot.booked == 0
    # audited
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "divorce_case.withdraw"))
    assert entry is not None and entry.target == f"divorce_case:{case['id']}"
    # closed: no second withdrawal, no step 2, a message that says what happened
    again = _withdraw(client, headers, case["id"], opened[0]["id_number"])
    assert again.status_code == 409 and problem_code(again) == "case_closed"
    step2 = _book(client, "divorce-certificate", "2026-10-12", people=opened)
    assert step2.status_code == 422 and problem_code(step2) == "no_divorce_application"
    assert "撤回" in step2.get_json()["detail"]
    # and the couple may apply again
    assert _book(client, "divorce", "2026-09-28", people=opened).status_code == 201


def test_withdrawal_sends_no_sms_and_the_closed_case_no_notices(client, opened, set_now,
                                                                 headers):
    from booking.reminders import queue_divorce_window_notices

    set_now("2026-09-20T10:00:00+08:00")
    assert _book(client, "divorce-certificate", "2026-10-09", people=opened).status_code == 201
    [case] = _cases(client, headers, opened[0]["id_number"])
    before = _messages()
    assert _withdraw(client, headers, case["id"], opened[0]["id_number"]).status_code == 200
    assert _messages() == before
    set_now("2026-10-09T10:00:00+08:00")
    assert queue_divorce_window_notices() == "nothing due"
    set_now("2026-11-05T10:00:00+08:00")
    assert queue_divorce_window_notices() == "nothing due"
    assert _messages() == before


def test_withdrawal_is_possible_on_the_last_day_of_cooling_off_and_refused_after_it(
        client, opened, set_now, headers):
    [case] = _cases(client, headers, opened[0]["id_number"])
    set_now("2026-10-09T09:00:00+08:00")
    late = _withdraw(client, headers, case["id"], opened[0]["id_number"])
    assert late.status_code == 409 and problem_code(late) == "case_closed"
    assert "2026-10-08" in late.get_json()["detail"]
    assert _cases(client, headers, opened[0]["id_number"])[0]["status"] == "cooling_off"
    set_now("2026-10-08T16:00:00+08:00")
    assert _withdraw(client, headers, case["id"], opened[1]["id_number"]).get_json() == {
        "id": case["id"], "status": "withdrawn"}


def test_step_two_registered_certifies_the_case(client, opened, set_now, headers):
    from booking.reminders import queue_divorce_window_notices

    set_now("2026-10-01T10:00:00+08:00")
    step2 = _book(client, "divorce-certificate", "2026-10-12", people=opened)
    assert step2.status_code == 201
    _serve(client, headers, set_now, step2.get_json()["code"], opened,
           "2026-10-12T09:05:00+08:00")
    [case] = _cases(client, headers, opened[0]["id_number"])
    assert case["status"] == "certified"
    assert db.session.get(DivorceCase, case["id"]).closed_at is not None
    set_now("2026-10-13T10:00:00+08:00")
    again = _book(client, "divorce-certificate", "2026-10-15", people=opened)
    assert again.status_code == 422 and problem_code(again) == "no_divorce_application"
    assert "离婚证已发给" in again.get_json()["detail"]
    closed = _withdraw(client, headers, case["id"], opened[0]["id_number"])
    assert closed.status_code == 409 and problem_code(closed) == "case_closed"
    before = _messages()
    set_now("2026-11-05T10:00:00+08:00")  # the "window closes soon" day: nothing for it
    assert queue_divorce_window_notices() == "nothing due"
    assert _messages() == before


def test_a_refused_step_two_leaves_the_case_open(client, opened, set_now, headers):
    set_now("2026-10-01T10:00:00+08:00")
    step2 = _book(client, "divorce-certificate", "2026-10-12", people=opened)
    _serve(client, headers, set_now, step2.get_json()["code"], opened,
           "2026-10-12T09:05:00+08:00", outcome="refused")
    assert _cases(client, headers, opened[0]["id_number"])[0]["status"] == "cooling_off"


@pytest.mark.parametrize("job", ["daily-reset", "no-show-sweep"])
def test_the_day_after_the_window_an_unclaimed_case_lapses(client, opened, set_now, headers,
                                                          runner, job):
    from booking.reminders import queue_divorce_window_notices

    set_now("2026-11-09T23:50:00+08:00")  # the last day: still open
    result = runner.invoke(args=["jobs", "run", job])
    assert result.exit_code == 0, result.output
    [case] = _cases(client, headers, opened[0]["id_number"])
    assert case["status"] == "cooling_off"
    assert db.session.get(DivorceCase, case["id"]).status == "cooling_off"

    set_now("2026-11-10T00:06:00+08:00")
    result = runner.invoke(args=["jobs", "run", job])
    assert result.exit_code == 0 and "1 divorce case(s) lapsed" in result.output
    stored = db.session.get(DivorceCase, case["id"])
    db.session.refresh(stored)
    assert stored.status == "lapsed" and stored.closed_at is not None
    assert _cases(client, headers, opened[0]["id_number"])[0]["status"] == "lapsed"
    # again: nothing more
    assert "lapsed" not in runner.invoke(args=["jobs", "run", job]).output
    # closed: no step 2, no SMS, and the couple may apply again
    set_now("2026-11-10T10:00:00+08:00")
    step2 = _book(client, "divorce-certificate", "2026-11-12", people=opened)
    assert step2.status_code == 422 and problem_code(step2) == "no_divorce_application"
    assert "视为撤回" in step2.get_json()["detail"]
    assert queue_divorce_window_notices() == "nothing due"
    assert _book(client, "divorce", "2026-11-12", people=opened).status_code == 201


def test_the_database_holds_the_case_rules(app, opened):
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    case = db.session.scalar(select(DivorceCase))
    for values in ({"status": "withdrawn"},  # closed without a time or the party
                   {"status": "closing"},  # no such status
                   {"status": "certified", "withdrawn_by_party": "x"}):
        with pytest.raises(IntegrityError):
            db.session.execute(update(DivorceCase).where(DivorceCase.id == case.id)
                               .values(**values))
            db.session.flush()
        db.session.rollback()
    # one open case per couple
    twin = DivorceCase(office_id=case.office_id, couple_hash=case.couple_hash,
                       party_hashes=case.party_hashes, party_a_hash=case.party_a_hash,
                       party_b_hash=case.party_b_hash, accepted_on=case.accepted_on,
                       cooling_off_ends=case.cooling_off_ends, step2_from=case.step2_from,
                       step2_until=case.step2_until, status="cooling_off")
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
