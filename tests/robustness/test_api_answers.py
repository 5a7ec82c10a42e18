"""Real answers of the API's main operations fit the schemas /api/v1/openapi.json gives for
them (answers are not validated at run time: this is where the answer models are held to
the code). A day at the office "robust": a booking, its changes, the check-in and a
walk-in, the calls at the windows, the hall screen, the rating tablet, the statistics."""

from __future__ import annotations

import jsonschema_rs
import pytest

from core.extensions import db
from staff.services import create_user
from tests.robustness.helpers import MONDAY, booking, ids_of

DOCUMENT = "/api/v1/openapi.json"


@pytest.fixture
def api(app, client, robust_office, offices):
    """api("GET", path, status, headers=…, json=…, query=…): the answer, after checking that
    its status is documented and its body fits the documented schema for it."""
    document = client.get(DOCUMENT).get_json()
    checked = set()

    def call(method: str, path: str, status: int, *, template: str | None = None,
             headers: dict | None = None, json=None, query: dict | None = None):
        response = client.open("/api/v1" + path, method=method, json=json,
                               query_string=query, headers=headers or {})
        assert response.status_code == status, (method, path, response.get_data(as_text=True))
        operation = document["paths"][template or path][method.lower()]
        described = operation["responses"].get(str(status))
        assert described is not None, f"{method} {template or path}: {status} is not documented"
        content = described.get("content")
        if not content:
            assert response.get_data() == b"", f"{method} {path}: a body where none is said"
            checked.add((method, template or path, status))
            return response
        assert response.mimetype in content, (method, path, response.mimetype, list(content))
        schema = content[response.mimetype]["schema"]
        if response.mimetype.endswith("json"):
            validator = jsonschema_rs.validator_for(
                schema | {"components": document["components"]}, validate_formats=True)
            errors = [str(error).splitlines()[0]
                      for error in validator.iter_errors(response.get_json())]
            assert not errors, f"{method} {path} {status}: {errors}"
        else:
            assert response.get_data(as_text=True)
        checked.add((method, template or path, status))
        db.session.rollback()
        return response

    call.checked = checked
    call.document = document
    return call


@pytest.fixture
def staff(app, robust_office):
    for role in ("admin", "desk", "registrar"):
        create_user(f"answers-{role}", role, "password-123", None)
    db.session.commit()


