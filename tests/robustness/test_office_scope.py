"""Office scope and the audit of personal data (docs/api.md §3.4).

Two offices, alpha (A) and beta (B). A has bookings, checked-in and called tickets, a
follow-up case, a suggestion with its sender's name and phone, and a calendar override. B's
desk clerk, registrar and admin (all bound to beta) try every staff route of the app
(app.url_map): with A's office code they get 403; with their own office and A's ids, codes
and ID numbers they find nothing and change nothing; no page, API answer or export of
theirs shows anything of A's. Every staff view of unmasked personal data writes one audit
entry that names the appointment or ticket, never the data."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from bench.ids import couple
from booking.models import Appointment
from core.audit import AuditEntry
from core.auth import User, issue_token
from core.extensions import db
from core.privacy import mask_id
from feedback.models import FollowUpCase, Suggestion
from hallqueue.models import Ticket
from notify.models import OutboxMessage
from offices.loader import load_offices
from offices.models import Office, Window
from staff.services import create_user
from tests.robustness.helpers import MONDAY, NOW, TUESDAY, office_toml
from tests.robustness.test_authorization import SIGNED_IN, guard_roles

MONDAY_OPEN = "2026-06-15T10:00:00+08:00"
PASSWORD = "password-123"

TWO_OFFICES = (office_toml("alpha", "甲区婚姻登记处", windows=2)
               + office_toml("beta", "乙区婚姻登记处", windows=2))

# couples by index: A's at alpha, B's at beta; SHARED books a reissue at alpha on Monday and
# a marriage at beta on Tuesday (beta's desk must find beta's, though alpha's is nearer).
A_CHECKED_IN, A_CALLED, A_BOOKED, A_WALK_IN = 11, 12, 13, 14
B_COUPLE, SHARED = 21, 31
OFFICE_ARGS = {"office", "office_code"}
# The sender of A's suggestion (a name and phone that are nobody else's).
SENDER = {"name": "欧阳思远", "phone": "13912345678", "e164": "+8613912345678"}


def _book(client, office: str, index: int, day: str, start: str,
          service: str = "marriage", people: int = 2) -> dict:
    response = client.post("/api/v1/appointments", json={
        "office": office, "service": service, "date": day, "start": start,
        "applicants": couple(index)[:people]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _rate_badly(ticket_id: int) -> None:
    """A bad rating of a completed ticket: it opens a follow-up case (feedback.cases)."""
    from core.database import write_transaction
    from feedback.cases import open_case
    from feedback.models import Rating

    with write_transaction():
        ticket = db.session.get(Ticket, ticket_id)
        rating = Rating(ticket_id=ticket.id, office_id=ticket.office_id,
                        service_code=ticket.service_code, date=ticket.date,
                        window_id=ticket.window_id, level=1, comment="等候太久", channel="sms")
        db.session.add(rating)
        db.session.flush()
        open_case(rating, db.session.get(Office, ticket.office_id))


def _bearer(user: User) -> dict:
    token, _ = issue_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _signed_in(app, user: User):
    client = app.test_client()
    response = client.post("/staff/login", data={"username": user.username,
                                                 "password": PASSWORD})
    assert response.status_code == 302, user.username
    return client


def _secrets_of(people: list[dict]) -> set[str]:
    """What of a person must never reach another office's staff: the name, the ID number
    (as typed in either case, and masked), the phone (as typed and E.164)."""
    found = set()
    for person in people:
        number = person["id_number"]
        found |= {person["name"], number, number.lower(), mask_id(number),
                  person["phone"], "+86" + person["phone"]}
    return found


@pytest.fixture
def world(app, client, set_now):
    """Both offices with their staff and A's and B's records; the clock at Monday 10:00."""
    set_now(NOW)  # Wednesday: Monday and Tuesday are bookable
    load_offices(TWO_OFFICES)
    db.session.commit()
    made = {
        "checked_in": _book(client, "alpha", A_CHECKED_IN, MONDAY, "09:00"),
        "called": _book(client, "alpha", A_CALLED, MONDAY, "09:00"),
        "booked": _book(client, "alpha", A_BOOKED, MONDAY, "09:30"),
        "shared_alpha": _book(client, "alpha", SHARED, MONDAY, "10:30", "reissue", 1),
        "b": _book(client, "beta", B_COUPLE, MONDAY, "09:00"),
        "shared_beta": _book(client, "beta", SHARED, TUESDAY, "09:00"),
    }
    set_now(MONDAY_OPEN)
    users = {"admin": create_user("scope-admin", "admin", PASSWORD)}
    for office in ("alpha", "beta"):
        for role in ("desk", "registrar", "admin"):
            users[f"{role}-{office}"] = create_user(f"scope-{role}-{office}", role, PASSWORD,
                                                    office)
    db.session.commit()
    admin = _bearer(users["admin"])

    def api(path: str, body: dict, headers: dict) -> dict:
        response = client.post(f"/api/v1{path}", json=body, headers=headers)
        assert response.status_code in (200, 201), (path, response.get_json())
        return response.get_json()

    def present(index: int) -> list[str]:
        return [person["id_number"] for person in couple(index)]

    tickets = {
        "checked_in": api("/offices/alpha/tickets", {
            "appointment": made["checked_in"]["code"], "present": present(A_CHECKED_IN)},
            admin),
        "called": api("/offices/alpha/tickets", {
            "appointment": made["called"]["code"], "present": present(A_CALLED)}, admin),
        "walk_in": api("/offices/alpha/tickets", {
            "service": "marriage", "present": present(A_WALK_IN), "phone": "13800000014"},
            admin),
        "b": api("/offices/beta/tickets", {
            "appointment": made["b"]["code"], "present": present(B_COUPLE)},
            _bearer(users["desk-beta"])),
    }
    registrar_a = _bearer(users["registrar-alpha"])
    first = api("/offices/alpha/windows/1/call-next", {}, registrar_a)["ticket"]
    assert first["id"] == tickets["checked_in"]["id"]
    api(f"/tickets/{first['id']}/complete", {"outcome": "registered"}, registrar_a)
    _rate_badly(first["id"])
    second = api("/offices/alpha/windows/1/call-next", {}, registrar_a)["ticket"]
    assert second["id"] == tickets["called"]["id"]
    api("/offices/beta/windows/1/call-next", {}, _bearer(users["registrar-beta"]))
    for office, name, phone in (("alpha", SENDER["name"], SENDER["phone"]),
                                ("beta", "乙方来信", "13900000002"), ("", "全市来信", "")):
        sent = client.post("/suggestions", data={
            "office": office, "category": "advice", "text": "希望增加周末办理的时段。",
            "name": name, "phone": phone})
        assert sent.status_code == 302, sent.get_data(as_text=True)
    admin_page = _signed_in(app, users["admin"])
    override = admin_page.post("/staff/calendar/alpha/overrides", data={
        "date": "2026-07-01", "mode": "closed", "hours": "", "note": "设备检修"})
    assert override.status_code == 302
    db.session.expire_all()

    alpha, beta = (db.session.scalar(select(Office).where(Office.code == c))
                   for c in ("alpha", "beta"))
    case = db.session.scalar(select(FollowUpCase).where(FollowUpCase.office_id == alpha.id))
    assert case is not None
    suggestion = db.session.scalar(select(Suggestion).where(Suggestion.office_id == alpha.id))
    city_wide = db.session.scalar(select(Suggestion).where(Suggestion.office_id.is_(None)))
    a_codes = {made[key]["code"] for key in ("checked_in", "called", "booked", "shared_alpha")}
    a_tokens = {made[key]["token"] for key in ("checked_in", "called", "booked",
                                                "shared_alpha")}
    a_tokens |= {tickets[key]["token"] for key in ("checked_in", "called", "walk_in")}
    a_people = [*couple(A_CHECKED_IN), *couple(A_CALLED), *couple(A_BOOKED),
                *couple(A_WALK_IN)]
    b_people = [*couple(B_COUPLE), *couple(SHARED)]
    a_secrets = _secrets_of(a_people) | {SENDER["name"], SENDER["phone"], SENDER["e164"]}
    b_secrets = _secrets_of(b_people)
    assert not a_secrets & b_secrets, "pick couples whose names and numbers differ"
    message = db.session.scalar(select(func.min(OutboxMessage.id)))  # A's first booking's
    return {
        "users": users, "alpha": alpha, "beta": beta, "made": made, "tickets": tickets,
        "case": case, "suggestion": suggestion, "city_wide": city_wide,
        "a_codes": a_codes, "a_secrets": a_secrets | a_codes | a_tokens,
        "a_ids": [p["id_number"] for p in a_people],
        "override_id": _override_id(alpha), "message_id": message or 1,
    }


def _override_id(office: Office) -> int:
    from hours.models import CalendarOverride

    return db.session.scalar(select(CalendarOverride.id).where(
        CalendarOverride.office_id == office.id))


# --- what A looks like, before and after B's staff tried everything -----------------------

def _state_of_alpha(world) -> dict:
    db.session.expire_all()
    alpha = world["alpha"].id
    return {
        "appointments": sorted(db.session.execute(
            select(Appointment.code, Appointment.status, Appointment.date, Appointment.start)
            .where(Appointment.office_id == alpha)).all()),
        "tickets": sorted(db.session.execute(
            select(Ticket.id, Ticket.status, Ticket.window_id, Ticket.call_count,
                   Ticket.outcome).where(Ticket.office_id == alpha)).all()),
        "windows": sorted(db.session.execute(
            select(Window.number, Window.paused).where(Window.office_id == alpha)).all()),
        "case": db.session.execute(select(FollowUpCase.status, FollowUpCase.assignee_id)
                                   .where(FollowUpCase.office_id == alpha)).all(),
        "suggestions": sorted(db.session.execute(
            select(Suggestion.id, Suggestion.status, Suggestion.reply)).all()),
        "override": _override_id(world["alpha"]),
        "staff": sorted(db.session.execute(
            select(User.__table__).where(User.office_id == alpha)).all()),
    }


def _url(rule, values: dict) -> str:
    path = rule.rule
    for argument in rule.arguments:
        path = re.sub(rf"<(?:[a-z]+:)?{argument}>", str(values[argument]), path)
    return path


def _values(world, office: str) -> dict:
    """Every path argument: `office` as given, every id and code one of A's."""
    made, tickets = world["made"], world["tickets"]
    return {
        "office": office, "office_code": office, "window": "1", "window_number": "1",
        "code": made["booked"]["code"], "token": made["booked"]["token"],
        "ticket_id": tickets["called"]["id"],
        "appointment_id": db.session.scalar(select(Appointment.id).where(
            Appointment.code == made["booked"]["code"])),
        "case_id": world["case"].id, "suggestion_id": world["suggestion"].id,
        "user_id": world["users"]["registrar-alpha"].id, "override_id": world["override_id"],
        "message_id": world["message_id"], "day": MONDAY, "year": 2026,
    }


