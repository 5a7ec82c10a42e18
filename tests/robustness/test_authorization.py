"""The authorization matrix: every route of the app (app.url_map) is either public (listed
below, on purpose) or guarded by a role; each guarded route is tried by an anonymous
visitor, a desk clerk, a registrar and an admin, and by staff of another office, and lets
through exactly those it should. The roles are read from the guards themselves
(core.auth.api_roles / page_roles), so a route added without a guard fails here, and the
OpenAPI document must mark exactly the guarded API paths as needing a bearer token."""

import re

import pytest
from sqlalchemy import select

from booking.models import Appointment
from core.auth import issue_token
from core.extensions import db
from staff.services import create_user
from tests.robustness.helpers import MONDAY, booking, ids_of

# Routes anyone may use (the public site, the public API, the webhooks that check Twilio's
# signature, the hall screen and the rating tablet that stand in the hall).
PUBLIC = {
    "/", "/favicon.ico", "/static/<path:filename>", "/lang/<code>",
    "/staff/login",
    "/a/<token:token>", "/a/<token:token>/calendar.ics", "/a/<token:token>/cancel",
    "/a/<token:token>/print", "/a/<token:token>/reschedule",
    "/a/<token:token>/reschedule/<day:day>",
    "/book/<office>", "/book/<office>/<service>", "/book/<office>/<service>/<day:day>",
    "/book/<office>/<service>/<day:day>/apply", "/calendar/<office>", "/display/<office>",
    "/info/<office>", "/info/photos/<name>", "/rate/<office>/<window>",
    "/rate/t/<token:token>", "/suggestions", "/suggestions/counts",
    "/suggestions/t/<token:token>", "/t/<token:token>", "/t/<token:token>/qr.svg",
    "/sms/inbound", "/sms/status",
    "/sms/receipts/aliyun/<token:token>", "/sms/receipts/tencent/<token:token>",
    "/api/v1/appointments", "/api/v1/appointments/<token:token>",
    "/api/v1/appointments/<token:token>/calendar.ics",
    "/api/v1/appointments/<token:token>/cancel", "/api/v1/appointments/<token:token>/qr.svg",
    "/api/v1/appointments/<token:token>/reschedule",
    "/api/v1/auth/token", "/api/v1/offices", "/api/v1/offices/<office>/availability",
    "/api/v1/offices/<office>/windows/<window>/rating",
    "/api/v1/offices/<office_code>/calendar", "/api/v1/offices/<office_code>/display",
    "/api/v1/openapi.json", "/api/v1/services", "/api/v1/tickets/<token:token>",
}
# Guarded by flask_login.login_required: any signed-in staff member.
SIGNED_IN = {"/staff/", "/staff/logout"}
# What the contract says (docs/api.md §3): the roles each staff API route lets in.
CONTRACT_ROLES = {
    "/api/v1/offices/<office_code>/tickets": {"admin", "desk"},
    "/api/v1/offices/<office_code>/windows/<window_number>/call-next": {"admin", "registrar"},
    "/api/v1/tickets/<int:ticket_id>/recall": {"admin", "registrar"},
    "/api/v1/tickets/<int:ticket_id>/no-show": {"admin", "registrar"},
    "/api/v1/tickets/<int:ticket_id>/complete": {"admin", "registrar"},
}
ROLES = ("desk", "registrar", "admin")
OFFICE_ARGS = {"office", "office_code"}


def guard_roles(view) -> set[str] | None:
    """The roles an api_roles/page_roles guard lets in (read from its closure), or None."""
    function = view
    while function is not None:
        code = getattr(function, "__code__", None)
        if code is not None and code.co_filename.endswith("core/auth.py") and \
                function.__closure__:
            cells = dict(zip(code.co_freevars, (c.cell_contents for c in function.__closure__),
                             strict=True))
            if "allowed" in cells:
                return {str(getattr(role, "value", role)) for role in cells["allowed"]}
        function = getattr(function, "__wrapped__", None)
    return None


def _login_required(view) -> bool:
    function = view
    while function is not None:
        code = getattr(function, "__code__", None)
        if code is not None and "flask_login" in code.co_filename:
            return True
        function = getattr(function, "__wrapped__", None)
    return False


@pytest.fixture
def world(app, robust_office, offices, client):
    """Staff of `robust` and of `chuanshan`, an admin, an appointment and a ticket."""
    people = {}
    for role in ROLES:
        people[role] = create_user(f"matrix-{role}", role, "password-123",
                                   None if role == "admin" else "robust")
    for role in ("desk", "registrar"):
        people[f"other-{role}"] = create_user(f"matrix-other-{role}", role, "password-123",
                                              "chuanshan")
    tokens = {}
    for name, user in people.items():
        token, _ = issue_token(user)
        tokens[name] = token
    spare = create_user("matrix-spare", "registrar", "password-123", "robust")
    db.session.commit()
    made = client.post("/api/v1/appointments", json=booking(1, day=MONDAY)).get_json()
    ticket = client.post("/api/v1/offices/robust/tickets", json={
        "service": "marriage", "present": ids_of(2)},
        headers={"Authorization": f"Bearer {tokens['desk']}"}).get_json()
    db.session.commit()
    values = {
        "office": "robust", "office_code": "robust", "window": "1", "window_number": "1",
        "token": made["token"], "code": made["code"], "ticket_id": ticket["id"],
        "appointment_id": db.session.scalar(
            select(Appointment.id).where(Appointment.code == made["code"])),
        "user_id": spare.id, "day": MONDAY, "year": 2026, "service": "marriage",
        "override_id": 1, "case_id": 1, "suggestion_id": 1, "message_id": 1,
        "name": "none.jpg", "filename": "favicon.ico",
    }
    return {"people": people, "tokens": tokens, "values": values, "clients": {}}