def test_answers_fit_the_document(api, staff, set_now):
    def log_in() -> tuple[dict, dict, dict]:
        """The admin's, the desk's and the registrar's bearer headers (tokens expire)."""
        return tuple({"Authorization": "Bearer " + api("POST", "/auth/token", 200, json={
            "username": f"answers-{role}", "password": "password-123"}).get_json()["token"]}
            for role in ("admin", "desk", "registrar"))

    admin, desk, registrar = log_in()
    api("POST", "/auth/token", 401, json={"username": "answers-desk", "password": "wrong"})

    # public look-ups
    api("GET", "/offices", 200)
    api("GET", "/services", 200)
    api("GET", "/offices/robust/calendar", 200, template="/offices/{office}/calendar",
        query={"from": "2026-06-10", "days": 7})
    peak = api("GET", "/offices/chuanshan/calendar", 200, template="/offices/{office}/calendar",
               query={"from": "2026-05-18", "days": 5}).get_json()
    assert any(day["peak"] for day in peak["days"])  # 5·20: a peak day is described too
    api("GET", "/offices/chuanshan/availability", 200,
        template="/offices/{office}/availability",
        query={"service": "marriage", "from": "2026-05-18", "days": 5})
    days = api("GET", "/offices/robust/availability", 200,
               template="/offices/{office}/availability",
               query={"service": "marriage", "from": MONDAY, "days": 3}).get_json()["days"]
    assert days[0]["slots"] and days[0]["bookable"]
    api("GET", "/offices/nowhere/calendar", 404, template="/offices/{office}/calendar")
    api("GET", "/offices/robust/calendar", 422, template="/offices/{office}/calendar",
        query={"days": 0})

    # an appointment and its changes
    made = api("POST", "/appointments", 201, json=booking(1)).get_json()
    token, code = made["token"], made["code"]
    api("POST", "/appointments", 409, json=booking(1))
    api("GET", f"/appointments/{token}", 200, template="/appointments/{token}")
    api("GET", f"/appointments/{token}/qr.svg", 200, template="/appointments/{token}/qr.svg")
    api("GET", f"/appointments/{token}/calendar.ics", 200,
        template="/appointments/{token}/calendar.ics")
    api("POST", f"/appointments/{token}/reschedule", 200,
        template="/appointments/{token}/reschedule", json={"date": MONDAY, "start": "09:30"})
    api("POST", f"/appointments/{token}/reschedule", 200,
        template="/appointments/{token}/reschedule", json={"date": MONDAY, "start": "09:00"})
    api("GET", "/offices/robust/appointments", 200, template="/offices/{office}/appointments",
        headers=desk, query={"date": MONDAY})
    api("POST", "/offices/robust/appointments/search", 200,
        template="/offices/{office}/appointments/search", headers=desk, json={"query": code})
    other = api("POST", "/appointments", 201, json=booking(2)).get_json()
    api("POST", f"/appointments/{other['token']}/cancel", 200,
        template="/appointments/{token}/cancel")
    third = api("POST", "/appointments", 201, json=booking(3)).get_json()
    api("POST", f"/offices/robust/appointments/{third['code']}/cancel", 200,
        template="/offices/{office}/appointments/{code}/cancel", headers=desk,
        json={"reason": "办公场所临时调整"})
    api("GET", "/appointments/not-a-token-at-all", 404, template="/appointments/{token}")

    # Monday at the hall: the check-in, walk-ins, the windows
    set_now(f"{MONDAY}T09:00:00+08:00")
    admin, desk, registrar = log_in()
    tickets = "/offices/{office}/tickets"
    api("POST", "/offices/robust/tickets", 201, template=tickets, headers=desk,
        json={"appointment": code, "present": ids_of(1)})
    walk_ins = [api("POST", "/offices/robust/tickets", 201, template=tickets, headers=desk,
                    json={"service": "marriage", "present": ids_of(index),
                          "phone": "13800138000", "green_channel": index == 11}).get_json()
                for index in (10, 11, 12)]
    api("POST", "/offices/robust/tickets", 409, template=tickets, headers=desk,
        json={"service": "marriage", "present": ids_of(10)})
    display = "/offices/{office}/display"
    api("GET", "/offices/robust/display", 200, template=display)

    call_next = "/offices/{office}/windows/{window}/call-next"
    called = api("POST", "/offices/robust/windows/1/call-next", 200, template=call_next,
                 headers=registrar).get_json()["ticket"]
    state = api("GET", "/offices/robust/display", 200, template=display,
                query={"view": "screen"})
    api("GET", "/offices/robust/display", 304, template=display, query={"view": "screen"},
        headers={"If-None-Match": state.headers["ETag"].strip('"')})
    for walk_in in walk_ins:
        api("GET", f"/tickets/{walk_in['token']}", 200, template="/tickets/{token}")
        api("GET", f"/tickets/{walk_in['token']}", 200, template="/tickets/{token}",
            query={"view": "page"})
    ticket = f"/tickets/{called['id']}"
    api("POST", ticket + "/recall", 200, template="/tickets/{id}/recall", headers=registrar)
    api("POST", ticket + "/transfer", 200, template="/tickets/{id}/transfer",
        headers=registrar, json={"window": "2"})
    again = api("POST", "/offices/robust/windows/2/call-next", 200, template=call_next,
                headers=registrar).get_json()["ticket"]
    api("GET", "/offices/robust/windows/2/rating", 200,
        template="/offices/{office}/windows/{window}/rating")
    api("POST", f"/tickets/{again['id']}/complete", 200, template="/tickets/{id}/complete",
        headers=registrar, json={"outcome": "registered"})
    api("GET", "/offices/robust/windows/2/rating", 200,
        template="/offices/{office}/windows/{window}/rating")
    api("POST", f"/tickets/{again['id']}/complete", 409, template="/tickets/{id}/complete",
        headers=registrar, json={"outcome": "registered"})
    refused = api("POST", "/offices/robust/windows/1/call-next", 200, template=call_next,
                  headers=registrar).get_json()["ticket"]
    api("POST", f"/tickets/{refused['id']}/complete", 200, template="/tickets/{id}/complete",
        headers=registrar, json={"outcome": "refused", "reason": "documents_incomplete"})
    absent = api("POST", "/offices/robust/windows/1/call-next", 200, template=call_next,
                 headers=registrar).get_json()["ticket"]
    api("POST", f"/tickets/{absent['id']}/no-show", 200, template="/tickets/{id}/no-show",
        headers=registrar)
    api("POST", f"/tickets/{absent['id']}/requeue", 200, template="/tickets/{id}/requeue",
        headers=desk)
    api("POST", f"/tickets/{absent['id']}/requeue", 409, template="/tickets/{id}/requeue",
        headers=desk)
    api("POST", "/offices/robust/windows/1/call-next", 200, template=call_next,
        headers=registrar)
    api("POST", "/offices/robust/windows/1/call-next", 200, template=call_next,
        headers=registrar)
    api("POST", "/offices/robust/windows/1/call-next", 204, template=call_next,
        headers=registrar)
    api("POST", "/offices/robust/windows/3/pause", 200,
        template="/offices/{office}/windows/{window}/pause", headers=registrar)
    api("POST", "/offices/robust/windows/3/call-next", 409, template=call_next,
        headers=registrar)
    api("POST", "/offices/robust/windows/3/resume", 200,
        template="/offices/{office}/windows/{window}/resume", headers=registrar)
    api("GET", "/offices/robust/display", 200, template=display, query={"view": "screen"})
    api("POST", "/tickets/99999/recall", 404, template="/tickets/{id}/recall",
        headers=registrar)

    # a divorce case of the office: looked up by a party, withdrawn by the other
    from datetime import date

    from sqlalchemy import select

    from booking.divorce import record_divorce_application
    from core.privacy import keyed_hash
    from offices.models import Office

    robust = db.session.scalar(select(Office).where(Office.code == "robust"))
    parties = ids_of(20)
    case = record_divorce_application(robust, [keyed_hash(n) for n in parties],
                                      date.fromisoformat(MONDAY))
    db.session.commit()
    cases, withdraw = "/offices/{office}/divorce-cases", "/divorce-cases/{case_id}/withdraw"
    found = api("GET", "/offices/robust/divorce-cases", 200, template=cases, headers=desk,
                query={"id_number": parties[0]}).get_json()
    assert [c["id"] for c in found["cases"]] == [case.id]
    api("POST", f"/divorce-cases/{case.id}/withdraw", 422, template=withdraw,
        headers=registrar, json={"id_number": ids_of(21)[0]})
    api("POST", f"/divorce-cases/{case.id}/withdraw", 200, template=withdraw,
        headers=registrar, json={"id_number": parties[1]})
    api("POST", f"/divorce-cases/{case.id}/withdraw", 409, template=withdraw,
        headers=registrar, json={"id_number": parties[1]})
    api("POST", "/divorce-cases/99999/withdraw", 404, template=withdraw, headers=registrar,
        json={"id_number": parties[1]})

    # the statistics, grouped every way
    for group in ("office_service_date", "office_date", "date", "office_service", "office",
                  "service"):
        api("GET", "/stats", 200, headers=admin,
            query={"from": "2026-06-01", "to": MONDAY, "group": group})
    api("GET", "/stats", 403, headers=desk)
    api("GET", "/stats", 401)

    api("POST", "/auth/revoke", 200, headers=desk)
    api("POST", "/auth/revoke", 401, headers=desk)

    # every operation of the document had at least one real answer checked
    operations = {(method.upper(), path) for path, item in api.document["paths"].items()
                  for method in item}
    answered = {(method, path) for method, path, status in api.checked if status < 300}
    assert operations - answered == set()
