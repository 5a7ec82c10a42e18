"""Small builders for the scheduler tests: tickets and finished appointments made directly
with the models (the hall's and booking's own services are other engineers' work)."""

import secrets
from datetime import date

from core.extensions import db
from hallqueue.models import Ticket


def make_ticket(office, day: date, status: str = "waiting", phone: str = "",
                language: str = "zh_CN", service: str = "marriage") -> Ticket:
    sequence = db.session.query(Ticket).filter_by(office_id=office.id, date=day).count() + 1
    ticket = Ticket(token=secrets.token_urlsafe(16), office_id=office.id, date=day,
                    service_code=service, number=f"J{sequence:03d}", sequence=sequence,
                    status=status, phone=phone, language=language)
    db.session.add(ticket)
    db.session.commit()
    return ticket
