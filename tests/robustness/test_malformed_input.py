"""Out-of-range numbers, dates and odd characters are the client's mistake: a 4xx, never a
500 (docs/api.md §3.2). KINDS lists every request that answered 500 before (issue 15),
each with what it gets now; the rest checks the pieces that answer them: the bounded route
converters (core/converters.py), the strict readers of query parameters and the `next=`
check (core/requests.py), and the handlers of OverflowError and of a conversion's
ValueError (core/errors.py). tests/robustness/test_every_route_property.py looks for more."""

from datetime import date

import pytest

from core.auth import issue_token
from core.extensions import db
from core.requests import (
    iso_day,
    iso_month,
    local_path,
    parse_day,
    parse_int,
    parse_month,
    whole_number,
)
from staff.services import create_user
from tests.robustness.helpers import MONDAY, booking, ids_of

HUGE = "99999999999999999999999"
CRLF = "/%0D%0ASet-Cookie:%20x=1"

# (method, url, form, what the answer is now): each of the first 27 was a 500; now each is a
# 4xx (a page whose query cannot be read: 400, with the page's default view and a message
# where there is one). {token}: a real manage token. Signed in as an admin (pages) or with
# the admin's bearer token (/api/).
KINDS = [
    ("GET", f"/book/robust/marriage?month={HUGE[:20]}-01", None, 400),  # OverflowError
    ("GET", f"/a/{{token}}/reschedule?month={HUGE[:20]}-01", None, 400),  # same helper
    ("GET", f"/desk/robust/tickets/{HUGE}/print", None, 404),  # SQLite: int too large
    ("GET", "/staff/audit?start=0001-01-01", None, 400),  # before year 1 in UTC
    ("GET", "/staff/audit?end=9999-12-31", None, 400),  # the day after 9999-12-31
    ("GET", f"/staff/audit?page={HUGE}", None, 400),  # OFFSET too large
    ("GET", "/staff/audit.csv?start=0001-01-01", None, 422),
    ("GET", "/staff/audit.csv?end=9999-12-31", None, 422),
    ("GET", f"/staff/calendar/peak-days?edit={HUGE}", None, 400),
    ("POST", f"/staff/calendar/peak-days?edit={HUGE}", {}, 400),
    ("GET", f"/staff/feedback/cases/{HUGE}", None, 404),
    ("POST", f"/staff/feedback/cases/{HUGE}", {}, 404),
    ("GET", "/staff/sms?page=²", None, 400),  # "²".isdigit(), int("²") fails
    ("GET", "/staff/sms?page=" + "9" * 5000, None, 400),  # int() refuses 4,300+ digits
    ("GET", f"/staff/stats/report?month={HUGE[:20]}-01", None, 400),
    ("GET", "/staff/stats/report?month=9999-12", None, 400),  # its last day + 1
    ("GET", f"/staff/suggestions/{HUGE}", None, 404),
    ("POST", f"/staff/suggestions/{HUGE}", {}, 404),
    ("POST", f"/staff/booking/robust/{HUGE}/cancel", {}, 404),
    ("POST", f"/staff/calendar/robust/overrides/{HUGE}/delete", {}, 404),
    ("POST", f"/staff/calendar/state-days/{HUGE}/withdraw", {}, 404),
    ("POST", f"/staff/registrars/{HUGE}", {}, 404),
    ("POST", f"/staff/sms/{HUGE}/resend", {}, 404),
    ("POST", "/window/robust/1", {"action": "recall", "ticket": HUGE}, 400),
    ("POST", "/window/robust/1", {"action": "recall", "ticket": "²"}, 400),
    ("GET", f"/lang/en?next={CRLF}", None, 400),  # a newline in the Location header
    ("POST", f"/staff/login?next={CRLF}", {"username": "kinds-admin",
                                           "password": "password-123"}, 400),
    # the API: these were 4xx already; problem+json still (a huge id is no route now)
    ("POST", f"/api/v1/tickets/{HUGE}/recall", None, 404),
    ("GET", "/api/v1/offices/robust/calendar?from=9999-12-31&days=366", None, 422),
    ("GET", "/api/v1/offices/robust/availability?service=marriage&from=0001-01-01", None, 200),
]


@pytest.fixture
def world(app, robust_office, client):
    admin = create_user("kinds-admin", "admin", "password-123", None)
    token, _ = issue_token(admin)
    db.session.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    made = client.post("/api/v1/appointments", json=booking(1, day=MONDAY)).get_json()
    client.post("/api/v1/offices/robust/tickets", headers=bearer,
                json={"service": "marriage", "present": ids_of(2)})
    db.session.commit()
    return {"bearer": bearer, "token": made["token"]}


@pytest.mark.parametrize("method, url, form, status", KINDS,
                         ids=[f"{m} {u.split('?')[0][:40]} {u.partition('?')[2][:24]}"
                              f"{' ' + str(f)[:30] if f else ''}" for m, u, f, _ in KINDS])
def test_each_kind_that_was_a_500_is_answered(app, world, client, method, url, form, status):
    url = url.replace("{token}", world["token"])
    if url.startswith("/api/"):
        answer = client.open(url, method=method, headers=world["bearer"])
    else:
        if not url.startswith("/staff/login"):
            assert client.post("/staff/login", data={
                "username": "kinds-admin", "password": "password-123"}).status_code == 302
        answer = client.open(url, method=method, data=form)
    assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True)[:300])
    if url.startswith("/api/") and status >= 400:
        assert answer.mimetype == "application/problem+json"
        assert answer.get_json()["code"] in ("not_found", "invalid_request")
    elif status >= 400:
        assert answer.mimetype == "text/html" and "<html" in answer.get_data(as_text=True)
    location = answer.headers.get("Location", "")
    assert "\n" not in location and "\r" not in location and "evil" not in location


