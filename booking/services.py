"""The booking service: every booking transaction lives here, for the API, the pages, the
front desk and the jobs alike.

Lock order, the same in every transaction so that PostgreSQL never deadlocks:
the appointment row (claimed by a conditional UPDATE) → slot rows in ascending id →
applicant rows (inserted in ascending hash order).
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType

from flask import current_app
from sqlalchemy import bindparam, event, literal_column, null, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import TextClause

from booking.divorce import record_divorce_application
from booking.errors import BookingError, invalid, tr
from booking.models import ACTIVE_STATUSES, Applicant, Appointment, Slot
from booking.rules import (
    Person,
    booking_window,
    check_count,
    check_eligibility,
    check_no_show_block,
    first_error,
    no_show_days_query,
    no_show_horizon,
    not_bookable_reason,
    parse_applicants,
    person_hash,
    slot_started,
)
from booking.seats import booked_counts, ensure_slot, free_seat, take_seat, take_seat_at
from core.clock import local_datetime, local_now, local_today, utcnow
from core.database import write_transaction
from core.errors import ApiError
from core.extensions import db
from core.privacy import encrypt, mask_id, mask_name
from core.summaries import NO_SHOWS_MARKED, RunSummary
from hours.calendar import DayPlan, SlotSpec, day_plans, slots_for_plan
from notify.messages import render
from notify.outbox import queue_sms
from offices.models import Office, OfficeService, Service

log = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1
CODE_LENGTH = 8
TOKEN_BYTES = 24  # secrets.token_urlsafe(24): 32 characters


# --- what every booking reads, cached per process ---------------------------------------------
#
# Offices, their services and seats, and the day plans of the calendar change a few times a
# year; a booking or an availability request reads them every time. They are kept per
# process (per app) as immutable snapshots: dropped at once when this process writes any
# of the tables they come from (session events below), and reloaded at the latest
# BOOKING_CACHE_SECONDS (default 5) after they were read, so that a change made by another
# process (an admin's page on another worker, `flask offices load`) shows up within seconds.

CACHE_SECONDS = 5.0
CACHED_TABLES = frozenset({"offices", "office_services", "services", "peak_day_rules",
                           "calendar_overrides", "day_extensions", "state_days",
                           "holiday_notices"})
MAX_CACHED_PLANS = 20_000
_generation = [0]  # bumped by any write to CACHED_TABLES in this process
_DML_RE = re.compile(r"\b(insert|update|delete|truncate|replace)\b")


@dataclass(frozen=True)
class ServiceInfo:
    code: str
    name: str
    name_en: str
    applicants: int


@dataclass(frozen=True, eq=False)
class OfficeInfo:
    """What bookings read of an office: a snapshot that the calendar functions accept in
    place of an Office (the same attribute names)."""

    id: int
    code: str
    name: str
    name_en: str
    timezone: str
    slot_minutes: int
    booking_days_ahead: int
    open_on_holidays: bool
    open_on_peak_days: bool
    accepts_cross_border: bool
    active: bool
    hours: MappingProxyType
    capacities: tuple[tuple[str, int], ...]  # the active services in order, with seats

    @property
    def service_codes(self) -> list[str]:
        return [code for code, _ in self.capacities]

    def capacity_for(self, service_code: str) -> int:
        for code, capacity in self.capacities:
            if code == service_code:
                return capacity
        return 0


class _Snapshot:
    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.loaded_at = time.monotonic()
        self.offices_by_id: dict[int, OfficeInfo] = {}
        self.offices_by_code: dict[str, OfficeInfo] = {}
        self.services: dict[str, ServiceInfo] = {}
        self.plans: dict[tuple[int, date], DayPlan] = {}
        self.specs: dict[tuple[int, str, date], tuple[SlotSpec, ...]] = {}


_snapshot_lock = threading.Lock()


def _load_snapshot(generation: int) -> _Snapshot:
    snapshot = _Snapshot(generation)
    seats: dict[int, list[tuple[int, str, int]]] = {}
    for row in db.session.execute(
            select(OfficeService.office_id, OfficeService.position, OfficeService.id,
                   OfficeService.service_code, OfficeService.capacity)
            .where(OfficeService.active.is_(True))):
        seats.setdefault(row.office_id, []).append(
            ((row.position, row.id), row.service_code, row.capacity))
    for office in db.session.execute(select(Office.__table__)).all():
        hours = {key: tuple(value or ()) for key, value in (office.hours or {}).items()}
        info = OfficeInfo(
            id=office.id, code=office.code, name=office.name, name_en=office.name_en or "",
            timezone=office.timezone, slot_minutes=int(office.slot_minutes),
            booking_days_ahead=int(office.booking_days_ahead),
            open_on_holidays=bool(office.open_on_holidays),
            open_on_peak_days=bool(office.open_on_peak_days),
            accepts_cross_border=bool(office.accepts_cross_border),
            active=bool(office.active), hours=MappingProxyType(hours),
            capacities=tuple((code, capacity) for _, code, capacity
                             in sorted(seats.get(office.id, ()))))
        snapshot.offices_by_id[info.id] = info
        snapshot.offices_by_code[info.code] = info
    for service in db.session.execute(select(Service.__table__)).all():
        snapshot.services[service.code] = ServiceInfo(
            service.code, service.name, service.name_en or "", int(service.applicants))
    return snapshot


def _snapshot() -> _Snapshot:
    """This process's snapshot, reloaded when stale."""
    app = current_app._get_current_object()
    snapshot = app.extensions.get("xiyue_booking_snapshot")
    seconds = float(app.config.get("BOOKING_CACHE_SECONDS", CACHE_SECONDS))
    generation = _generation[0]
    if _stale(snapshot, generation, seconds):
        with _snapshot_lock:
            snapshot = app.extensions.get("xiyue_booking_snapshot")
            if _stale(snapshot, generation, seconds):  # not reloaded by another thread
                snapshot = _load_snapshot(generation)
                app.extensions["xiyue_booking_snapshot"] = snapshot
    return snapshot