def _url(rule, values: dict) -> str:
    path = rule.rule
    for argument in rule.arguments:
        path = re.sub(rf"<(?:[a-z]+:)?{argument}>", str(values[argument]), path)
    return path


def _rules(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield rule, method


def _send(app, method: str, url: str, identity: str | None, world: dict):
    if url.startswith("/api/"):
        headers = {}
        if identity:  # a fresh token each time: /auth/revoke revokes the one it is sent with
            token, _ = issue_token(world["people"][identity])
            db.session.commit()
            headers["Authorization"] = f"Bearer {token}"
        return app.test_client().open(url, method=method, headers=headers,
                                      json={} if method == "POST" else None)
    client = world["clients"].get(identity)
    if client is None:
        client = app.test_client()
        if identity:
            signed_in = client.post("/staff/login", data={
                "username": world["people"][identity].username, "password": "password-123"})
            assert signed_in.status_code == 302, identity
        world["clients"][identity] = client
    if url == "/staff/logout":
        world["clients"].pop(identity)  # the next page signs in again
    return client.open(url, method=method, data={} if method == "POST" else None)


def _refused(response, status: int, api: bool) -> bool:
    if response.status_code != status:
        return False
    if api:
        wanted = {401: "unauthorized", 403: "forbidden"}[status]
        return (response.mimetype == "application/problem+json"
                and response.get_json()["code"] == wanted)
    return True


def test_every_route_is_public_or_guarded(app):
    unguarded = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if guard_roles(view) is None and rule.rule not in PUBLIC:
            if rule.rule in SIGNED_IN and _login_required(view):
                continue
            unguarded.append(rule.rule)
    assert not unguarded, ("routes without a role guard that are not listed as public "
                           f"(guard them, or add them to PUBLIC on purpose): {unguarded}")
    for rule in PUBLIC:
        assert any(r.rule == rule for r in app.url_map.iter_rules()), f"{rule} no longer exists"


def test_contract_roles(app):
    for rule in app.url_map.iter_rules():
        if rule.rule in CONTRACT_ROLES:
            assert guard_roles(app.view_functions[rule.endpoint]) == CONTRACT_ROLES[rule.rule]


def test_openapi_marks_exactly_the_guarded_paths(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    documented = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            security = operation.get("security") or []
            # `{}` among the requirements: a token is optional (POST /appointments: public,
            # and staff may book for a couple with theirs)
            documented[(path, method.upper())] = bool(security) and {} not in security
    for rule, method in _rules(app):
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len("/api/v1"):])
        path = (path.replace("{office_code}", "{office}").replace("{window_number}", "{window}")
                .replace("{ticket_id}", "{id}"))
        key = (path, method)
        assert key in documented, f"{method} {path} is served but not in openapi.json"
        guarded = guard_roles(app.view_functions[rule.endpoint]) is not None
        assert documented[key] == guarded, (
            f"{method} {path}: openapi.json says security={documented[key]}, "
            f"the route is {'guarded' if guarded else 'public'}")


def test_the_matrix(app, world):
    failures = []
    checked = 0
    identities = (None, "desk", "registrar", "other-desk", "other-registrar", "admin")
    # the admin goes last: what an admin may do (a POST) can change what it touches
    for identity in identities:
        for rule, method in _rules(app):
            view = app.view_functions[rule.endpoint]
            roles = guard_roles(view)
            signed_in_only = rule.rule in SIGNED_IN
            if roles is None and not signed_in_only:
                continue
            api = rule.rule.startswith("/api/")
            url = _url(rule, world["values"])
            response = _send(app, method, url, identity, world)
            checked += 1
            role = None if identity is None else identity.removeprefix("other-")
            other_office = identity is not None and identity.startswith("other-")
            scoped = bool(OFFICE_ARGS & set(rule.arguments)) or "ticket_id" in rule.arguments
            if identity is None:
                ok = (_refused(response, 401, True) if api else
                      response.status_code in (302, 401)
                      and "/staff/login" in response.headers.get("Location", "/staff/login"))
                expected = "401 / to the login page"
            elif roles is not None and role not in roles:
                ok, expected = _refused(response, 403, api), "403"
            elif other_office and scoped:
                ok, expected = _refused(response, 403, api), "403 (another office)"
            else:
                ok = response.status_code not in (401, 403) and response.status_code < 500
                expected = "let through (not 401/403/5xx)"
            if not ok:
                failures.append(f"{identity or 'anonymous'} {method} {url}: "
                                f"{response.status_code}, expected {expected}")
    assert checked > 150
    assert not failures, "\n".join(failures)
