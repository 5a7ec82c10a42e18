"""The booking's write transactions for the couple and the office: book, reschedule and
cancel (the front desk's and the jobs' status changes are in booking.attendance).

Lock order, the same in every transaction so that PostgreSQL never deadlocks:
the appointment row (claimed by a conditional UPDATE) → slot rows in ascending id →
applicant rows (inserted in ascending hash order).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, literal_column, null, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from booking.availability import bookable_spec
from booking.cache import OfficeInfo, ServiceInfo, office_info_by_code
from booking.codes import new_code, new_token
from booking.errors import BookingError, invalid, tr
from booking.models import Applicant, Appointment
from booking.queries import active_office_info, offered_service_info, office_by_code, service_for
from booking.rules import (
    Person,
    check_count,
    check_eligibility,
    check_no_show_block,
    first_error,
    no_show_days_query,
    no_show_horizon,
    parse_applicants,
    slot_started,
)
from booking.seats import ensure_slot, free_seat, take_seat, take_seat_at
from booking.serialize import status_label
from booking.sms import applicant_phones, queue_to_applicants, sms_body
from core.audit import record_audit
from core.clock import is_hhmm, local_now, local_today, utcnow
from core.database import write_transaction
from core.extensions import db
from core.privacy import encrypt, mask_id, secret_hash
from hours.calendar import SlotSpec
from notify.outbox import phone_hash, queue_sms
from offices.models import Office, Service

log = logging.getLogger(__name__)


# --- booking -------------------------------------------------------------------------------

def book(payload: dict, language: str = "zh_CN", by=None) -> Appointment:
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
                by=None) -> Appointment:
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

    def run(self) -> Appointment:
        spec = self.spec
        now = utcnow()
        token = new_token()
        values = {
            "code": new_code(), "token": token, "token_hash": secret_hash(token),
            "office_id": self.office_id, "service_code": self.service_code, "slot_id": None,
            "date": self.day, "start": spec.start, "end": spec.end, "status": "booked",
            "language": self.language, "channel": "online" if self.by is None else "staff",
            "created_at": now, "updated_at": now,
            "checked_in_at": None, "cancelled_at": None, "cancelled_by_id": None,
            "cancel_reason": "", "completed_at": None, "no_show_at": None,
            "reminder_queued_at": None, "purged_at": None}
        rows = [{"appointment_id": None, "position": position,
                 "service_code": self.service_code, "name": item.name,
                 "id_type": item.identity.id_type,
                 "id_number_enc": encrypt(item.identity.number), "id_hash": person.id_hash,
                 "id_masked": mask_id(item.identity.number), "active_hash": person.id_hash,
                 "sex": item.identity.sex, "birth_date": item.identity.birth_date,
                 "phone": item.phone}
                for position, (item, person)
                in enumerate(zip(self.applicants, self.people, strict=True))]
        # The objects the caller gets, made from what is inserted (nothing is read back),
        # and the confirmation's text: all before the transaction, which then holds the
        # slot row's lock (SQLite: the database's write lock) only for its statements.
        appointment = Appointment(**values)
        appointment.applicants = [Applicant(**row) for row in rows]
        body = sms_body(appointment, "booking_confirmed")
        phones = applicant_phones(appointment)
        with write_transaction():
            _check_may_book(self.service_code, [p.id_hash for p in self.people], self.today)
            values["slot_id"] = take_seat_at(self.office_id, self.service_code, self.day,
                                             spec.start, spec.end, spec.capacity)
            appointment_id = _insert(Appointment, values, _code_taken)
            for row in rows:
                row["appointment_id"] = appointment_id
            # one statement, the rows in hash order (a fixed lock order)
            ids = _insert_rows(Applicant, sorted(rows, key=lambda r: r["id_hash"]),
                               _booked_meanwhile)
            dedupe = f"booking_confirmed:{appointment_id}"
            messages = []
            for phone in phones:
                # The appointment is new in this transaction: no earlier message can carry
                # its dedupe key, so the key is stored without asking the outbox first.
                message = queue_sms(phone, body, "booking_confirmed")
                if message is not None:
                    message.dedupe_key = f"{dedupe}:{phone_hash(phone)}"[:128]
                    messages.append(message)
            _write_queued(messages)
            if self.by is not None:  # who booked for the couple (电话预约/现场代约)
                record_audit(self.by, "appointment.book", f"appointment:{appointment_id}",
                             office_id=self.office_id, code=appointment.code,
                             service=self.service_code, date=self.day.isoformat(),
                             start=spec.start, sms=len(messages))
        appointment.id = appointment_id
        appointment.slot_id = values["slot_id"]
        for applicant in appointment.applicants:
            applicant.id = ids[applicant.position]
            applicant.appointment_id = appointment_id
        make_transient_to_detached(appointment)
        for applicant in appointment.applicants:
            make_transient_to_detached(applicant)
        db.session.add(appointment)  # persistent, as if loaded: no statement
        log.info("appointment %s booked: office %s, %s %s %s", appointment_id,
                 self.office_code, self.service_code, self.day.isoformat(), spec.start)
        return appointment


def _write_queued(messages: list) -> None:
    """INSERT the messages `queue_sms` queued (what to send, to whom, whether at all stay
    its decisions) in one executemany, instead of the ORM's unit of work at commit, which
    costs a booking about a millisecond more. Only messages still pending in the session;
    they leave it (no caller keeps them)."""
    pending = [m for m in messages if m in db.session.new]
    if not pending:
        return
    table = type(pending[0]).__table__
    rows = []
    for message in pending:
        db.session.expunge(message)
        # the columns the message has values for; the table's defaults fill the rest
        rows.append({column.key: value for column in table.columns
                     if (value := getattr(message, column.key)) is not None})
    for keys in {tuple(row) for row in rows}:  # one statement per set of columns (one)
        db.session.execute(table.insert(), [row for row in rows if tuple(row) == keys])


def _violates_unique(error: IntegrityError, column: str) -> bool:
    """The error is a unique constraint of a column named `column` (PostgreSQL: SQLSTATE
    23505 and the constraint's name; SQLite: "UNIQUE constraint failed: table.column")."""
    orig = error.orig
    if getattr(orig, "sqlstate", None) == "23505":
        return column in (getattr(getattr(orig, "diag", None), "constraint_name", None) or "")
    text = str(orig)
    return "UNIQUE constraint failed" in text and f".{column}" in text


def _code_taken(error: IntegrityError) -> Exception | None:
    if _violates_unique(error, "code") or _violates_unique(error, "token"):
        return _CodeTaken()
    return None


def _booked_meanwhile(error: IntegrityError) -> Exception | None:
    # one of them booked this service since the check (the unique active_hash)
    return _already_booked() if _violates_unique(error, "active_hash") else None


@functools.cache
def _insert_statement(model, returning: str):
    table = model.__table__
    return table.insert().returning(*(table.c[name] for name in returning.split()))


def _insert(model, values: dict, explain) -> int:
    """INSERT one row; its id. An IntegrityError becomes what `explain` makes of it."""
    try:
        return db.session.execute(_insert_statement(model, "id"), values).scalar_one()
    except IntegrityError as error:
        raise (explain(error) or error) from None


def _insert_rows(model, rows: list[dict], explain) -> dict[int, int]:
    """INSERT the rows in one statement (in their order); {position: id}."""
    try:
        return dict(db.session.execute(_insert_statement(model, "position id"), rows).all())
    except IntegrityError as error:
        raise (explain(error) or error) from None


def _already_booked() -> BookingError:
    return BookingError(409, "already_booked", tr(
        "申请人已有一个未办结的同类业务预约；如需更改，请使用原预约的管理链接改约或取消。"))


@functools.cache
def _may_book_query():
    """The people's no-shows that can still block them, and their active bookings of the
    service: one statement (two index look-ups), built once."""
    no_shows = no_show_days_query().add_columns(literal_column("'no_show'"))
    taken = select(Applicant.active_hash, null(), literal_column("'taken'")).where(
        Applicant.service_code == bindparam("service_code"),
        Applicant.active_hash.in_(bindparam("hashes", expanding=True)))
    return union_all(no_shows, taken)


def _check_may_book(service_code: str, hashes: list[str], today: date) -> None:
    """The no-show block (422 not_eligible) and an active booking of the same service (409
    already_booked), in that order, from one query. The unique (active_hash,
    service_code) constraint stands behind the second: two bookings racing past this
    check cannot both insert their applicants."""
    no_show_days: dict[str, list[date]] = {}
    already = False
    for id_hash, day, what in db.session.execute(_may_book_query(), {
            "hashes": sorted(set(hashes)), "horizon": no_show_horizon(today),
            "service_code": service_code}):
        if what == "taken":
            already = True
        else:
            no_show_days.setdefault(id_hash, []).append(day)
    check_no_show_block(hashes, today, no_show_days)
    if already:
        raise _already_booked()


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