def _bodies(world) -> tuple[dict, dict]:
    """A form and a JSON body that name A's appointment, people and ticket everywhere a
    route reads them."""
    made = world["made"]
    ids = [p["id_number"] for p in couple(A_BOOKED)]
    form = {"q": made["booked"]["code"], "appointment": made["booked"]["code"],
            "present": ids, "ticket": str(world["tickets"]["called"]["id"]),
            "action": "recall", "reason": "核对", "status": "resolved", "note": "x",
            "resolution": "x", "assignee": "", "staff_number": "B-1", "on_duty": "y",
            "date": "2026-07-01", "mode": "closed", "reply": "已处理"}
    body = {"appointment": made["booked"]["code"], "present": ids,
            "query": made["booked"]["code"], "reason": "核对", "outcome": "registered"}
    return form, body


def _rules(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        if guard_roles(view) is None and rule.rule not in SIGNED_IN:
            continue  # public: test_authorization lists those on purpose
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield rule, method


class Visitor:
    """One of B's staff: a signed-in browser for the pages, a fresh token for each API
    call (POST /auth/revoke revokes the one it is sent with)."""

    def __init__(self, app, user: User):
        self.app, self.user, self.client = app, user, None

    def send(self, method: str, url: str, form: dict, body: dict):
        if url.startswith("/api/"):
            return self.app.test_client().open(
                url, method=method, headers=_bearer(self.user),
                json=body if method == "POST" else None)
        if self.client is None:
            self.client = _signed_in(self.app, self.user)
        response = self.client.open(url, method=method,
                                    data=form if method == "POST" else None)
        if url == "/staff/logout":
            self.client = None
        return response


def _text(response, typed: str = "") -> str:
    """The answer's body and the headers that could carry data; what the visitor typed,
    echoed back in the look-up field, is their own input, not A's data."""
    body = response.get_data(as_text=True)
    if typed:
        body = body.replace(f'value="{typed}"', "")
    return (body + " " + response.headers.get("Location", "") + " "
            + response.headers.get("Content-Disposition", ""))


def _leaks(text: str, secrets: set[str]) -> list[str]:
    return sorted(secret for secret in secrets if secret and secret in text)


def test_another_offices_staff_get_403_and_find_nothing_on_every_route(app, world):
    before = _state_of_alpha(world)
    form, body = _bodies(world)
    values = {office: _values(world, office) for office in ("alpha", "beta")}
    failures, checked = [], 0
    for identity in ("desk-beta", "registrar-beta", "admin-beta"):
        visitor = Visitor(app, world["users"][identity])
        for rule, method in _rules(app):
            scoped = bool(OFFICE_ARGS & set(rule.arguments))
            by_id = bool({"ticket_id", "appointment_id", "code", "case_id", "suggestion_id",
                          "user_id", "message_id"} & set(rule.arguments))
            tries = [("alpha", True)] + ([("beta", False)] if scoped else [])
            for office, must_refuse in tries:
                url = _url(rule, values[office])
                response = visitor.send(method, url, form, body)
                checked += 1
                where = f"{identity} {method} {url}"
                if response.status_code >= 500:
                    failures.append(f"{where}: {response.status_code}")
                if (must_refuse and scoped) or by_id:
                    # A's office in the path, or one of A's rows by its id: refused
                    if response.status_code not in (403, 404):
                        failures.append(f"{where}: {response.status_code}, expected 403/404")
                    elif url.startswith("/api/") and response.status_code == 403 and \
                            response.get_json()["code"] != "forbidden":
                        failures.append(f"{where}: {response.get_json()['code']}")
                leaked = _leaks(_text(response, form["q"]), world["a_secrets"])
                if leaked:
                    failures.append(f"{where}: shows A's {leaked}")
                if response.status_code in (302, 303) and not url.startswith("/api/"):
                    page = visitor.client.get(response.headers["Location"]) if \
                        visitor.client else None
                    if page is not None and _leaks(_text(page), world["a_secrets"]):
                        failures.append(f"{where} -> {response.headers['Location']}: shows "
                                        f"A's {_leaks(_text(page), world['a_secrets'])}")
    assert checked > 100
    assert not failures, "\n".join(failures)
    assert _state_of_alpha(world) == before, "B's staff changed something of A's"
    b_users = [world["users"][k].id for k in ("desk-beta", "registrar-beta", "admin-beta")]
    touched = db.session.scalars(select(AuditEntry).where(
        AuditEntry.user_id.in_(b_users), AuditEntry.office_id == world["alpha"].id)).all()
    assert not touched, [(e.action, e.target) for e in touched]


# --- look-ups: a code, an ID number, a QR scan, a ticket ----------------------------------

def test_the_desk_of_another_office_finds_none_of_alphas_appointments(app, world):
    desk = _signed_in(app, world["users"]["desk-beta"])
    code = world["made"]["booked"]["code"]
    ids = [p["id_number"] for p in couple(A_BOOKED)]
    for typed in (code, code.lower(), f" {code} ", ids[0], ids[1].lower()):
        response = desk.post("/desk/beta", data={"q": typed})  # typed, or scanned (QR)
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and "未找到该预约" in page
        assert 'id="appointment"' not in page
        assert not _leaks(page.replace(f'value="{typed.strip()}"', ""), world["a_secrets"])
    for link in (f"/desk/beta?code={code}", f"/desk/beta?q={code}"):
        response = desk.get(link)
        assert response.status_code == 302 and response.headers["Location"] == "/desk/beta"
        page = desk.get("/desk/beta").get_data(as_text=True)
        assert not _leaks(page, world["a_secrets"])
    # checking it in at beta: not found, nothing issued, A's appointment untouched
    response = desk.post("/desk/beta/tickets", data={"appointment": code, "present": ids})
    assert response.headers["Location"] == "/desk/beta"
    assert "未找到该预约" in desk.get("/desk/beta").get_data(as_text=True)
    kiosk = desk.post("/kiosk/beta", data={"appointment": ids[0], "present": ids})
    assert kiosk.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Appointment.status).where(
        Appointment.code == code)) == "booked"
    assert db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.office_id == world["beta"].id)) == 1


