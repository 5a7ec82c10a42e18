"""Nothing stored lets anyone rebuild an ID number, a phone number or a birth date without
the keys (issue 15), and no link secret is stored in clear. A day of the service — bookings
with phones (resident IDs, a Hong Kong permit, a passport, a foreigner's permanent
residence card), a reschedule, SMS queued and sent (console backend), a walk-in ticket
with a phone, a check-in, ratings invited, a suggestion with a phone, an opt-out by SMS —
and then every column of every table is read as stored and searched; and everything
still works end to end from the links people were given."""

import json
import re

import pytest
from sqlalchemy import select, text
from twilio.request_validator import RequestValidator

from bench.ids import couple
from booking.models import Applicant, Appointment
from core.auth import issue_token
from core.extensions import db
from core.privacy import secret_hash
from notify.jobs import dispatch_outbox
from notify.models import OutboxMessage
from notify.outbox import is_opted_out, queue_sms
from staff.services import create_user
from tests.booking.ids import make_id

NOW = "2026-06-10T10:00:00+08:00"  # Wednesday: chuanshan open, Monday 15 June bookable
MONDAY, TUESDAY = "2026-06-15", "2026-06-16"
TWILIO_TOKEN = "twilio-auth-token-for-the-inbound-webhook"

PERMIT = {"name": "陈大文", "id_type": "hk_macau_permit", "id_number": "H87654321",
          "phone": "+852 9123 4567", "sex": "M", "birth_date": "1991-03-04"}
PASSPORT = {"name": "Anna Schmidt", "id_type": "passport", "id_number": "C4X9K2L7P",
            "phone": "+49 170 1234567", "sex": "F", "birth_date": "1993-05-06"}
FOREIGNER = {"name": "John Smith", "id_type": "foreign_permanent_resident",
             "id_number": make_id("19860707", "M", area="933840", serial=7),
             "phone": "13700137007"}
WALK_IN_PHONE = "13700000003"
SUGGESTION_PHONE = "13600000004"
STOP_PHONE = "+8613500000005"


@pytest.fixture
def app_overrides() -> dict:
    return {"TWILIO_AUTH_TOKEN": TWILIO_TOKEN}  # the inbound webhook checks signatures


# --- the day ------------------------------------------------------------------------------------

class Day:
    """What the people of the day were given, and what they must never find stored."""

    def __init__(self):
        self.applicants: list[dict] = []
        self.manage_tokens: dict[str, str] = {}  # appointment code -> token
        self.ticket_tokens: list[str] = []
        self.suggestion_link = ""

    @property
    def phones(self) -> list[str]:
        return [a["phone"] for a in self.applicants] + [WALK_IN_PHONE, SUGGESTION_PHONE,
                                                       STOP_PHONE]


def _staff(role: str) -> dict:
    """A token of a chuanshan account issued now (the clock moves by days in this test)."""
    from core.auth import User

    username = f"privacy-{role}"
    user = db.session.scalar(select(User).where(User.username == username)) or create_user(
        username, role, "password-123", "chuanshan")
    token, _ = issue_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _book(client, day: Day, office: str, date: str, start: str, applicants: list[dict],
          service: str = "marriage") -> dict:
    answer = client.post("/api/v1/appointments", json={
        "office": office, "service": service, "date": date, "start": start,
        "applicants": applicants})
    assert answer.status_code == 201, answer.get_json()
    made = answer.get_json()
    day.applicants += applicants
    day.manage_tokens[made["code"]] = made["token"]
    return made


def _inbound(client, phone: str, body: str):
    form = {"From": phone, "Body": body}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        "http://localhost/sms/inbound", form)
    return client.post("/sms/inbound", data=form, headers={"X-Twilio-Signature": signature})


def _live_the_day(client, set_now) -> Day:
    from booking.reminders import queue_reminders

    day = Day()
    set_now(NOW)
    rescheduled = _book(client, day, "chuanshan", MONDAY, "09:00", couple(1))
    checked_in = _book(client, day, "chuanshan", MONDAY, "09:30", couple(2))
    _book(client, day, "suining", MONDAY, "09:00", [PERMIT, PASSPORT], service="divorce")
    _book(client, day, "suining", MONDAY, "10:00", [FOREIGNER], service="reissue")
    moved = client.post(f"/api/v1/appointments/{rescheduled['token']}/reschedule",
                        json={"date": TUESDAY, "start": "10:00"})
    assert moved.status_code == 200, moved.get_json()

    # a walk-in with a phone, called and completed: the "rate our service" SMS
    desk, registrar = _staff("desk"), _staff("registrar")
    ticket = client.post("/api/v1/offices/chuanshan/tickets", headers=desk, json={
        "service": "marriage", "present": [p["id_number"] for p in couple(3)],
        "phone": WALK_IN_PHONE})
    assert ticket.status_code == 201, ticket.get_json()
    day.ticket_tokens.append(ticket.get_json()["token"])
    _call_and_complete(client, registrar, ticket.get_json()["id"])

    # the suggestion box, with a phone for the answer; an opt-out by SMS
    sent = client.post("/suggestions", data={
        "office": "chuanshan", "category": "advice", "text": "希望周六也能办理结婚登记。",
        "name": "李四", "phone": SUGGESTION_PHONE})
    assert sent.status_code == 302
    day.suggestion_link = sent.headers["Location"]
    assert _inbound(client, STOP_PHONE, "TD").status_code == 200
    assert "sent" in dispatch_outbox()

    # Sunday evening: the reminders of Monday's appointments
    set_now("2026-06-14T18:30:00+08:00")
    # chuanshan's second couple, suining's permit and passport holders, the foreigner
    assert queue_reminders() == "5 reminders queued for 3 appointments"
    dispatch_outbox()

    # Monday morning: the second couple checks in, is called and served
    set_now(f"{MONDAY}T09:10:00+08:00")
    desk, registrar = _staff("desk"), _staff("registrar")
    checked = client.post("/api/v1/offices/chuanshan/tickets", headers=desk, json={
        "appointment": checked_in["code"], "present": [p["id_number"] for p in couple(2)]})
    assert checked.status_code == 201, checked.get_json()
    day.ticket_tokens.append(checked.get_json()["token"])
    _call_and_complete(client, registrar, checked.get_json()["id"])
    dispatch_outbox()
    db.session.rollback()
    return day


