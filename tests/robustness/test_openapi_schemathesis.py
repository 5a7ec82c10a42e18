"""Schemathesis over the generated /api/v1/openapi.json, in process against the WSGI app.

Every operation of the document is run — none may fail to load or to generate — with
values drawn from its schemas (positive) and, where it has parameters or a body, values
that break them (negative); anonymously and with an admin's bearer token; with the path
parameters generated, and with real ones (the office, a window, an appointment, a ticket)
so that the requests reach past the look-ups. Never a 5xx. The admin's requests with
valid values and real path parameters must also be answered as the document says: a
documented status, its media type, a body that fits its schema.

Deterministic and bounded for CI: hypothesis derandomized, no example database, no
deadline, a few examples per operation and run (some 20 seconds on each database)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.auth import issue_token
from core.extensions import db
from staff.services import create_user
from tests.robustness.helpers import MONDAY, booking, ids_of

DOCUMENT = "/api/v1/openapi.json"
SEED = 20230520  # schemathesis' own; hypothesis is derandomized
EXAMPLES = 10  # per operation and run (4 to 6 runs per operation)
SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=list(HealthCheck))


def problem_json(ctx, response, case) -> bool | None:
    """Every error is application/problem+json with the contract's fields (docs/api.md §3)."""
    if response.status_code < 400:
        return None
    media = response.headers.get("content-type", [""])[0].split(";")[0]
    assert media == "application/problem+json", f"{response.status_code} as {media!r}"
    body = response.json()
    assert {"type", "title", "status", "code", "detail"} <= set(body), body
    assert body["status"] == response.status_code, body
    return True


ALWAYS = [not_a_server_error, problem_json]
CONFORMANCE = [*ALWAYS, status_code_conformance, content_type_conformance,
               response_schema_conformance]


@pytest.fixture
def world(app, robust_office, client):
    admin = create_user("schemathesis-admin", "admin", "password-123", None)
    token, _ = issue_token(admin)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    made = client.post("/api/v1/appointments", json=booking(1, day=MONDAY)).get_json()
    ticket = client.post("/api/v1/offices/robust/tickets", headers=headers, json={
        "service": "marriage", "present": ids_of(2)}).get_json()
    db.session.commit()
    return {"admin": admin, "headers": headers,
            "path": {"office": "robust", "window": "1", "code": made["code"],
                     "token": made["token"], "id": ticket["id"]},
            "ticket_token": ticket["token"]}


def _real_path(operation, world) -> dict:
    values = {name: world["path"][name] for name in world["path"]
              if "{" + name + "}" in operation.path}
    if operation.path.startswith("/tickets/{token}"):
        values["token"] = world["ticket_token"]
    return values


def _headers(operation, world, auth: bool) -> dict:
    if not auth:
        return {}
    if operation.path == "/auth/revoke":  # revoke a token of its own, not the run's
        token, _ = issue_token(world["admin"])
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}
    return dict(world["headers"])


def _breakable(operation, real_path: bool) -> bool:
    """Something in the request to break: a query parameter, a body, or (when the path's are
    generated) an integer path parameter; whatever can travel as a path segment is a valid
    string parameter."""
    raw = operation.definition.raw
    for parameter in raw.get("parameters", []):
        if parameter["in"] != "path" or (not real_path
                                         and parameter["schema"].get("type") != "string"):
            return True
    return bool(raw.get("requestBody"))


def _run(operation, world, mode, auth: bool, real_path: bool, checks) -> int:
    sent = []
    path_parameters = _real_path(operation, world) if real_path else None

    @SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def run(case):
        try:
            response = case.call(headers=_headers(operation, world, auth))
            sent.append(response.status_code)
            case.validate_response(response, checks=checks)
        finally:
            db.session.rollback()

    try:
        run()
    except Exception as error:
        error.add_note(f"{operation.label} {mode.value} auth={auth} real_path={real_path}")
        raise
    return len(sent)


def test_every_operation_of_the_document(app, world):
    schema = schemathesis.openapi.from_wsgi(DOCUMENT, app,
                                            config=schemathesis.Config(seed=SEED))
    document = app.test_client().get(DOCUMENT).get_json()
    operations = [result.ok() for result in schema.get_all_operations()]  # a schema error raises
    assert sorted(op.label for op in operations) == sorted(
        f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item)

    runs = 0
    for operation in operations:
        plans = [(GenerationMode.POSITIVE, False, False, ALWAYS),
                 (GenerationMode.POSITIVE, True, False, ALWAYS),
                 (GenerationMode.POSITIVE, True, True, CONFORMANCE),
                 (GenerationMode.POSITIVE, False, True, ALWAYS)]
        if _breakable(operation, real_path=True):
            plans.append((GenerationMode.NEGATIVE, True, True, ALWAYS))
        if _breakable(operation, real_path=False):
            plans.append((GenerationMode.NEGATIVE, False, False, ALWAYS))
        for mode, auth, real_path, checks in plans:
            sent = _run(operation, world, mode, auth, real_path, checks)
            assert sent > 0, f"{operation.label} {mode.value}: nothing was sent"
            runs += 1
    assert runs >= 4 * len(operations)