def test_a_persons_appointment_at_this_office_is_found_though_one_elsewhere_is_nearer(
        app, world):
    number = couple(SHARED)[0]["id_number"]
    desk = _signed_in(app, world["users"]["desk-beta"])
    response = desk.post("/desk/beta", data={"q": number})
    assert response.status_code == 303
    assert response.headers["Location"] == (
        f"/desk/beta?code={world['made']['shared_beta']['code']}")
    # staff of every office are shown the nearest, at alpha, and told it is elsewhere
    admin = _signed_in(app, world["users"]["admin"])
    response = admin.post("/desk/beta", data={"q": number})
    assert response.headers["Location"] == (
        f"/desk/beta?code={world['made']['shared_alpha']['code']}")
    assert "该预约不在本登记处办理" in admin.get(response.headers["Location"]).get_data(
        as_text=True)


def test_the_api_of_another_office_finds_none_of_alphas_appointments(app, client, world):
    desk = _bearer(world["users"]["desk-beta"])
    code = world["made"]["booked"]["code"]
    ids = [p["id_number"] for p in couple(A_BOOKED)]
    for query in (code, ids[0], ids[1].lower()):
        found = client.post("/api/v1/offices/beta/appointments/search", json={"query": query},
                            headers=desk)
        assert found.status_code == 200 and found.get_json()["appointments"] == []
        checked_in = client.post("/api/v1/offices/beta/tickets", headers=desk, json={
            "appointment": query, "present": ids})
        assert checked_in.status_code == 404
        assert checked_in.get_json()["code"] == "appointment_not_found"
    day = client.get(f"/api/v1/offices/beta/appointments?date={MONDAY}", headers=desk)
    assert day.status_code == 200 and not _leaks(day.get_data(as_text=True),
                                                 world["a_secrets"])
    cancel = client.post(f"/api/v1/offices/beta/appointments/{code}/cancel", headers=desk,
                         json={"reason": "核对"})
    assert cancel.status_code == 404
    for path in ("/offices/alpha/appointments", "/offices/alpha/appointments/search",
                 "/offices/alpha/tickets"):
        method = client.get if path.endswith("appointments") else client.post
        refused = method(f"/api/v1{path}", headers=desk, json={"query": code})
        assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"
    # staff of every office are told where it is (§3.9), and still nothing is issued
    wrong = client.post("/api/v1/offices/beta/tickets", headers=_bearer(world["users"]["admin"]),
                        json={"appointment": code, "present": ids})
    assert wrong.status_code == 422 and wrong.get_json()["code"] == "wrong_office"