def _stale(snapshot: _Snapshot | None, generation: int, seconds: float) -> bool:
    return (snapshot is None or snapshot.generation != generation
            or time.monotonic() - snapshot.loaded_at >= seconds)


def forget_cached() -> None:
    """Drop what this process cached (the next request reads the database again)."""
    _generation[0] += 1


def office_info(office: object) -> OfficeInfo | None:
    """The snapshot of an office (by id, or of an Office row); None when unknown."""
    office_id = office if isinstance(office, int) else getattr(office, "id", None)
    return _snapshot().offices_by_id.get(office_id)


def service_info(code: str) -> ServiceInfo | None:
    return _snapshot().services.get(code)


def cached_day_plans(office: Office | OfficeInfo, start: date, days: int) -> list[DayPlan]:
    """`hours.calendar.day_plans`, computed once per process and office and day (see above)."""
    if days <= 0:
        return []
    snapshot = _snapshot()
    info = snapshot.offices_by_id.get(office.id)
    if info is None:  # an office newer than the snapshot
        return day_plans(office, start, days)
    wanted = [start + timedelta(days=offset) for offset in range(days)]
    found = {day: plan for day in wanted
             if (plan := snapshot.plans.get((info.id, day))) is not None}
    missing = [day for day in wanted if day not in found]
    if missing:
        fresh = day_plans(info, missing[0], (missing[-1] - missing[0]).days + 1)
        if len(snapshot.plans) + len(fresh) > MAX_CACHED_PLANS:
            snapshot.plans.clear()
        for plan in fresh:
            snapshot.plans[(info.id, plan.date)] = plan
            found.setdefault(plan.date, plan)
    return [found[day] for day in wanted]


def cached_slot_specs(office: Office | OfficeInfo, service_code: str, plan: DayPlan
                      ) -> tuple[SlotSpec, ...]:
    """`hours.calendar.slots_for_plan` for a plan of `cached_day_plans`, kept with it."""
    snapshot = _snapshot()
    info = snapshot.offices_by_id.get(office.id)
    if info is None:
        return tuple(slots_for_plan(office, service_code, plan))
    key = (info.id, service_code, plan.date)
    specs = snapshot.specs.get(key)
    if specs is None or snapshot.plans.get((info.id, plan.date)) is not plan:
        specs = tuple(slots_for_plan(info, service_code, plan))
        if len(snapshot.specs) >= MAX_CACHED_PLANS:
            snapshot.specs.clear()
        snapshot.specs[key] = specs
    return specs


