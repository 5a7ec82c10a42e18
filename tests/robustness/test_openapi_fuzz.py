"""A small schemathesis-style fuzzer: every path and method that /api/v1/openapi.json
describes is called with malformed path parameters, query parameters and bodies (wrong
types, huge and empty values, NUL bytes, lone surrogates, deep nesting, not JSON at all),
as an admin (so that staff endpoints get past the guard and parse the input) and
anonymously. Never a 5xx; every error is application/problem+json with the contract's
fields (docs/api.md §3)."""

import json
import random
from urllib.parse import quote

import pytest

from core.auth import issue_token
from core.extensions import db
from staff.services import create_user
from tests.robustness.helpers import MONDAY, booking, ids_of

SEED = 20230520
RANDOM_CASES_PER_OPERATION = 25

NASTY_STRINGS = [
    "", " ", "a" * 5000, "../../../etc/passwd", "%00", "\x00", "ab\x00cd", "\ud800",
    "😀💍", "' OR 1=1 --", "<script>alert(1)</script>", "9" * 40, "-1", "0", "1e309", "NaN",
    "2026-02-30", "2026-13-01", "99:99", "24:00", "null", "true", "[]", "{}", "\t\n",
    "ＡＢＣ１２３", "11010519491231002X" * 3,
]
NASTY_VALUES = [None, True, False, 0, -1, 2 ** 63, -(2 ** 63) - 1, 1.5, 1e308, "", [], {},
                [None], {"": None}, "x" * 20000, ["a"] * 1000, {"k" * 100: "v"}]


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


RAW_BODIES = [
    (b"", "application/json"), (b"not json", "application/json"), (b"{", "application/json"),
    (b'{"a": }', "application/json"), (b"\xff\xfe\x00", "application/json"),
    (b"null", "application/json"), (b"[]", "application/json"), (b"42", "application/json"),
    (b'"text"', "application/json"), (_deep(100_000).encode(), "application/json"),
    (b'{"office": "x"}', "text/plain"), (b"office=x&service=y", "application/x-www-form-urlencoded"),
    (b'{"a": NaN, "b": Infinity}', "application/json"),
    (('{"a": "' + "\\ud800" + '"}').encode(), "application/json"),
]


@pytest.fixture
def fuzz_world(app, robust_office, offices, client):
    admin = create_user("fuzz-admin", "admin", "password-123", None)
    token, _ = issue_token(admin)
    db.session.commit()
    made = client.post("/api/v1/appointments", json=booking(1, day=MONDAY)).get_json()
    ticket = client.post("/api/v1/offices/robust/tickets", json={
        "service": "marriage", "present": ids_of(2)},
        headers={"Authorization": f"Bearer {token}"}).get_json()
    db.session.commit()
    return {
        "admin": {"Authorization": f"Bearer {token}"}, "admin_user": admin,
        "good": {"office": "robust", "window": "1", "token": made["token"],
                 "code": made["code"], "id": str(ticket["id"])},
        "ticket_token": ticket["token"],
    }


def _mutate_value(rng: random.Random, schema: dict | None):
    """A value that breaks `schema` more often than not."""
    kind = (schema or {}).get("type")
    pool = list(NASTY_VALUES) + list(NASTY_STRINGS)
    if kind == "string" and rng.random() < 0.5:
        return rng.choice(NASTY_STRINGS)
    if kind == "array" and rng.random() < 0.5:
        items = (schema or {}).get("items")
        return [_mutate_value(rng, items) for _ in range(rng.randint(0, 5))]
    if kind == "object" and rng.random() < 0.5:
        return _mutate_object(rng, schema)
    return rng.choice(pool)


def _mutate_object(rng: random.Random, schema: dict | None) -> dict:
    properties = (schema or {}).get("properties") or {}
    body = {}
    for name, sub in properties.items():
        roll = rng.random()
        if roll < 0.25:
            continue  # left out
        body[name] = _mutate_value(rng, sub)
    if rng.random() < 0.2:
        body[rng.choice(NASTY_STRINGS) or "extra"] = rng.choice(NASTY_VALUES)
    return body


def _body_schema(operation: dict) -> dict | None:
    content = (operation.get("requestBody") or {}).get("content") or {}
    return (content.get("application/json") or {}).get("schema")