def test_another_offices_ticket_cannot_be_acted_on(app, client, world):
    called = world["tickets"]["called"]["id"]
    registrar = _bearer(world["users"]["registrar-beta"])
    for action, body in (("recall", {}), ("no-show", {}), ("transfer", {"service": "reissue"}),
                         ("complete", {"outcome": "registered"})):
        response = client.post(f"/api/v1/tickets/{called}/{action}", json=body,
                               headers=registrar)
        assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    window = _signed_in(app, world["users"]["registrar-beta"])
    for action in ("recall", "no_show", "register", "transfer"):
        response = window.post("/window/beta/1", data={"ticket": str(called),
                                                      "action": action,
                                                      "target": "service:reissue"})
        assert response.headers["Location"] == "/window/beta/1"
        assert "找不到该号码" in window.get("/window/beta/1").get_data(as_text=True)
    desk = _signed_in(app, world["users"]["desk-beta"])
    assert desk.get(f"/desk/beta/tickets/{called}/print").status_code == 404
    assert desk.get(f"/desk/alpha/tickets/{called}/print").status_code == 403
    db.session.expire_all()
    ticket = db.session.get(Ticket, called)
    assert ticket.status == "called" and ticket.call_count == 1


def test_another_offices_feedback_and_exports_are_refused(app, client, world):
    admin = _signed_in(app, world["users"]["admin-beta"])
    for path in (f"/staff/feedback/cases/{world['case'].id}",
                 f"/staff/suggestions/{world['suggestion'].id}",
                 f"/staff/suggestions/{world['city_wide'].id}",  # of no office: city admins
                 "/staff/stats?office=alpha", "/staff/stats.csv?office=alpha",
                 "/staff/stats/report?office=alpha", "/staff/audit?office=alpha",
                 "/staff/audit.csv?office=alpha", "/staff/feedback/alpha/tablets",
                 "/staff/booking/alpha/export.csv", "/staff/sms"):
        assert admin.get(path).status_code == 403, path
    stats = client.get("/api/v1/stats?office=alpha",
                       headers=_bearer(world["users"]["admin-beta"]))
    assert stats.status_code == 403 and stats.get_json()["code"] == "forbidden"
    # their own lists, figures and exports hold beta's rows only
    for path in ("/staff/feedback", "/staff/feedback/cases", "/staff/suggestions",
                 "/staff/stats", "/staff/stats.csv", "/staff/stats/report", "/staff/audit",
                 "/staff/audit.csv", "/staff/registrars", f"/staff/booking/beta?date={MONDAY}",
                 f"/staff/booking/beta/export.csv?date={MONDAY}"):
        response = admin.get(path)
        assert response.status_code == 200, path
        assert not _leaks(_text(response), world["a_secrets"]), path
    listed = admin.get("/staff/suggestions").get_data(as_text=True)
    assert f"#{world['suggestion'].id}<" not in listed and f"#{world['city_wide'].id}<" \
        not in listed


