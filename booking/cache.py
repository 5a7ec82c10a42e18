"""What every booking reads, cached per process: offices, their services and seats, and the
day plans and slot lists of the calendar.

They change a few times a year; a booking or an availability request reads them every time.
They are kept per process (per app) as immutable snapshots: dropped at once when this
process writes any of the tables they come from (session events below), and reloaded at the
latest BOOKING_CACHE_SECONDS (default 5) after they were read, so that a change made by
another process (an admin's page on another worker, `flask offices load`) shows up within
seconds.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from booking.models import Appointment
from core.extensions import db
from hours.calendar import DayPlan, SlotSpec, day_plans, slots_for_plan
from offices.models import Office, OfficeService, Service

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
    min_applicants: int


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
    peak_capacities: tuple[tuple[str, int], ...] = ()  # seats on peak days, where set

    @property
    def service_codes(self) -> list[str]:
        return [code for code, _ in self.capacities]

    def capacity_for(self, service_code: str) -> int:
        for code, capacity in self.capacities:
            if code == service_code:
                return capacity
        return 0

    def peak_capacity_for(self, service_code: str) -> int | None:
        return dict(self.peak_capacities).get(service_code)


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
                   OfficeService.service_code, OfficeService.capacity,
                   OfficeService.peak_capacity)
            .where(OfficeService.active.is_(True))):
        seats.setdefault(row.office_id, []).append(
            ((row.position, row.id), row.service_code, row.capacity, row.peak_capacity))
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
            capacities=tuple((code, capacity) for _, code, capacity, _peak
                             in sorted(seats.get(office.id, ()))),
            peak_capacities=tuple((code, peak) for _, code, _capacity, peak
                                  in sorted(seats.get(office.id, ())) if peak is not None))
        snapshot.offices_by_id[info.id] = info
        snapshot.offices_by_code[info.code] = info
    for service in db.session.execute(select(Service.__table__)).all():
        snapshot.services[service.code] = ServiceInfo(
            service.code, service.name, service.name_en or "", int(service.applicants),
            int(service.min_applicants))
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


# --- reading the snapshot ----------------------------------------------------------------------

def office_info(office: object) -> OfficeInfo | None:
    """The snapshot of an office (by id, or of an Office row); None when unknown."""
    office_id = office if isinstance(office, int) else getattr(office, "id", None)
    return _snapshot().offices_by_id.get(office_id)


def office_info_by_code(code: object) -> OfficeInfo | None:
    """The snapshot of the office with this code (active or not); None when unknown, also
    for a code that is not a string."""
    if not isinstance(code, str) or not code:
        return None
    return _snapshot().offices_by_code.get(code)


def service_info(code: str) -> ServiceInfo | None:
    return _snapshot().services.get(code)


def office_of(appointment: Appointment) -> OfficeInfo | Office | None:
    """The appointment's office: from the snapshot, else its row."""
    return office_info(appointment.office_id) or db.session.get(Office, appointment.office_id)


def service_of(appointment: Appointment) -> ServiceInfo | Service | None:
    """The appointment's service: from the snapshot, else its row."""
    return (service_info(appointment.service_code)
            or db.session.get(Service, appointment.service_code))


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


# --- dropping the snapshot when this process writes what it holds ----------------------------

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