def _call_and_complete(client, headers: dict, ticket_id: int) -> None:
    called = client.post("/api/v1/offices/chuanshan/windows/1/call-next", headers=headers)
    assert called.status_code == 200 and called.get_json()["ticket"]["id"] == ticket_id
    done = client.post(f"/api/v1/tickets/{ticket_id}/complete", headers=headers,
                       json={"outcome": "registered"})
    assert done.status_code == 200, done.get_json()


# --- what is stored -----------------------------------------------------------------------------

def _everything_stored() -> list[tuple[str, str, str]]:
    """(table, column, value as text) for every non-NULL value of every table, read as
    stored: plain SQL, so no column type decrypts anything on the way."""
    out = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(text(f'SELECT * FROM "{table.name}"')).mappings():
            for column, value in row.items():
                if value is None:
                    continue
                if isinstance(value, dict | list):
                    value = json.dumps(value, ensure_ascii=False)
                out.append((table.name, column, str(value)))
    db.session.rollback()
    return out


def _births(applicant: dict) -> list[str]:
    number = applicant["id_number"]
    if len(number) == 18:
        digits = number[6:14]
    else:
        digits = applicant["birth_date"].replace("-", "")
    return [digits, f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"]


def _phone_forms(phone: str) -> list[str]:
    """E.164 and the national number: +8613800138000 and 13800138000."""
    digits = re.sub(r"\D", "", phone)
    if phone.startswith("+"):
        code = {"852": 3, "49": 2, "86": 2}
        national = next(digits[n:] for prefix, n in code.items() if digits.startswith(prefix))
        return ["+" + digits, national]
    return ["+86" + digits, digits]


def _rating_tokens() -> list[str]:
    bodies = [m.body for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "rate_service"))]
    db.session.rollback()
    return [re.search(r"/rate/t/([A-Za-z0-9_-]+)", body).group(1) for body in bodies]