def _mark_changed(session) -> None:
    session.info["xiyue_cached_tables_changed"] = True
    _generation[0] += 1


@event.listens_for(Session, "after_flush")
def _after_flush(session, _context) -> None:
    for objects in (session.new, session.dirty, session.deleted):
        for obj in objects:
            if getattr(obj, "__tablename__", None) in CACHED_TABLES:
                _mark_changed(session)
                return


@event.listens_for(Session, "do_orm_execute")
def _after_bulk(state) -> None:
    if state.is_select:
        return
    statement = state.statement
    if isinstance(statement, TextClause):
        text = statement.text.lower()
        if _DML_RE.search(text) and any(name in text for name in CACHED_TABLES):
            _mark_changed(state.session)
        return
    table = getattr(statement, "table", None)
    if getattr(table, "name", None) in CACHED_TABLES:
        _mark_changed(state.session)


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    # again once the change is visible: a reload between flush and commit read the old rows
    if session.info.pop("xiyue_cached_tables_changed", False):
        _generation[0] += 1


# --- look-ups ------------------------------------------------------------------------------

def office_by_code(code: object, in_body: bool = False) -> Office:
    """An active office. Unknown: 404 not_found in a path, 422 invalid_request in a body."""
    office = None
    if isinstance(code, str) and code:
        office = db.session.scalar(select(Office).where(Office.code == code,
                                                        Office.active.is_(True)))
    if office is None:
        raise _unknown_office(code, in_body)
    return office


def _unknown_office(code: object, in_body: bool) -> ApiError:
    if in_body:
        return invalid(tr("没有这个登记处：%(code)s。", code=str(code)), field="office")
    return ApiError(404, "not_found", tr("没有这个登记处。"))


def service_for(office: Office, code: object) -> Service:
    """A service the office offers; 422 invalid_request otherwise."""
    service = db.session.get(Service, code) if isinstance(code, str) and code else None
    # what the office offers from this process's snapshot (no query for its services)
    if service is None or code not in (office_info(office) or office).service_codes:
        raise _unknown_service(code)
    return service


def _unknown_service(code: object) -> BookingError:
    return invalid(tr("此登记处不办理这项业务：%(code)s。", code=str(code)), field="service")


def active_office_info(code: object) -> OfficeInfo:
    """`office_by_code(code, in_body=True)` from this process's snapshot."""
    info = _snapshot().offices_by_code.get(code) if isinstance(code, str) and code else None
    if info is None or not info.active:
        raise _unknown_office(code, True)
    return info


def offered_service_info(office: OfficeInfo, code: object) -> ServiceInfo:
    """`service_for` from this process's snapshot."""
    info = service_info(code) if isinstance(code, str) and code else None
    if info is None or code not in office.service_codes:
        raise _unknown_service(code)
    return info


def appointment_by_token(token: str) -> Appointment:
    appointment = None
    if isinstance(token, str) and 16 <= len(token) <= 64:
        appointment = db.session.scalar(select(Appointment).where(Appointment.token == token))
    if appointment is None:
        raise ApiError(404, "not_found", tr("没有找到这个预约，请核对链接。"))
    return appointment


def appointment_by_code(code: str) -> Appointment | None:
    cleaned = "".join(code.split()).upper()
    if not 6 <= len(cleaned) <= 12 or not cleaned.isalnum():
        return None
    return db.session.scalar(select(Appointment).where(Appointment.code == cleaned))


def looks_like_code(text: str) -> bool:
    """True when `text` (spaces removed, upper case) could be an appointment code: 6 to 12
    characters of the code alphabet. An ID number never is (18 characters, or a 0 or 1 in
    it), so it is never sent to the database as a code to compare with."""
    return 6 <= len(text) <= 12 and all(c in CODE_ALPHABET for c in text)


