"""No ID number, phone number or birth date in any log line: the application's own log
(every logger at DEBUG, the database driver's included) and the web server's access log
(gunicorn, which writes each request line with its query string) during booking, look-up,
check-in, calling, the SMS sent (console backend) and the mistakes people make on the way
(a wrong check character, an under-age partner)."""

import logging
import re

import pytest
import requests

from bench.ids import couple
from core.extensions import db
from staff.services import create_user
from tests.robustness.helpers import MONDAY, NOW, booking

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def _leaks(text: str, numbers: list[str]) -> list[str]:
    """ID numbers (or their first 17 digits, or their birth-date-and-sequence middle) found."""
    found = []
    upper = text.upper()
    for number in numbers:
        for piece in (number, number[:17], number[6:17]):
            if piece in upper:
                found.append(piece)
                break
    return found


def _people(first: int, count: int) -> list[str]:
    return [p["id_number"] for i in range(first, first + count) for p in couple(i)]


def _contacts(first: int, count: int) -> list[str]:
    """The couples' phone numbers (national and E.164) and birth dates (YYYY-MM-DD and
    YYYYMMDD, read from their ID numbers)."""
    out = []
    for i in range(first, first + count):
        for person in couple(i):
            birth = person["id_number"][6:14]
            out += [person["phone"], "+86" + person["phone"], birth,
                    f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"]
    return sorted(set(out) | {"20100101", "2010-01-01"})  # the under-age bride of _flow


def _flow(client, staff_headers, set_now) -> list[str]:
    """Booking, look-up, mistakes, the booking page, a walk-in called and completed, and a
    check-in on the day; the ID numbers it used."""
    desk = staff_headers("desk", office="robust")
    registrar = staff_headers("registrar", office="robust")
    numbers = _people(1, 6)

    made = client.post("/api/v1/appointments", json=booking(1)).get_json()
    client.get(f"/api/v1/appointments/{made['token']}")
    client.post("/api/v1/offices/robust/appointments/search", headers=desk,
                json={"query": couple(1)[0]["id_number"]})
    # mistakes: a wrong check character, an under-age bride, the same couple again
    wrong = booking(2)
    wrong["applicants"][0]["id_number"] = wrong["applicants"][0]["id_number"][:17] + (
        "0" if wrong["applicants"][0]["id_number"][17] != "0" else "1")
    numbers.append(wrong["applicants"][0]["id_number"])
    assert client.post("/api/v1/appointments", json=wrong).status_code == 422
    young = booking(3)
    young["applicants"][1]["id_number"] = "510903201001010026"  # born 2010
    numbers.append(young["applicants"][1]["id_number"])
    assert client.post("/api/v1/appointments", json=young).status_code == 422
    assert client.post("/api/v1/appointments", json=booking(1)).status_code == 409
    # the booking page, as a couple fills it in
    form = {"start": "10:00"}
    for index, person in enumerate(couple(4)):
        for key, value in person.items():
            form[f"applicants-{index}-{key}"] = value
    page = client.post(f"/book/robust/marriage/{MONDAY}/apply", data=form)
    assert page.status_code in (200, 302)
    # a walk-in at the desk, called, completed; a check-in on the day
    ticket = client.post("/api/v1/offices/robust/tickets", headers=desk, json={
        "service": "marriage", "present": [p["id_number"] for p in couple(5)]}).get_json()
    called = client.post("/api/v1/offices/robust/windows/1/call-next", headers=registrar)
    assert called.status_code == 200
    client.post(f"/api/v1/tickets/{ticket['id']}/complete", headers=registrar,
                json={"outcome": "registered"})
    set_now(f"{MONDAY}T09:10:00+08:00")
    fresh = create_user("log-desk", "desk", "password-123", "robust")
    db.session.commit()
    token = client.post("/api/v1/auth/token", json={"username": fresh.username,
                                                    "password": "password-123"}).get_json()
    checked = client.post("/api/v1/offices/robust/tickets",
                          headers={"Authorization": f"Bearer {token['token']}"},
                          json={"appointment": couple(1)[0]["id_number"],
                                "present": [p["id_number"] for p in couple(1)]})
    assert checked.status_code == 201, checked.get_json()
    set_now(NOW)
    return numbers


def _leaked_lines(records, numbers: list[str], contacts: tuple[str, ...] = ()) -> list:
    out = []
    for record in records:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        found = _leaks(text, numbers) + [piece for piece in contacts if piece in text]
        if found:
            out.append((f"{record.name}: {text}"[:240], found))
    return out


def test_the_application_log_has_no_id_number_phone_or_birth_date(
        app, robust_office, client, staff_headers, set_now, caplog):
    from notify.jobs import dispatch_outbox

    caplog.set_level(logging.DEBUG)
    numbers = _flow(client, staff_headers, set_now)
    assert "sent" in dispatch_outbox()  # the console backend logs each SMS it "sends"
    assert any(r.name.startswith("booking") for r in caplog.records)
    assert any(r.name == "notify.sender" for r in caplog.records)
    leaked = _leaked_lines(caplog.records, numbers, tuple(_contacts(1, 6)))
    assert not leaked, leaked[:5]


def test_id_numbers_phones_and_birth_dates_reach_the_database_only_encrypted_or_hashed(
        app, robust_office, client, staff_headers, set_now, caplog):
    """Every statement's parameters, as SQLAlchemy logs them at INFO: a plain ID number,
    phone or birth date sent to the database would also land in PostgreSQL's own statement
    logs (log_min_duration_statement records the bind parameters of slow statements)."""
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    numbers = _flow(client, staff_headers, set_now)
    assert sum(1 for r in caplog.records if r.name.startswith("sqlalchemy")) > 50
    leaked = _leaked_lines(caplog.records, numbers, tuple(_contacts(1, 6)))
    assert not leaked, leaked[:5]


@pytest.mark.slow
def test_the_access_log_has_no_id_number(robust_office, live_server_for):
    """Behind gunicorn (or nginx) every URL is logged: an ID number must never be in one."""
    from tests.robustness.helpers import SERVER_ENV

    create_user("access-desk", "desk", "password-123", "robust")
    db.session.commit()
    server = live_server_for(workers=1, env=SERVER_ENV | {
        "GUNICORN_CMD_ARGS": "--access-logfile -"})
    numbers = _people(10, 2)
    base = server.url
    made = requests.post(f"{base}/api/v1/appointments", json=booking(10), timeout=30)
    assert made.status_code == 201
    requests.get(f"{base}/a/{made.json()['token']}", timeout=30)

    # the front desk, in its browser: sign in, look the couple up, check them in
    desk = requests.Session()
    page = desk.get(f"{base}/staff/login", timeout=30).text
    match = CSRF_RE.search(page)
    form = {"username": "access-desk", "password": "password-123"}
    if match:
        form["csrf_token"] = match.group(1) or match.group(2)
    assert desk.post(f"{base}/staff/login", data=form, timeout=30).status_code == 200
    page = desk.get(f"{base}/desk/robust", timeout=30).text
    assert 'id="lookup-form"' in page
    # the look-up form as the desk page has it: whatever method and field it uses
    form_tag = re.search(r'<form[^>]*id="lookup-form"[^>]*>', page).group(0)
    method = (re.search(r'method="(\w+)"', form_tag) or [None, "get"])[1].lower()
    action = re.search(r'action="([^"]+)"', form_tag).group(1)
    query = {"q": couple(10)[0]["id_number"]}
    token = CSRF_RE.search(page)
    if method == "post" and token:
        query["csrf_token"] = token.group(1) or token.group(2)
    looked = (desk.get(f"{base}{action}", params=query, timeout=30) if method == "get"
              else desk.post(f"{base}{action}", data=query, timeout=30))
    assert looked.status_code == 200
    requests.post(f"{base}/api/v1/appointments", json=booking(11), timeout=30)

    log = server.log()
    assert "GET /desk/robust" in log  # the access log is on
    leaked = [line for line in log.splitlines() if _leaks(line, numbers)]
    assert not leaked, leaked[:5]