def _urlsafe(value: str) -> bool:
    """A lone surrogate cannot travel in a URL (it has no UTF-8); bodies still carry it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _cases(path: str, method: str, operation: dict, world: dict, rng: random.Random):
    """(url path, query dict, raw body bytes or None, content type, with admin token)."""
    params = [p for p in operation.get("parameters", []) if isinstance(p, dict)]
    path_names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    good = dict(world["good"])
    if path.startswith("/tickets/{token}"):
        good["token"] = world["ticket_token"]

    def url(values: dict) -> str:
        out = path
        for name in path_names:
            out = out.replace("{" + name + "}", quote(str(values.get(name, "x")), safe=""))
        return "/api/v1" + out

    base = url(good)
    body_schema = _body_schema(operation)
    takes_body = method in ("post", "put", "patch")
    for auth in (True, False):
        yield base, {}, None, None, auth
    for name in path_names:  # each path parameter broken in turn
        for value in NASTY_STRINGS + ["999999999999999999999", "-5"]:
            if value in ("", "\x00", "%00") or "/" in value or not _urlsafe(value):
                continue  # not a path segment a router would pass on
            yield url(good | {name: value}), {}, None, None, True
    for param in params:  # each query parameter broken in turn
        if param.get("in") != "query":
            continue
        for value in NASTY_STRINGS + ["-5", "100000000", "1.5", "0x10"]:
            if not _urlsafe(value):
                continue
            yield base, {param["name"]: value}, None, None, True
    if takes_body:
        for raw, content_type in RAW_BODIES:
            yield base, {}, raw, content_type, True
        for value in NASTY_VALUES:
            yield base, {}, json.dumps(value).encode(), "application/json", True
    for _ in range(RANDOM_CASES_PER_OPERATION):
        query = {}
        for param in params:
            if param.get("in") == "query" and rng.random() < 0.7:
                value = str(_mutate_value(rng, param.get("schema")))[:3000]
                if _urlsafe(value):
                    query[param["name"]] = value
        raw = None
        if takes_body:
            body = _mutate_object(rng, body_schema) if body_schema else _mutate_value(rng, None)
            raw = json.dumps(body).encode()
        yield base, query, raw, "application/json", rng.random() < 0.8


def _check(response, where: str) -> str | None:
    if response.status_code >= 500:
        return f"{where}: {response.status_code} {response.get_data(as_text=True)[:300]}"
    if response.status_code >= 400:
        if response.mimetype != "application/problem+json":
            return f"{where}: {response.status_code} as {response.mimetype}, not problem+json"
        body = response.get_json()
        missing = {"type", "title", "status", "code", "detail"} - set(body)
        if missing or body["status"] != response.status_code:
            return f"{where}: problem without {missing or 'the right status'}: {body}"
    return None


def _admin_headers(path: str, world: dict) -> dict:
    """The admin's token; POST /auth/revoke gets one of its own (revoking the shared one
    would leave every later staff request at 401, short of the code it should reach)."""
    if path == "/auth/revoke":
        token, _ = issue_token(world["admin_user"])
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}
    return dict(world["admin"])


def test_no_malformed_request_gets_a_server_error(app, fuzz_world, client):
    document = client.get("/api/v1/openapi.json").get_json()
    rng = random.Random(SEED)
    failures, sent = [], 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for url, query, raw, content_type, auth in _cases(path, method, operation,
                                                              fuzz_world, rng):
                headers = _admin_headers(path, fuzz_world) if auth else {}
                if content_type:
                    headers["Content-Type"] = content_type
                response = client.open(url, method=method.upper(), query_string=query,
                                       data=raw, headers=headers)
                sent += 1
                where = f"{method.upper()} {url[:120]} {str(query)[:120]} {(raw or b'')[:80]!r}"
                problem = _check(response, where)
                if problem:
                    failures.append(problem)
                elif auth and response.status_code == 401 and \
                        response.get_json()["code"] == "unauthorized":
                    failures.append(f"{where}: the admin's token was refused")
                db.session.rollback()
    assert sent > 1000
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(
        failures[:25])


def test_unknown_paths_and_methods_are_problems_too(client):
    for method, url in (("GET", "/api/v1/nothing-here"), ("DELETE", "/api/v1/appointments"),
                        ("PUT", "/api/v1/offices"), ("GET", "/api/v1/appointments/"),
                        ("POST", "/api/v1/offices/x/windows/1/call-next")):
        response = client.open(url, method=method)
        assert _check(response, f"{method} {url}") is None
        assert response.status_code in (401, 404, 405)


def test_public_pages_survive_malformed_parameters(app, fuzz_world, client):
    """The pages too: every GET route without a guard, each path parameter broken."""
    import re

    from tests.robustness.test_authorization import guard_roles

    failures = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(("/api/", "/static/")):
            continue
        if guard_roles(app.view_functions[rule.endpoint]) is not None or not rule.arguments:
            continue
        for name in rule.arguments:
            for value in NASTY_STRINGS:
                if value in ("", "\x00", "%00") or "/" in value or not _urlsafe(value):
                    continue
                url = rule.rule
                for argument in rule.arguments:
                    chosen = value if argument == name else fuzz_world["good"].get(
                        argument, {"service": "marriage", "day": MONDAY}.get(argument, "x"))
                    url = re.sub(rf"<(?:[a-z]+:)?{argument}>", quote(str(chosen), safe=""), url)
                response = client.get(url)
                if response.status_code >= 500:
                    failures.append(f"GET {url[:120]}: {response.status_code}")
                db.session.rollback()
    assert not failures, "\n".join(failures[:25])