def appointment_for_checkin(office: Office, code_or_id_number: str) -> Appointment:
    """The appointment the front desk means: by its code (any office or day: the desk then
    says wrong_office / wrong_day), or by an applicant's ID number — today's at this office
    first, else the person's nearest active appointment. 404 appointment_not_found."""
    text = (code_or_id_number or "").strip() if isinstance(code_or_id_number, str) else ""
    if text:
        by_code = appointment_by_code(text)
        if by_code is not None:
            return by_code
        id_hash = person_hash(text)
        today = local_today(office.timezone)
        candidates = db.session.scalars(
            select(Appointment).join(Applicant, Applicant.appointment_id == Appointment.id)
            .where(Applicant.id_hash == id_hash,
                   Appointment.status.in_(ACTIVE_STATUSES))
            .order_by(Appointment.date, Appointment.start)).unique().all()
        for appointment in candidates:
            if appointment.office_id == office.id and appointment.date == today:
                return appointment
        if candidates:
            return min(candidates, key=lambda a: (abs((a.date - today).days),
                                                  a.office_id != office.id))
    raise ApiError(404, "appointment_not_found", tr("没有找到这个预约。"))


# --- JSON ------------------------------------------------------------------------------------

def _office_of(appointment: Appointment) -> OfficeInfo | Office | None:
    return office_info(appointment.office_id) or db.session.get(Office, appointment.office_id)


def _service_of(appointment: Appointment) -> ServiceInfo | Service | None:
    return (service_info(appointment.service_code)
            or db.session.get(Service, appointment.service_code))


def appointment_json(appointment: Appointment) -> dict:
    """CONTRACT §3: names and ID numbers masked."""
    office = _office_of(appointment)
    service = _service_of(appointment)
    return {
        "code": appointment.code,
        "token": appointment.token,
        "status": appointment.status,
        "office": office.code if office else None,
        "office_name": office.name if office else "",
        "service": appointment.service_code,
        "service_name": service.name if service else "",
        "date": appointment.date.isoformat(),
        "start": appointment.start,
        "end": appointment.end,
        "applicants": [{"name": mask_name(a.name), "id_number": a.id_masked,
                        "id_type": a.id_type} for a in appointment.applicants],
    }


# --- availability ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SlotView:
    start: str
    end: str
    capacity: int
    remaining: int
    bookable: bool


@dataclass(frozen=True)
class DayView:
    date: date
    plan: DayPlan
    in_window: bool
    reason: str | None  # why the day is not bookable (None when it is)
    slots: tuple[SlotView, ...]

    @property
    def bookable(self) -> bool:
        return any(slot.bookable for slot in self.slots)

    @property
    def remaining(self) -> int:
        return sum(slot.remaining for slot in self.slots)


def availability(office: Office, service_code: str, start: date, days: int) -> list[DayView]:
    """Each day's planned slots with seats left; `bookable` says what can be booked now."""
    now_local = local_now(office.timezone)
    window = booking_window(office, now_local)
    plans = cached_day_plans(office, start, days)
    counts = booked_counts(office.id, service_code, start, start + timedelta(days=days - 1))
    today = now_local.date()
    out = []
    for plan in plans:
        reason = not_bookable_reason(office, window, plan.date)
        in_window = reason is None
        views = []
        for spec in cached_slot_specs(office, service_code, plan):
            remaining = max(0, spec.capacity - counts.get((plan.date, spec.start), 0))
            bookable = (in_window and remaining > 0
                        and (plan.date > today  # no slot of a later day has started
                             or not slot_started(office, plan.date, spec.start, now_local)))
            views.append(SlotView(spec.start, spec.end, spec.capacity, remaining, bookable))
        if in_window and not views:
            reason = tr("%(day)s 不开放预约（休息日或节假日）。", day=plan.date.isoformat())
        out.append(DayView(plan.date, plan, in_window, reason, tuple(views)))
    return out


