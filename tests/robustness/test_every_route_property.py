"""A property over every route of the app (app.url_map, pages and API alike): whatever a
client puts in the path's variables, the query string, a form or a few headers — huge and
negative numbers, digits of other scripts ("²", "１２"), years 0001 and 9999, impossible days,
newlines, NUL, redirect targets on other hosts, any other text without surrogates — the
answer is never a 5xx (docs/api.md §3.2).

For each route and method, hypothesis runs
- explicit examples, as an admin: each odd KIND in each path variable in turn (the others
  real, so that the request reaches the view), and in each query or form parameter the
  view reads (found by a first request that records what the view asks request.args and
  request.form for; the query models' fields for the API), one at a time;
- generated examples, anonymously, as an admin and as the desk (each signed in through the
  login page): any mix of real and odd path values, odd values for any of the parameters
  some view reads, odd headers.

Deterministic and bounded for CI: hypothesis derandomized, no example database, no deadline,
GENERATED examples per route and method; SQLite only (some 1–2 minutes)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict

from core.auth import issue_token
from core.extensions import db
from core.openapi import PATH_PARAMETERS
from staff.services import create_user
from tests.robustness.helpers import MONDAY, booking, ids_of

GENERATED = 5
SETTINGS = settings(max_examples=GENERATED, derandomize=True, database=None, deadline=None,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=list(HealthCheck))
ROLES = ("anonymous", "admin", "desk")
PASSWORD = "password-123"
# POSTs that end the session or the account the run signs in with: the later examples
# would test the login page only. (Their ids are bounded by the same converter.)
SESSION_ENDING = re.compile(r"^/staff/logout$|^/staff/users/|^/api/v1/auth/revoke$|"
                            r"/tablets/<office>/(?:un)?pair$")
# Every query parameter some view reads (request.args, the API's query models).
QUERY_NAMES = ("month", "page", "date", "start", "end", "year", "edit", "office", "service",
               "group", "status", "overdue", "next", "lang", "code", "q", "view", "from", "to",
               "days", "m", "user", "action", "window")
NOT_SWEPT = {"lang"}  # read by every page (the language); only compared with "zh_CN", "en"

# The kinds of odd input, each tried in every path variable and every parameter read.
KINDS = ("99999999999999999999999", "2147483648", "-1", "²", "１２", "9" * 5000,
         "0001-01-01", "9999-12-31", "9999-12-32", "99999999999999999999-01", "a\nb",
         "/\n/evil.example", "/\\evil.example", "x\x00y")
ODD = [*KINDS, "-99999999999999999999", "0", "١٢", "9999-12", "0001-01", "2026-02-30",
       "2026-13", "//evil.example", "https://evil.example/", "\x00", "%",
       "%00", "..", "1e400", "NaN", " ", "\u200b", "😀", "ＡＢＣ"]

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=24)
NUMBER = st.integers(min_value=-(10**30), max_value=10**30).map(str)
DATE_LIKE = st.tuples(st.integers(0, 99999), st.integers(0, 99), st.integers(0, 99)).map(
    lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}")
MONTH_LIKE = st.tuples(st.integers(0, 10**20), st.integers(0, 99)).map(
    lambda t: f"{t[0]:04d}-{t[1]:02d}")
VALUE = st.one_of(st.sampled_from(ODD), NUMBER, DATE_LIKE, MONTH_LIKE, TEXT)
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                      max_size=40)
HEADERS = st.dictionaries(
    st.sampled_from(["If-None-Match", "If-Modified-Since", "Accept-Language", "Range",
                     "Authorization", "X-Forwarded-For"]),
    st.one_of(HEADER_TEXT, st.sampled_from([
        "Bearer ²", "Bearer " + "9" * 60, "Sun, 31 Dec 9999 23:59:59 GMT",
        "Mon, 01 Jan 0001 00:00:00 GMT", "bytes=0-99999999999999999999", '"²"'])),
    max_size=2)


# --- what a view reads -----------------------------------------------------------------------

_read: set[str] | None = None


def _note(key) -> None:
    if _read is not None:
        _read.add(str(key))


class RecordingArgs(ImmutableMultiDict):
    """request.args and request.form that note the names a view asks for; "*" when it
    reads them all (a query model)."""

    def __getitem__(self, key):
        _note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        _note(key)
        return super().__contains__(key)

    def get(self, key, default=None, type=None):  # noqa: A002 (werkzeug's signature)
        _note(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        _note(key)
        return super().getlist(key, type)

    def items(self, multi=False):
        _note("*")
        return super().items(multi)

    def to_dict(self, flat=True):
        _note("*")
        return super().to_dict(flat)

    def __iter__(self):
        _note("*")
        return super().__iter__()


# --- the world ---------------------------------------------------------------------------------

@pytest.fixture
def world(app, robust_office, client):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the property runs on SQLite (CI time); test_malformed_input runs on both")
    admin = create_user("prop-admin", "admin", PASSWORD, None)
    create_user("prop-desk", "desk", PASSWORD, "robust")
    token, _ = issue_token(admin)
    db.session.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    made = client.post("/api/v1/appointments", json=booking(1, day=MONDAY)).get_json()
    ticket = client.post("/api/v1/offices/robust/tickets", headers=bearer, json={
        "service": "marriage", "present": ids_of(2)}).get_json()
    db.session.commit()
    real = {"office": "robust", "office_code": "robust", "window": "1", "window_number": "1",
            "service": "marriage", "day": MONDAY, "token": made["token"], "code": made["code"],
            "ticket_id": str(ticket["id"]), "filename": "css/site.css", "lang": "en"}
    document = client.get("/api/v1/openapi.json").get_json()
    app.request_class = type("RecordingRequest", (app.request_class,),
                             {"parameter_storage_class": RecordingArgs})
    return {"bearer": bearer, "real": real, "ticket_token": ticket["token"],
            "document": document}


def _signed_in(app) -> dict:
    """A test client per role, each signed in through the login page."""
    clients = {}
    for role in ROLES:
        client = app.test_client()
        if role != "anonymous":
            with app.app_context():
                answer = client.post("/staff/login", data={"username": f"prop-{role}",
                                                           "password": PASSWORD})
            assert answer.status_code == 302, (role, answer.status_code)
        clients[role] = client
    return clients


def _real_values(rule, world) -> dict[str, str]:
    values = {name: world["real"].get(name, "1") for name in rule.arguments}
    if "token" in values and rule.rule.startswith(("/t/", "/api/v1/tickets/")):
        values["token"] = world["ticket_token"]
    return values


def _url(rule, values: dict) -> str:
    return re.sub(r"<(?:[a-zA-Z_]+(?:\([^)]*\))?:)?([a-zA-Z_]+)>",
                  lambda match: quote(values[match.group(1)], safe=""), rule.rule)


def _send(app, client, method: str, url: str, query: dict, headers: dict) -> int:
    with app.app_context():  # a fresh context per request, as in a real server
        answer = client.open(url, method=method, headers=headers, query_string=query,
                             data=query if method != "GET" else None)
        status = answer.status_code
        answer.close()
    return status


def _documented_query(rule, method: str, world) -> set[str]:
    if not rule.rule.startswith("/api/v1/"):
        return set()
    path = re.sub(r"<(?:[a-zA-Z_]+:)?([a-zA-Z_]+)>",
                  lambda m: "{" + PATH_PARAMETERS.get(m.group(1), (m.group(1),))[0] + "}",
                  rule.rule[len("/api/v1"):])
    operation = world["document"]["paths"].get(path, {}).get(method.lower(), {})
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}


def _names_read(app, clients, world, rule, method: str) -> set[str]:
    """The query and form parameters the view asks for, on a request with real values."""
    global _read
    _read = set()
    try:
        _send(app, clients["admin"], method, _url(rule, _real_values(rule, world)), {},
              dict(world["bearer"]) if rule.rule.startswith("/api/") else {})
        names = set(_read)
    finally:
        _read = None
    if "*" in names:
        names |= _documented_query(rule, method, world)
    return {name for name in names if name != "*" and name not in NOT_SWEPT
            and not name.startswith(("csrf", "_"))}


# --- the property ----------------------------------------------------------------------------

def _check_rule(app, clients, world, rule, method: str) -> int:
    sent = []
    real = _real_values(rule, world)
    read = _names_read(app, clients, world, rule, method)
    path_values = st.fixed_dictionaries({name: st.one_of(st.just(value), VALUE)
                                         for name, value in real.items()})
    query = st.fixed_dictionaries({}, optional={name: VALUE for name in
                                                sorted(read | set(QUERY_NAMES))})

    @SETTINGS
    @given(values=path_values, query=query, headers=HEADERS, roles=st.just(ROLES))
    def run(values, query, headers, roles):
        url = _url(rule, values)
        for role in roles:
            extra = dict(headers)
            if role == "admin" and url.startswith("/api/") and "Authorization" not in extra:
                extra.update(world["bearer"])
            status = _send(app, clients[role], method, url, query, extra)
            sent.append(status)
            assert status < 500, f"{role} {method} {url[:200]} {query!r} {headers!r}: {status}"

    for kind in KINDS:  # explicit: each kind in each variable and parameter, one at a time
        for name in real:
            run = example(values=real | {name: kind}, query={}, headers={},
                          roles=("admin",))(run)
        for name in sorted(read):
            run = example(values=real, query={name: kind}, headers={}, roles=("admin",))(run)
    try:
        run()
    except Exception as error:
        error.add_note(f"route {method} {rule.rule}")
        raise
    return len(sent)


def test_no_route_answers_a_server_error(app, world):
    clients = _signed_in(app)
    checked = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method != "GET" and SESSION_ENDING.search(rule.rule):
                continue
            sent = _check_rule(app, clients, world, rule, method)
            assert sent >= len(ROLES), f"{method} {rule.rule}: nothing was sent"
            checked.append(f"{method} {rule.rule}")
    assert len(checked) > 80
    assert {"GET /staff/suggestions/<int:suggestion_id>", "GET /staff/sms",
            "GET /staff/stats/report", "GET /staff/login"} <= set(checked)