def test_nothing_stored_rebuilds_an_id_number_a_phone_or_a_birth_date(app, offices, client,
                                                                     set_now):
    day = _live_the_day(client, set_now)
    rating_tokens = _rating_tokens()
    assert len(rating_tokens) == 2
    secrets_given = (list(day.manage_tokens.values()) + day.ticket_tokens + rating_tokens
                     + [day.suggestion_link.rsplit("/", 1)[1]])

    forbidden: dict[str, str] = {}
    for applicant in day.applicants:
        number = applicant["id_number"]
        for piece in {number, number.lower(), number[:17] if len(number) == 18 else number}:
            forbidden[piece] = "an ID number"
    for presented in couple(3):  # the walk-in's numbers, shown at the desk
        forbidden[presented["id_number"]] = "an ID number"
    for applicant in day.applicants:
        for piece in _births(applicant):
            forbidden[piece] = "a birth date"
    for phone in day.phones:
        for piece in _phone_forms(phone):
            forbidden[piece] = "a phone number"
    for secret in secrets_given:
        forbidden[secret] = "a link's secret"

    stored = _everything_stored()
    assert len(stored) > 500  # the day left its rows
    found = [(table, column, what) for table, column, value in stored
             for piece, what in forbidden.items() if piece in value]
    assert not found, sorted(set(found))

    # the masks show no birth date: an 18-character number keeps 4 and 4
    masks = dict(db.session.execute(select(Applicant.id_hash, Applicant.id_masked)).all())
    from core.privacy import keyed_hash

    for applicant in day.applicants:
        number = applicant["id_number"]
        mask = masks[keyed_hash(number)]
        if len(number) == 18:
            assert mask == number[:4] + "*" * 10 + number[-4:]
        else:
            assert sum(c == "*" for c in mask) >= max(5, len(number) // 2), mask
    db.session.rollback()


def test_the_links_and_messages_still_work_from_what_is_stored(app, offices, client, set_now):
    day = _live_the_day(client, set_now)
    codes = list(day.manage_tokens)
    moved_token = day.manage_tokens[codes[0]]

    # the manage link: the appointment, at its new time, names masked
    answer = client.get(f"/api/v1/appointments/{moved_token}")
    assert answer.status_code == 200
    assert (answer.get_json()["date"], answer.get_json()["start"]) == (TUESDAY, "10:00")
    page = client.get(f"/a/{moved_token}").get_data(as_text=True)
    assert codes[0] in page
    for person in couple(1):
        assert person["name"] not in page and person["id_number"] not in page
    assert client.get("/a/" + moved_token.swapcase()).status_code == 404  # case counts

    # the SMS were built from the stored data and sent: the reschedule's carries the link
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert {m.status for m in messages} == {"sent"}
    moved = [m for m in messages if m.kind == "booking_rescheduled"]
    assert {m.to_phone for m in moved} == {"+86" + p["phone"] for p in couple(1)}
    assert all(f"http://localhost/a/{moved_token}" in m.body for m in moved)
    reminders = [m for m in messages if m.kind == "reminder" and codes[1] in m.body]
    assert {m.to_phone for m in reminders} == {"+86" + p["phone"] for p in couple(2)}
    assert all(m.to_phone_hash == secret_hash(m.to_phone) for m in messages)

    # the people's data is there for those who need it, decrypted
    permit = db.session.scalar(select(Applicant).where(Applicant.id_type == "hk_macau_permit"))
    assert (permit.phone, permit.birth_date.isoformat()) == ("+85291234567", "1991-03-04")
    db.session.rollback()

    # the ticket status pages, the rating link, the suggestion's status page
    for token in day.ticket_tokens:
        assert client.get(f"/t/{token}").status_code == 200
        assert client.get(f"/api/v1/tickets/{token}").get_json()["status"] == "completed"
    rating = _rating_tokens()[0]
    assert client.get(f"/rate/t/{rating}").status_code == 200
    client.post(f"/rate/t/{rating}", data={"level": "5"})
    assert "已经评价过" in client.get(f"/rate/t/{rating}").get_data(as_text=True)
    status = client.get(day.suggestion_link)
    assert status.status_code == 200 and "希望周六也能办理" in status.get_data(as_text=True)

    # every public surface names people masked, if at all: no full name, number or phone
    public = [f"/a/{token}{tail}" for token in day.manage_tokens.values()
              for tail in ("", "/print", "/calendar.ics")]
    public += [f"/api/v1/appointments/{token}" for token in day.manage_tokens.values()]
    public += [f"/t/{token}" for token in day.ticket_tokens]
    public += [f"/api/v1/tickets/{token}?view=page" for token in day.ticket_tokens]
    public += [f"/rate/t/{rating}", day.suggestion_link, "/display/chuanshan",
               "/api/v1/offices/chuanshan/display?view=screen"]
    people = [(a["name"], a["id_number"], *_phone_forms(a["phone"])) for a in day.applicants]
    for url in public:
        answer = client.get(url)
        assert answer.status_code == 200, url
        body = answer.get_data(as_text=True)
        shown = [piece for person in people for piece in person if piece in body]
        assert not shown, (url, shown)
    assert "陈*文" in client.get(f"/a/{day.manage_tokens[codes[2]]}").get_data(as_text=True)

    # the opt-out holds: no notice to that number, a confirmation still goes
    assert is_opted_out(STOP_PHONE)
    assert queue_sms(STOP_PHONE, "提醒", "reminder") is None
    assert queue_sms("135 0000 0005", "预约成功", "booking_confirmed") is not None
    db.session.rollback()


def test_an_appointment_is_found_only_by_the_exact_token(app, offices, client, set_now):
    """Tokens are compared by keyed hash of the exact text: no case folding."""
    set_now(NOW)
    day = Day()
    made = _book(client, day, "chuanshan", MONDAY, "09:00", couple(1))
    stored = db.session.scalar(select(Appointment.token_hash))
    assert stored == secret_hash(made["token"]) != secret_hash(made["token"].upper())
    assert client.get(f"/api/v1/appointments/{made['token']}").status_code == 200
    assert client.get(f"/api/v1/appointments/{made['token'].upper()}").status_code == 404


def test_an_encrypted_column_cannot_be_compared_with_a_value(app):
    """Its ciphertext differs each time: a comparison would silently find nothing. Only
    "has a value" (!= "") and NULL tests are allowed; look-ups go through the hash."""
    from core.privacy import EncryptedComparisonError
    from hallqueue.models import Ticket

    select(Ticket).where(Ticket.phone != "", Applicant.birth_date.is_not(None))
    for comparison in (lambda: Applicant.phone == "+8613800138000",
                       lambda: OutboxMessage.to_phone.in_(["+8613800138000"]),
                       lambda: Appointment.token == "secret-of-a-manage-link",
                       lambda: Applicant.birth_date < "2000-01-01"):
        with pytest.raises(EncryptedComparisonError):
            comparison()