def bookable_spec(office: Office, service_code: str, day: date, start: str) -> SlotSpec:
    """The slot to book, or 422 date_not_bookable saying why not."""
    now_local = local_now(office.timezone)
    reason = not_bookable_reason(office, booking_window(office, now_local), day)
    if reason is not None:
        raise BookingError(422, "date_not_bookable", reason, field="date")
    plan = cached_day_plans(office, day, 1)[0]
    specs = cached_slot_specs(office, service_code, plan)
    if not specs:
        raise BookingError(422, "date_not_bookable", tr(
            "%(day)s 登记处不办理此项业务（休息日或节假日）。", day=day.isoformat()),
            field="date")
    for spec in specs:
        if spec.start == start:
            if slot_started(office, day, start, now_local):
                raise BookingError(422, "date_not_bookable", tr("该时段已开始，不能预约。"),
                                   field="start")
            return spec
    raise BookingError(422, "date_not_bookable", tr(
        "%(day)s 没有 %(start)s 开始的时段；可选：%(starts)s。", day=day.isoformat(),
        start=start, starts="、".join(s.start for s in specs)), field="start")


def next_free_days(office: Office, service_code: str, count: int = 3) -> list[DayView]:
    today = local_today(office.timezone)
    views = availability(office, service_code, today + timedelta(days=1),
                         max(1, int(office.booking_days_ahead)))
    return [view for view in views if view.bookable][:count]


# --- booking ---------------------------------------------------------------------------------

def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def manage_link(appointment: Appointment) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + f"/a/{appointment.token}"


def _sms_values(appointment: Appointment) -> dict:
    office = _office_of(appointment)
    service = _service_of(appointment)
    english = appointment.language == "en"
    return {"office": (office.name_en if english and office.name_en else office.name),
            "service": (service.name_en if english and service.name_en else service.name),
            "date": appointment.date.isoformat(), "start": appointment.start,
            "code": appointment.code, "link": manage_link(appointment)}


def _sms_body(appointment: Appointment, kind: str, **extra) -> str:
    values = _sms_values(appointment) | extra
    if kind == "booking_cancelled" or kind == "cancelled_by_office":
        office = _office_of(appointment)
        values["link"] = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + \
            f"/book/{office.code}"
    return render(kind, appointment.language, **values)


def _phones(appointment: Appointment) -> list[str]:
    return list(dict.fromkeys(a.phone for a in appointment.applicants if a.phone))


def _queue_to_applicants(appointment: Appointment, kind: str, dedupe: str | None = None,
                         **extra) -> None:
    """One SMS per distinct phone of the applicants, in the caller's transaction."""
    body = _sms_body(appointment, kind, **extra)
    for phone in _phones(appointment):
        queue_sms(phone, body, kind, dedupe_key=f"{dedupe}:{phone}"[:128] if dedupe else None)


def book(payload: dict, language: str = "zh_CN") -> Appointment:
    """Book from a CONTRACT §3 body. Raises BookingError with the contract's codes."""
    if not isinstance(payload, dict):
        raise invalid(tr("请求体必须是 JSON 对象。"))
    code = payload.get("office")
    if isinstance(code, str) and code in _snapshot().offices_by_code:
        office = active_office_info(code)
        service = offered_service_info(office, payload.get("service"))
    else:  # unknown here, or newer than this process's snapshot
        office = office_by_code(code, in_body=True)
        service = service_for(office, payload.get("service"))
    day = _parse_date(payload.get("date"))
    start = _parse_hhmm(payload.get("start"))
    raw = check_count(payload.get("applicants"), service.applicants)
    today = local_today(office.timezone)
    applicants, errors = parse_applicants(raw, today)
    if errors:
        raise first_error(errors)
    return book_parsed(office, service, day, start, applicants, language)


