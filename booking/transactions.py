"""The booking's write transactions for the couple and the office: book, reschedule and
cancel (the front desk's and the jobs' status changes are in booking.attendance).

Lock order, the same in every transaction so that PostgreSQL never deadlocks:
the appointment row (claimed by a conditional UPDATE) → slot rows in ascending id →
applicant rows (inserted in ascending hash order).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from booking.availability import bookable_spec
from booking.cache import OfficeInfo, ServiceInfo, office_info_by_code
from booking.codes import new_code, new_token
from booking.errors import BookingError, invalid, tr
from booking.hotpath import Booking, Outcomes, Sender
from booking.models import Applicant, Appointment
from booking.queries import active_office_info, offered_service_info, office_by_code, service_for
from booking.rules import (
    Person,
    check_count,
    check_eligibility,
    check_no_show_block,
    first_error,
    no_show_horizon,
    parse_applicants,
    slot_started,
)
from booking.seats import ensure_slot, free_seat, slot_full, take_seat
from booking.serialize import status_label
from booking.sms import applicant_phones, queue_to_applicants, sms_body
from core.audit import record_audit
from core.clock import is_hhmm, local_now, local_today, utcnow
from core.database import write_transaction
from core.extensions import db
from core.privacy import encrypt, mask_id, secret_hash
from hours.calendar import SlotSpec
from notify.outbox import message_row, sendable_phone
from offices.models import Office, Service

log = logging.getLogger(__name__)


# --- booking -------------------------------------------------------------------------------

def book(payload: dict, language: str = "zh_CN", by=None) -> Booked:
    """Book from a docs/api.md §3 body. Raises BookingError with the contract's codes.
    `by`: the staff member booking for the couple (电话预约/现场代约, docs/api.md §3.8): the
    same rules and seats, channel "staff", audited, and phones may be left out."""
    if not isinstance(payload, dict):
        raise invalid(tr("请求体必须是 JSON 对象。"))
    code = payload.get("office")
    if office_info_by_code(code) is not None:
        office = active_office_info(code)
        service = offered_service_info(office, payload.get("service"))
    else:  # unknown here, or newer than this process's snapshot
        office = office_by_code(code, in_body=True)
        service = service_for(office, payload.get("service"))
    day = _parse_date(payload.get("date"))
    start = _parse_hhmm(payload.get("start"))
    raw = check_count(payload.get("applicants"), service.applicants, service.min_applicants)
    today = local_today(office.timezone)
    applicants, errors = parse_applicants(raw, today, phone_optional=by is not None)
    if errors:
        raise first_error(errors)
    return book_parsed(office, service, day, start, applicants, language, by)


def book_parsed(office: Office | OfficeInfo, service: Service | ServiceInfo, day: date,
                start: str, applicants: list, language: str = "zh_CN",
                by=None) -> Booked:
    """Book for parsed applicants. One transaction of a few statements: the no-show and
    already-booked checks (one query), the seat (one conditional statement), the
    appointment, its applicants, and the confirmation SMS in the outbox. `by`: the staff
    member booking for them (see `book`)."""
    people = [a.person() for a in applicants]
    check_eligibility(office, service.code, people, day)
    spec = bookable_spec(office, service.code, day, start)
    booking = _Booking(office.id, office.code, service.code, day, spec, applicants, people,
                       local_today(office.timezone), language if language == "en" else "zh_CN",
                       by)
    for _ in range(5):
        try:
            return booking.run()
        except _CodeTaken:  # one in about 10¹² per appointment already made: a new code
            continue
    raise RuntimeError("could not find a free appointment code")  # pragma: no cover


@dataclass(frozen=True)
class BookedApplicant:
    name: str
    id_type: str
    id_masked: str
    phone: str


@dataclass(frozen=True)
class Booked:
    """An appointment just booked, as its answer and confirmation show it: made from what
    was inserted, so that nothing is read back and no ORM object is built on the booking
    path (both cost a rush measurable CPU: bench/RESULTS.md). Its attributes are the
    Appointment's of the same names; `db.session.get(Appointment, booked.id)` loads the row
    for a caller that goes on to change it."""

    id: int
    code: str
    token: str
    office_id: int
    service_code: str
    date: date
    start: str
    end: str
    status: str
    channel: str
    language: str
    applicants: tuple[BookedApplicant, ...]


class _CodeTaken(Exception):
    """The random code (or token) of a new appointment exists already."""


@dataclass
class _Booking:
    office_id: int
    office_code: str
    service_code: str
    day: date
    spec: SlotSpec
    applicants: list
    people: list[Person]
    today: date
    language: str
    by: object = None  # the staff member booking for the couple, or None (online)

    def run(self) -> Booked:
        spec = self.spec
        if spec.capacity <= 0:  # no seats today: the seat's insert would break its CHECK
            raise slot_full()
        now = utcnow()
        token = new_token()
        values = {
            "code": new_code(), "token": token, "token_hash": secret_hash(token),
            "office_id": self.office_id, "service_code": self.service_code, "slot_id": None,
            "date": self.day, "start": spec.start, "end": spec.end, "status": "booked",
            "language": self.language, "channel": "online" if self.by is None else "staff",
            "created_at": now, "updated_at": now, "cancel_reason": ""}
        rows = [{"appointment_id": None, "position": position,
                 "service_code": self.service_code, "name": item.name,
                 "id_type": item.identity.id_type,
                 "id_number_enc": encrypt(item.identity.number), "id_hash": person.id_hash,
                 "id_masked": mask_id(item.identity.number), "active_hash": person.id_hash,
                 "sex": item.identity.sex, "birth_date": item.identity.birth_date,
                 "phone": item.phone}
                for position, (item, person)
                in enumerate(zip(self.applicants, self.people, strict=True))]
        booked = Booked(
            id=0, code=values["code"], token=token, office_id=self.office_id,
            service_code=self.service_code, date=self.day, start=spec.start, end=spec.end,
            status="booked", channel=values["channel"], language=self.language,
            applicants=tuple(BookedApplicant(row["name"], row["id_type"], row["id_masked"],
                                             row["phone"]) for row in rows))
        # The confirmation's text and rows before the transaction, which then holds the slot
        # row's lock (SQLite: the database's write lock) only for its statements.
        body = sms_body(booked, "booking_confirmed")
        messages = []
        for phone in applicant_phones(booked):
            phone = sendable_phone(phone, "booking_confirmed")
            if phone is not None:
                messages.append(message_row(phone, body, "booking_confirmed", None))
        hashes = [p.id_hash for p in self.people]

        def judge(no_show_days: dict, already_booked: bool) -> None:
            check_no_show_block(hashes, self.today, no_show_days)
            if already_booked:
                raise _already_booked()

        booking = Booking(
            service_code=self.service_code, hashes=sorted(set(hashes)),
            horizon=no_show_horizon(self.today),
            seat={"office_id": self.office_id, "service_code": self.service_code,
                  "date": self.day, "start": spec.start, "end": spec.end,
                  "capacity": spec.capacity},
            appointment=values,
            applicants=sorted(rows, key=lambda r: r["id_hash"]),  # the lock order
            messages=messages)
        sender = Sender(booking, db.engine.dialect)  # its parameters ready before the lock
        outcomes = Outcomes(judge, slot_full, _explain_unique)
        if sender.sends_one_statement and self.by is None:  # one round trip, nothing else
            appointment_id = sender.send_on_its_own(db.engine, outcomes)
        else:
            appointment_id = self._send_in_transaction(sender, outcomes, booked, messages)
        booked = replace(booked, id=appointment_id)
        # DEBUG: a rush books hundreds a second, each already in the access log (201) and
        # the database; formatting a line for each cost a booking measurable CPU
        log.debug("appointment %s booked: office %s, %s %s %s", appointment_id,
                  self.office_code, self.service_code, self.day.isoformat(), spec.start)
        return booked

    def _send_in_transaction(self, sender: Sender, outcomes: Outcomes, booked: Booked,
                             messages: list) -> int:
        """In the caller's write transaction: on SQLite (its write lock), and for a staff
        booking, whose audit row is written with it."""
        spec = self.spec
        with write_transaction() as session:
            appointment_id = sender.send(session.connection(), outcomes)
            if self.by is not None:  # who booked for the couple (电话预约/现场代约)
                record_audit(self.by, "appointment.book", f"appointment:{appointment_id}",
                             office_id=self.office_id, code=booked.code,
                             service=self.service_code, date=self.day.isoformat(),
                             start=spec.start, sms=len(messages))
        return appointment_id


def _violates_unique(orig: Exception, table: str, column: str) -> bool:
    """The driver's integrity error is the unique constraint of `table` whose first column
    is `column` (PostgreSQL: SQLSTATE 23505, the table, and the constraint's name
    uq_<table>_<columns>; SQLite: "UNIQUE constraint failed: table.column")."""
    if getattr(orig, "sqlstate", None) == "23505":
        diag = getattr(orig, "diag", None)
        return (getattr(diag, "table_name", None) == table
                and (getattr(diag, "constraint_name", None) or "").startswith(
                    f"uq_{table}_{column}"))
    text = str(orig)
    return "UNIQUE constraint failed" in text and f"{table}.{column}" in text


def _explain_unique(error: Exception) -> Exception | None:
    """What a unique constraint refusing a booking's row means: its random code or token
    exists already (one in about 10¹² per appointment made: try again with new ones), or
    one of the people booked this service since the check (the unique active_hash)."""
    if (_violates_unique(error, "appointments", "code")
            or _violates_unique(error, "appointments", "token_hash")):
        return _CodeTaken()
    if _violates_unique(error, "applicants", "active_hash"):
        return _already_booked()
    return None


def _already_booked() -> BookingError:
    return BookingError(409, "already_booked", tr(
        "申请人已有一个未办结的同类业务预约；如需更改，请使用原预约的管理链接改约或取消。"))


def _parse_date(value: object) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise invalid(tr("date 必须是 YYYY-MM-DD 格式的日期。"), field="date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(tr("date 必须是 YYYY-MM-DD 格式的日期。"), field="date") from None


def _parse_hhmm(value: object) -> str:
    if is_hhmm(value):
        return value
    raise invalid(tr("start 必须是 HH:MM 格式的时间。"), field="start")


# --- changing an appointment ----------------------------------------------------------------

def _not_changeable(appointment: Appointment) -> BookingError:
    return BookingError(409, "not_changeable", tr(
        "此预约当前状态为“%(status)s”，不能再更改。", status=status_label(appointment.status)))


def _claim(appointment: Appointment, **values) -> bool:
    """Conditional UPDATE of a booked appointment (locks its row first)."""
    result = db.session.execute(
        update(Appointment).where(Appointment.id == appointment.id,
                                  Appointment.status == "booked",
                                  Appointment.slot_id == appointment.slot_id)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:
        for key, value in values.items():
            set_committed_value(appointment, key, value)
        return True
    return False


def _ensure_changeable_online(appointment: Appointment, office: Office) -> None:
    if appointment.status != "booked":
        raise _not_changeable(appointment)
    if slot_started(office, appointment.date, appointment.start, local_now(office.timezone)):
        raise BookingError(409, "not_changeable", tr(
            "预约时段已开始，不能在网上更改；请联系登记处。"))


def _people_of(appointment: Appointment) -> list[Person]:
    return [Person(a.id_hash, a.sex, a.birth_date, False) for a in appointment.applicants]


def reschedule(appointment: Appointment, payload: dict, by=None) -> Appointment:
    """Move to another slot of the same office and service, atomically: the new seat is
    taken and the old one freed, or nothing changes (409 slot_full). `by`: the staff
    member doing it for the couple (the same rules; audited)."""
    if not isinstance(payload, dict):
        raise invalid(tr("请求体必须是 JSON 对象。"))
    day = _parse_date(payload.get("date"))
    start = _parse_hhmm(payload.get("start"))
    office = db.session.get(Office, appointment.office_id)
    _ensure_changeable_online(appointment, office)
    if (day, start) == (appointment.date, appointment.start):
        return appointment
    check_eligibility(office, appointment.service_code, _people_of(appointment), day)
    spec = bookable_spec(office, appointment.service_code, day, start)
    old_slot_id = appointment.slot_id
    with write_transaction():
        db.session.refresh(appointment)
        if appointment.status != "booked" or appointment.slot_id != old_slot_id:
            raise _not_changeable(appointment)
        if not _claim(appointment):
            raise _not_changeable(appointment)
        new_slot_id = ensure_slot(office.id, appointment.service_code, day, spec.start,
                                  spec.end, spec.capacity)
        for slot_id in sorted({new_slot_id, old_slot_id}):
            if slot_id == new_slot_id:
                take_seat(new_slot_id, spec.capacity)
            else:
                free_seat(old_slot_id)
        appointment.slot_id = new_slot_id
        appointment.date = day
        appointment.start = spec.start
        appointment.end = spec.end
        appointment.reminder_queued_at = None
        db.session.flush()
        queue_to_applicants(appointment, "booking_rescheduled")
        if by is not None:
            record_audit(by, "appointment.reschedule", f"appointment:{appointment.id}",
                         office_id=appointment.office_id, code=appointment.code,
                         date=day.isoformat(), start=spec.start)
    log.info("appointment %s rescheduled to %s %s", appointment.id, day.isoformat(), spec.start)
    return appointment


def cancel(appointment: Appointment, by=None, reason: str = "") -> Appointment:
    """Cancel a booked appointment: the seat returns to the slot, the applicants may book
    again, and they get an SMS. Online (by=None) only before the slot starts; the office
    (by=a staff user) at any time with a reason. Cancelling twice is harmless."""
    office = db.session.get(Office, appointment.office_id)
    if appointment.status == "cancelled":
        return appointment
    if by is None:
        _ensure_changeable_online(appointment, office)
    elif appointment.status != "booked":
        raise _not_changeable(appointment)
    with write_transaction():
        if not cancel_claimed(appointment, by, reason):
            return appointment
    log.info("appointment %s cancelled%s", appointment.id, " by the office" if by else "")
    return appointment


def cancel_claimed(appointment: Appointment, by=None, reason: str = "",
                   notify: bool = True) -> bool:
    """Cancel inside the caller's write transaction: the seat returns, the applicants may
    book again, an office's cancellation is audited, and (with `notify`) they get an SMS.
    False when it was cancelled already."""
    now = utcnow()
    if not _claim(appointment, status="cancelled", cancelled_at=now,
                  cancelled_by_id=getattr(by, "id", None), cancel_reason=reason[:256]):
        db.session.refresh(appointment)
        if appointment.status == "cancelled":
            return False
        raise _not_changeable(appointment)
    free_seat(appointment.slot_id)
    release_active(appointment)
    if by is None:
        if notify:
            queue_to_applicants(appointment, "booking_cancelled",
                                dedupe=f"booking_cancelled:{appointment.id}")
    else:
        record_audit(by, "appointment.cancel", f"appointment:{appointment.id}",
                     office_id=appointment.office_id, code=appointment.code,
                     reason=reason[:256])
        if notify:
            queue_to_applicants(appointment, "cancelled_by_office",
                                dedupe=f"cancelled_by_office:{appointment.id}",
                                reason=reason[:60] or tr("工作安排调整"))
    return True


def release_active(appointment: Appointment) -> None:
    """Let the applicants book this service again (clears their active hashes). No commit:
    the caller's transaction."""
    db.session.execute(
        update(Applicant).where(Applicant.appointment_id == appointment.id)
        .values(active_hash=None).execution_options(synchronize_session=False))
    for applicant in appointment.applicants:
        set_committed_value(applicant, "active_hash", None)
