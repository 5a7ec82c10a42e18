"""Helpers for the service-quality tests: tickets and appointments made directly with the
models, and staff logged in to the pages."""

import itertools
import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from booking.models import Appointment, Slot
from core.extensions import db
from hallqueue.models import Ticket
from offices.models import Office, Window
from staff.services import create_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
PREFIX = {"marriage": "J", "divorce": "L", "divorce-certificate": "F", "reissue": "B"}
_sequence = itertools.count(1)


def at(day: date, hhmm: str) -> datetime:
    """An aware datetime for a Beijing date and time."""
    hour, minute = hhmm.split(":")[:2]
    second = int(hhmm.split(":")[2]) if hhmm.count(":") == 2 else 0
    return datetime(day.year, day.month, day.day, int(hour), int(minute), second,
                    tzinfo=SHANGHAI)


def window_of(office: Office, number: str) -> Window:
    return db.session.scalar(select(Window).where(Window.office_id == office.id,
                                                  Window.number == number))


def make_ticket(office: Office, day: date, service: str = "marriage", *, status="completed",
                issued: str = "09:00", called: str | None = "09:10",
                completed: str | None = "09:25", window: Window | None = None,
                outcome: str | None = "registered", reason: str | None = None,
                appointment: Appointment | None = None, phone: str = "",
                registrar=None, language: str = "zh_CN") -> Ticket:
    n = next(_sequence)
    ticket = Ticket(
        token=secrets.token_urlsafe(16), office_id=office.id, date=day, service_code=service,
        number=f"{PREFIX[service]}{n:03d}", sequence=n, status=status,
        priority=0 if appointment else 2, appointment_id=appointment.id if appointment else None,
        issued_at=at(day, issued), called_at=at(day, called) if called else None,
        completed_at=at(day, completed) if completed and status == "completed" else None,
        outcome=outcome if status == "completed" else None,
        refusal_reason=reason if status == "completed" else None,
        window_id=window.id if window else None, phone=phone, language=language,
        called_by_id=registrar.id if registrar else None)
    db.session.add(ticket)
    db.session.commit()
    return ticket


def make_appointment(office: Office, day: date, service: str = "marriage", *,
                     status: str = "booked", start: str = "09:00") -> Appointment:
    slot = db.session.scalar(select(Slot).where(
        Slot.office_id == office.id, Slot.service_code == service, Slot.date == day,
        Slot.start == start))
    if slot is None:
        slot = Slot(office_id=office.id, service_code=service, date=day, start=start,
                    end="09:30", capacity=1000, booked=0)
        db.session.add(slot)
        db.session.flush()
    n = next(_sequence)
    appointment = Appointment(
        code=f"T{n:07d}X", token=secrets.token_urlsafe(16), office_id=office.id,
        service_code=service, slot_id=slot.id, date=day, start=start, end="09:30",
        status=status)
    db.session.add(appointment)
    db.session.commit()
    return appointment


@pytest.fixture
def login(client):
    """login("admin", office="chuanshan") creates the account and logs the client in."""
    made = {}

    def do(role: str = "admin", office: str | None = None, username: str | None = None,
           display_name: str = ""):
        username = username or f"{role}-{office or 'all'}"
        if username not in made:
            made[username] = create_user(username, role, "password-123", office, display_name)
        response = client.post("/staff/login", data={"username": username,
                                                     "password": "password-123"})
        assert response.status_code == 302, response.get_data(as_text=True)
        return made[username]

    return do


def pair_tablet(office: Office, window: Window | str = "1", client=None) -> str:
    """Pair a browser as the rating tablet of `window` (as staff do on the pairing page):
    its device token, also set as the cookie of `client` when given."""
    from feedback.tablets import COOKIE, pair

    if isinstance(window, str):
        window = window_of(office, window)
    token = pair(office, window, None, None)
    db.session.commit()
    if client is not None:
        client.set_cookie(COOKIE, token)
    return token