def book_parsed(office: Office | OfficeInfo, service: Service | ServiceInfo, day: date,
                start: str, applicants: list, language: str = "zh_CN") -> Appointment:
    """Book for parsed applicants. One transaction of a few statements: the no-show and
    already-booked checks (one query), the seat (one conditional statement), the
    appointment, its applicants, and the confirmation SMS in the outbox."""
    people = [a.person() for a in applicants]
    check_eligibility(office, service.code, people, day)
    spec = bookable_spec(office, service.code, day, start)
    booking = _Booking(office.id, office.code, service.code, day, spec, applicants, people,
                       local_today(office.timezone), language if language == "en" else "zh_CN")
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

    def run(self) -> Appointment:
        spec = self.spec
        now = utcnow()
        values = {
            "code": _new_code(), "token": secrets.token_urlsafe(TOKEN_BYTES),
            "office_id": self.office_id, "service_code": self.service_code, "slot_id": None,
            "date": self.day, "start": spec.start, "end": spec.end, "status": "booked",
            "language": self.language, "created_at": now, "updated_at": now,
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
        body = _sms_body(appointment, "booking_confirmed")
        phones = _phones(appointment)
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
                    message.dedupe_key = f"{dedupe}:{phone}"[:128]
                    messages.append(message)
            _write_queued(messages)
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
    if (isinstance(value, str) and len(value) == 5 and value[2] == ":"
            and value[:2].isdigit() and value[3:].isdigit()
            and int(value[:2]) < 24 and int(value[3:]) < 60):
        return value
    raise invalid(tr("start 必须是 HH:MM 格式的时间。"), field="start")


# --- changing an appointment ----------------------------------------------------------------

def _not_changeable(appointment: Appointment) -> BookingError:
    return BookingError(409, "not_changeable", tr(
        "此预约当前状态为“%(status)s”，不能再更改。", status=status_label(appointment.status)))


def status_label(status: str) -> str:
    return {"booked": tr("已预约"), "cancelled": tr("已取消"), "checked_in": tr("已签到"),
            "completed": tr("已办结"), "no_show": tr("未到")}.get(status, status)


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


def reschedule(appointment: Appointment, payload: dict) -> Appointment:
    """Move to another slot of the same office and service, atomically: the new seat is
    taken and the old one freed, or nothing changes (409 slot_full)."""
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
        _queue_to_applicants(appointment, "booking_rescheduled")
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
        now = utcnow()
        if not _claim(appointment, status="cancelled", cancelled_at=now,
                      cancelled_by_id=getattr(by, "id", None), cancel_reason=reason[:256]):
            db.session.refresh(appointment)
            if appointment.status == "cancelled":
                return appointment
            raise _not_changeable(appointment)
        free_seat(appointment.slot_id)
        release_active(appointment)
        if by is None:
            _queue_to_applicants(appointment, "booking_cancelled",
                                 dedupe=f"booking_cancelled:{appointment.id}")
        else:
            from core.audit import record_audit

            record_audit(by, "appointment.cancel", f"appointment:{appointment.id}",
                         office_id=appointment.office_id, code=appointment.code,
                         reason=reason[:256])
            _queue_to_applicants(appointment, "cancelled_by_office",
                                 dedupe=f"cancelled_by_office:{appointment.id}",
                                 reason=reason[:60] or tr("工作安排调整"))
    log.info("appointment %s cancelled%s", appointment.id, " by the office" if by else "")
    return appointment


# --- for the front desk and the jobs (no commit: the caller's transaction) ---------------------

def release_active(appointment: Appointment) -> None:
    """Let the applicants book this service again (clears their active hashes)."""
    db.session.execute(
        update(Applicant).where(Applicant.appointment_id == appointment.id)
        .values(active_hash=None).execution_options(synchronize_session=False))
    for applicant in appointment.applicants:
        set_committed_value(applicant, "active_hash", None)


def mark_checked_in(appointment: Appointment) -> None:
    """booked -> checked_in; 409 already_checked_in when it is not booked."""
    now = utcnow()
    result = db.session.execute(
        update(Appointment).where(Appointment.id == appointment.id,
                                  Appointment.status == "booked")
        .values(status="checked_in", checked_in_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(appointment, ["status"])
        raise ApiError(409, "already_checked_in", tr(
            "此预约不能签到（当前状态：%(status)s）。", status=status_label(appointment.status)))
    set_committed_value(appointment, "status", "checked_in")
    set_committed_value(appointment, "checked_in_at", now)


def _finish(appointment: Appointment, status: str, stamp: str) -> None:
    """An active appointment (booked or checked_in) becomes `status`, `stamp` records when,
    and the applicants may book this service again. Again: nothing happens."""
    now = utcnow()
    result = db.session.execute(
        update(Appointment).where(Appointment.id == appointment.id,
                                  Appointment.status.in_(ACTIVE_STATUSES))
        .values(status=status, updated_at=now, **{stamp: now})
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:
        set_committed_value(appointment, "status", status)
        set_committed_value(appointment, stamp, now)
        release_active(appointment)


def mark_completed(appointment: Appointment) -> None:
    """-> completed (registered or refused at the window)."""
    _finish(appointment, "completed", "completed_at")


def mark_no_show(appointment: Appointment) -> None:
    """-> no_show (called at the window and never came)."""
    _finish(appointment, "no_show", "no_show_at")


def _release_past_check_ins(office: Office, today: date) -> int:
    """Checked-in appointments of past days whose ticket never finished (the hall closed
    first) keep their status but no longer block the applicants from booking again."""
    stale = db.session.scalars(
        select(Appointment).where(Appointment.office_id == office.id,
                                  Appointment.status == "checked_in",
                                  Appointment.date < today,
                                  Appointment.applicants.any(Applicant.active_hash.is_not(None)))
    ).all()
    for appointment in stale:
        release_active(appointment)
    return len(stale)


def sweep_no_shows() -> RunSummary:
    """Appointments not checked in by the end of their slot plus NO_SHOW_GRACE_MINUTES become
    no_show and free their applicants. Idempotent; returns a one-line summary."""
    grace = timedelta(minutes=int(current_app.config["NO_SHOW_GRACE_MINUTES"]))
    now = utcnow()
    marked = released = 0
    offices = db.session.scalars(select(Office)).all()
    with write_transaction():
        for office in offices:
            today = local_today(office.timezone)
            released += _release_past_check_ins(office, today)
            due = db.session.scalars(
                select(Appointment).where(Appointment.office_id == office.id,
                                          Appointment.status == "booked",
                                          Appointment.date <= today)).all()
            for appointment in due:
                ends = local_datetime(appointment.date, appointment.end, office.timezone)
                if ends + grace > now:
                    continue
                result = db.session.execute(
                    update(Appointment).where(Appointment.id == appointment.id,
                                              Appointment.status == "booked")
                    .values(status="no_show", no_show_at=now, updated_at=now)
                    .execution_options(synchronize_session=False))
                if result.rowcount == 1:
                    set_committed_value(appointment, "status", "no_show")
                    release_active(appointment)
                    marked += 1
    return NO_SHOWS_MARKED(marked=marked, released=released)


# --- for staff -----------------------------------------------------------------------------------

def appointments_of_day(office: Office, day: date) -> list[Appointment]:
    return db.session.scalars(
        select(Appointment).where(Appointment.office_id == office.id, Appointment.date == day)
        .order_by(Appointment.start, Appointment.id)).all()


def search_appointments(office: Office | None, query: str) -> list[Appointment]:
    """By appointment code or an applicant's ID number (found by keyed hash)."""
    text = "".join((query or "").split()) if isinstance(query, str) else ""
    if not text:
        return []
    # An ID number reaches the database only as its keyed hash: the raw query is compared
    # with codes only when it looks like one.
    conditions = [Appointment.id.in_(
        select(Applicant.appointment_id).where(Applicant.id_hash == person_hash(text)))]
    if looks_like_code(text.upper()):
        conditions.append(Appointment.code == text.upper())
    stmt = select(Appointment).where(or_(*conditions))
    if office is not None:
        stmt = stmt.where(Appointment.office_id == office.id)
    return db.session.scalars(stmt.order_by(Appointment.date.desc(), Appointment.start)
                              .limit(50)).all()


def slot_counts(office: Office, service_code: str, day: date) -> dict[str, int]:
    rows = db.session.execute(select(Slot.start, Slot.booked).where(
        Slot.office_id == office.id, Slot.service_code == service_code, Slot.date == day))
    return {row.start: row.booked for row in rows}


def local_appointment_start(appointment: Appointment, office: Office) -> datetime:
    return local_datetime(appointment.date, appointment.start, office.timezone)



__all__ = [
    "appointment_by_token", "appointment_for_checkin", "appointment_json", "book", "cancel",
    "mark_checked_in", "mark_completed", "person_hash", "record_divorce_application",
    "release_active",
    "reschedule", "sweep_no_shows",
]