# --- route converters ----------------------------------------------------------------------

@pytest.mark.parametrize("segment, found", [
    ("1", True), ("2147483647", True), ("0", False), ("2147483648", False), (HUGE, False),
    ("-1", False), ("²", False), ("１２", False), ("١٢", False), ("1e3", False),
])
def test_ids_in_paths_are_bounded(app, world, client, segment, found):
    client.post("/staff/login", data={"username": "kinds-admin", "password": "password-123"})
    answer = client.get(f"/staff/suggestions/{segment}")
    assert answer.status_code == 404  # no such suggestion, or no such route: the same page
    adapter = app.url_map.bind("localhost")
    matched = True
    try:
        endpoint, values = adapter.match(f"/staff/suggestions/{segment}")
    except Exception:
        matched = False
    assert matched is found
    if found:
        assert values == {"suggestion_id": int(segment)}


@pytest.mark.parametrize("segment", ["abc\x01", "a" * 65, "x y", "ä", "a.b"])
def test_tokens_in_paths_are_url_safe_and_short(app, world, client, segment):
    for prefix in ("/a/", "/t/", "/rate/t/", "/suggestions/t/"):
        assert client.get(prefix + segment).status_code == 404
    answer = client.get("/api/v1/appointments/" + segment)
    assert answer.status_code == 404 and answer.get_json()["code"] == "not_found"


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30", "20260615",
                                 "2026-6-15", "١٢٣٤-٠١-٠١"])
def test_days_in_paths_are_real_days_of_2000_to_2100(app, world, client, day):
    assert client.get(f"/book/robust/marriage/{day}").status_code == 404
    assert client.get(f"/book/robust/marriage/{MONDAY}").status_code == 200


def test_the_document_states_the_bounds(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    complete = document["paths"]["/tickets/{id}/complete"]["post"]["parameters"]
    assert complete[0]["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    show = document["paths"]["/appointments/{token}"]["get"]["parameters"]
    assert show[0]["schema"]["pattern"] == "^[A-Za-z0-9_-]{1,64}$"


# --- what escapes a view ----------------------------------------------------------------------

@pytest.fixture
def raising_views(app):
    def overflow():
        return str(date(2026, 1, 1) + (date.max - date.min))

    def bad_day():
        return str(date(9999, 12, 32))

    def bad_digit():
        return str(int("²"))

    def a_bug():
        raise ValueError("the code is wrong, not the request")

    for name, view in (("overflow", overflow), ("bad-day", bad_day), ("bad-digit", bad_digit),
                       ("bug", a_bug)):
        app.add_url_rule(f"/test-raise/{name}", f"test_raise_{name}", view)
        app.add_url_rule(f"/api/v1/test-raise/{name}", f"test_api_raise_{name}", view)
    return app


@pytest.mark.parametrize("name", ["overflow", "bad-day", "bad-digit"])
def test_overflow_and_conversion_errors_are_the_clients(raising_views, client, name):
    page = client.get(f"/test-raise/{name}")
    assert page.status_code == 400 and "<html" in page.get_data(as_text=True)
    api = client.get(f"/api/v1/test-raise/{name}")
    assert api.status_code == 422 and api.mimetype == "application/problem+json"
    assert api.get_json()["code"] == "invalid_request"


def test_any_other_value_error_is_still_a_500(raising_views, client):
    assert client.get("/test-raise/bug").status_code == 500
    assert client.get("/api/v1/test-raise/bug").get_json()["code"] == "internal_error"


# --- the readers of core/requests.py --------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("1", 1), ("100000", 100000), ("0", None), ("100001", None), ("²", None), ("１２", None),
    (" 12", None), ("1_000", None), ("-1", None), ("9" * 5000, None), ("", None), (None, None),
])
def test_parse_int(text, value):
    assert parse_int(text, 1, 100_000) == value


@pytest.mark.parametrize("text, value", [
    ("2026-05", date(2026, 5, 1)), ("2000-01", date(2000, 1, 1)), ("2100-12", date(2100, 12, 1)),
    ("1999-12", None), ("2101-01", None), ("2026-13", None), ("2026-00", None), ("2026-5", None),
    (f"{HUGE[:20]}-01", None), ("²０２６-01", None), ("2026-05-01", None), ("", None),
])
def test_parse_month(text, value):
    assert parse_month(text) == value


@pytest.mark.parametrize("text, value", [
    ("2026-05-20", date(2026, 5, 20)), ("2026-02-30", None), ("9999-12-31", None),
    ("0001-01-01", None), ("20260520", None), ("2026-05-20T00:00", None), ("", None),
])
def test_parse_day(text, value):
    assert parse_day(text) == value


def test_the_raising_readers_raise_value_error():
    for reader, text in ((iso_day, "9999-12-31"), (iso_month, "2026-13"),
                         (whole_number, "²")):
        with pytest.raises(ValueError):
            reader(text)


@pytest.mark.parametrize("target, safe", [
    ("/staff/", True), ("/staff/booking/robust?date=2026-05-20", True), ("/a/x#top", True),
    ("https://evil.example/", False), ("//evil.example", False), ("/\\evil.example", False),
    ("/\r\nSet-Cookie: x=1", False), ("/\n/evil.example", False), ("/\t/x", False),
    ("javascript:alert(1)", False), ("staff", False), ("", False), (None, False),
    ("/x\x00", False), ("/" + "a" * 2001, False),
])
def test_local_path(target, safe):
    assert local_path(target) == (target if safe else None)