# --- the audit of unmasked personal data ----------------------------------------------------

def _entries(**where) -> list[AuditEntry]:
    db.session.expire_all()
    query = select(AuditEntry).order_by(AuditEntry.id)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return list(db.session.scalars(query))


def _one_new(before: int, action: str) -> AuditEntry:
    """The one entry a view added (and nothing else)."""
    added = [e for e in _entries() if e.id > before]
    assert [e.action for e in added] == [action]
    return added[0]


def _last_id() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.max(AuditEntry.id))) or 0


def test_each_view_of_unmasked_personal_data_is_audited_once(app, world):
    alpha = world["alpha"].id
    made = world["made"]
    users = world["users"]
    desk = _signed_in(app, users["desk-alpha"])
    code = made["booked"]["code"]

    start = _last_id()
    desk.get("/desk/alpha")  # nothing personal shown: nothing audited
    assert _last_id() == start
    page = desk.get(f"/desk/alpha?code={code}").get_data(as_text=True)
    assert couple(A_BOOKED)[0]["id_number"] in page  # the desk's check-in view
    entry = _one_new(start, "appointment.view")
    assert (entry.user_id, entry.office_id, entry.target) == (
        users["desk-alpha"].id, alpha, f"appointment:{code}")

    start = _last_id()
    number = couple(A_BOOKED)[1]["id_number"]
    found = desk.post("/desk/alpha", data={"q": number})  # a look-up by ID number
    desk.get(found.headers["Location"])
    entry = _one_new(start, "appointment.view")
    assert entry.target == f"appointment:{code}"

    start = _last_id()
    desk.get(f"/staff/booking/alpha?date={MONDAY}")
    entry = _one_new(start, "appointment.list")
    assert entry.office_id == alpha and set(entry.details["codes"]) == world["a_codes"]
    start = _last_id()
    desk.post(f"/staff/booking/alpha?date={MONDAY}", data={"q": number})
    entry = _one_new(start, "appointment.list")
    assert entry.details["codes"] == [code] and entry.target.endswith(":search")
    start = _last_id()
    export = desk.get(f"/staff/booking/alpha/export.csv?date={MONDAY}")
    assert couple(A_BOOKED)[0]["name"] in export.get_data(as_text=True)
    entry = _one_new(start, "appointment.export")
    assert set(entry.details["codes"]) == world["a_codes"]

    window = _signed_in(app, users["registrar-alpha"])
    start = _last_id()
    assert couple(A_CALLED)[0]["name"] in window.get("/window/alpha/1").get_data(as_text=True)
    entry = _one_new(start, "ticket.view")
    assert entry.office_id == alpha and entry.target == "window:alpha:1"
    assert entry.details == {"tickets": [world["tickets"]["called"]["number"]],
                             "appointments": [made["called"]["code"]]}
    start = _last_id()
    window.get("/window/alpha/2")  # nobody called there: nothing audited
    assert _last_id() == start

    admin = _signed_in(app, users["admin"])
    start = _last_id()
    case_page = admin.get(f"/staff/feedback/cases/{world['case'].id}").get_data(as_text=True)
    assert "+86" + couple(A_CHECKED_IN)[0]["phone"] in case_page  # the phone to call back
    entry = _one_new(start, "feedback.case_view")
    assert entry.target == f"case:{world['case'].id}" and entry.office_id == alpha
    start = _last_id()
    letter = admin.get(f"/staff/suggestions/{world['suggestion'].id}").get_data(as_text=True)
    assert SENDER["name"] in letter
    entry = _one_new(start, "feedback.suggestion_view")
    assert entry.target == f"suggestion:{world['suggestion'].id}" and entry.office_id == alpha

    # a city admin at beta's desk sees alpha's couple: the entry is alpha's, for its admins
    start = _last_id()
    admin.get(f"/desk/beta?code={code}")
    entry = _one_new(start, "appointment.view")
    assert entry.office_id == alpha and entry.details["at_office"] == "beta"

    # no entry carries a name, ID number or phone; each names who and which office
    for entry in _entries():
        text = entry.target + json.dumps(entry.details, ensure_ascii=False)
        assert not _leaks(text, world["a_secrets"] - world["a_codes"]), entry.action
        assert entry.username
    views = [e for e in _entries() if e.action in (
        "appointment.view", "appointment.list", "appointment.export", "ticket.view",
        "feedback.case_view", "feedback.suggestion_view")]
    assert all(e.office_id is not None and e.user_id is not None for e in views)

    # alpha's admin finds them in the audit log; beta's admin does not
    alpha_admin = _signed_in(app, users["admin-alpha"])
    log = alpha_admin.get("/staff/audit?action=appointment.view").get_data(as_text=True)
    assert f"appointment:{code}" in log
    beta_admin = _signed_in(app, users["admin-beta"])
    log = beta_admin.get("/staff/audit.csv").get_data(as_text=True)
    assert not _leaks(log, world["a_codes"])
