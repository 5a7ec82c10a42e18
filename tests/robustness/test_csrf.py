"""CSRF: with protection on (as in production), every form route (each POST outside the
bearer-token API and Twilio's signed webhooks) refuses a POST without the token, signed in
or not; the same POST with the page's token goes through."""

import re

import pytest

from core.extensions import db
from staff.services import create_user
from tests.robustness.helpers import MONDAY, booking

TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
EXEMPT_PREFIXES = ("/api/", "/sms/")  # bearer tokens; Twilio's X-Twilio-Signature
VALUES = {"office": "robust", "office_code": "robust", "window": "1", "window_number": "1",
          "service": "marriage", "day": MONDAY, "year": "2026", "override_id": "1",
          "case_id": "1", "suggestion_id": "1", "message_id": "1", "user_id": "1",
          "appointment_id": "1", "ticket_id": "1"}


@pytest.fixture
def app_overrides():
    return {"WTF_CSRF_ENABLED": True}


def _token(page: str) -> str:
    found = TOKEN_RE.search(page)
    assert found, "the page has no csrf_token field"
    return found.group(1) or found.group(2)


def _url(rule, values: dict) -> str:
    path = rule.rule
    for argument in rule.arguments:
        path = re.sub(rf"<(?:[a-z]+:)?{argument}>", str(values[argument]), path)
    return path


def _form_routes(app):
    return sorted((rule for rule in app.url_map.iter_rules()
                   if "POST" in rule.methods and not rule.rule.startswith(EXEMPT_PREFIXES)),
                  key=lambda r: r.rule)


@pytest.fixture
def signed_in(app, robust_office, offices, client):
    create_user("csrf-admin", "admin", "password-123", None)
    db.session.commit()
    refused = client.post("/staff/login", data={"username": "csrf-admin",
                                                "password": "password-123"})
    assert refused.status_code == 400  # the login form itself needs the token
    page = client.get("/staff/login").get_data(as_text=True)
    answer = client.post("/staff/login", data={"username": "csrf-admin",
                                               "password": "password-123",
                                               "csrf_token": _token(page)})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return client


def test_every_form_post_without_the_token_is_refused(app, signed_in):
    made = app.test_client().post("/api/v1/appointments", json=booking(1))
    assert made.status_code == 201  # the API needs no CSRF token
    values = VALUES | {"token": made.get_json()["token"]}
    routes = _form_routes(app)
    assert len(routes) > 20
    failures = []
    for rule in routes:
        url = _url(rule, values)
        for client, who in ((signed_in, "admin"), (app.test_client(), "anonymous")):
            response = client.post(url, data={"anything": "x"})
            text = response.get_data(as_text=True)
            if response.status_code != 400 or "表单已过期" not in text:
                failures.append(f"{who} POST {url}: {response.status_code}")
    assert not failures, "form routes that took a POST without the CSRF token:\n" + \
        "\n".join(failures)


def test_a_form_with_its_token_goes_through(app, robust_office, offices, client):
    page = client.get("/suggestions").get_data(as_text=True)
    answer = client.post("/suggestions", data={"csrf_token": _token(page)})
    # the token is accepted: whatever the form then says about its fields, it is no 400
    assert answer.status_code != 400 or "表单已过期" not in answer.get_data(as_text=True)


def test_the_api_and_webhooks_do_not_ask_for_a_csrf_token(app, robust_office, client):
    answer = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
    assert answer.status_code == 401
    assert answer.get_json()["code"] == "invalid_credentials"
    webhook = client.post("/sms/status", data={"MessageSid": "SM1", "MessageStatus": "sent"})
    assert webhook.status_code == 403  # refused for its missing Twilio signature, not CSRF
