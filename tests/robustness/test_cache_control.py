"""Caching (docs/api.md §3.1): `Cache-Control: no-store` on every answer that may carry
personal data (staff pages and API answers, the manage page and everything reached by a
link's secret, the booking confirmation, ticket status, error answers), so that neither a
proxy nor the browser of a shared PC keeps it; static files and the public answers keep
their caching, and the hall display's ETag still gives 304."""

import pytest

from core.auth import issue_token
from core.extensions import db
from core.security import PUBLIC_ENDPOINTS
from staff.services import create_user
from tests.robustness.helpers import MONDAY, booking, ids_of


@pytest.fixture
def world(app, robust_office, client):
    admin = create_user("cache-admin", "admin", "password-123", None)
    token, _ = issue_token(admin)
    db.session.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    made = client.post("/api/v1/appointments", json=booking(1, day=MONDAY)).get_json()
    ticket = client.post("/api/v1/offices/robust/tickets", headers=bearer, json={
        "service": "marriage", "present": ids_of(2)}).get_json()
    return {"bearer": bearer, "appointment": made, "ticket": ticket}


def _no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


def test_every_public_endpoint_is_a_route(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert PUBLIC_ENDPOINTS <= endpoints, PUBLIC_ENDPOINTS - endpoints


def test_answers_with_personal_data_are_not_stored(app, world, client):
    token = world["appointment"]["token"]
    ticket = world["ticket"]
    anonymous = [
        f"/a/{token}", f"/a/{token}/print", f"/a/{token}/calendar.ics", f"/a/{token}/cancel",
        f"/a/{token}/reschedule", f"/api/v1/appointments/{token}",
        f"/api/v1/appointments/{token}/qr.svg", f"/api/v1/appointments/{token}/calendar.ics",
        f"/t/{ticket['token']}", f"/t/{ticket['token']}/qr.svg",
        f"/api/v1/tickets/{ticket['token']}", "/staff/login",
        "/api/v1/appointments/no-such-token", "/a/no-such-token", "/no-such-page",
    ]
    for url in anonymous:
        answer = client.get(url)
        assert answer.status_code < 500, url
        assert _no_store(answer), (url, answer.status_code, answer.headers.get("Cache-Control"))
    staff_api = ["/api/v1/offices/robust/appointments", f"/api/v1/offices/robust/appointments?date={MONDAY}",
                 "/api/v1/stats"]
    for url in staff_api:
        answer = client.get(url, headers=world["bearer"])
        assert answer.status_code == 200, url
        assert _no_store(answer), url


def test_the_booking_confirmation_and_staff_pages_are_not_stored(app, world, client):
    page = client.post(f"/book/robust/marriage/{MONDAY}/apply",
                       data={"start": "10:00", **_form(3)}, follow_redirects=True)
    assert page.status_code == 200 and "/a/" in page.request.path
    assert _no_store(page)
    assert client.post("/staff/login", data={"username": "cache-admin",
                                              "password": "password-123"}).status_code == 302
    for url in ("/staff/", "/desk/robust", "/staff/sms", "/staff/audit",
                f"/staff/booking/robust?date={MONDAY}"):
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert _no_store(answer), url


def _form(index: int) -> dict:
    from bench.ids import couple

    return {f"applicants-{i}-{key}": value for i, person in enumerate(couple(index))
            for key, value in person.items()}


def test_public_answers_keep_their_caching(app, world, client):
    for url in ("/api/v1/offices", "/api/v1/services", "/api/v1/offices/robust/calendar",
                "/api/v1/offices/robust/availability?service=marriage", "/calendar/robust",
                "/book/robust", "/api/v1/openapi.json", "/"):
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert not _no_store(answer), (url, answer.headers.get("Cache-Control"))
    static = client.get("/static/css/site.css")
    assert static.status_code == 200 and not _no_store(static)
    static.close()


def test_a_public_page_asked_with_a_session_or_a_token_is_not_stored(app, world, client):
    assert _no_store(client.get("/api/v1/offices", headers=world["bearer"]))
    client.post("/staff/login", data={"username": "cache-admin", "password": "password-123"})
    assert _no_store(client.get("/calendar/robust"))


def test_the_display_keeps_its_etag_and_304(app, world, client):
    first = client.get("/api/v1/offices/robust/display")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"
    again = client.get("/api/v1/offices/robust/display", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    assert again.headers["Cache-Control"] == "no-cache"
