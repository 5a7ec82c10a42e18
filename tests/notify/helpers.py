"""Making appointments for SMS tests through booking's own service."""

import itertools
from datetime import date

from sqlalchemy import select

from core.extensions import db
from notify.models import OutboxMessage

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
_sequence = itertools.count(11)


def resident_id(birth: str, sex: str) -> str:
    """A valid 居民身份证 number (GB 11643) born `birth` (YYYYMMDD), new on each call."""
    seq = f"{next(_sequence) % 100:02d}{1 if sex == 'M' else 2}"  # 17th digit: odd for men
    body = "510903" + birth + seq
    return body + CHECK[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def couple(phones=("13800138000", "13900139000")) -> list[dict]:
    return [
        {"name": "张小三", "id_type": "resident_id",
         "id_number": resident_id("19900101", "M"), "phone": phones[0]},
        {"name": "李小四", "id_type": "resident_id",
         "id_number": resident_id("19920202", "F"), "phone": phones[1]},
    ]


def book_couple(day: date, start: str = "09:00", office: str = "suining",
                phones=("13800138000", "13900139000"), language: str = "zh_CN",
                service: str = "marriage"):
    from booking.models import Appointment
    from booking.transactions import book

    payload = {"office": office, "service": service, "date": day.isoformat(), "start": start,
               "applicants": couple(phones)}
    booked = book(payload, language)
    return db.session.get(Appointment, booked.id)  # the row: the tests go on to change it


def outbox(**where) -> list[OutboxMessage]:
    db.session.commit()  # end this session's transaction: see what the dispatchers wrote
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for key, value in where.items():
        query = query.where(getattr(OutboxMessage, key) == value)
    return list(db.session.scalars(query))


def race_dispatchers(app, dispatchers: int = 3) -> list[str]:
    """`dispatchers` threads released at once, each running the sms-dispatch job twice in
    its own app context; every summary they returned (an error in one is raised)."""
    from notify.jobs import dispatch_outbox
    from tests.support.races import fire

    def dispatch_twice():
        with app.app_context():
            return [dispatch_outbox(), dispatch_outbox()]

    return [summary for pair in fire([dispatch_twice] * dispatchers) for summary in pair]
