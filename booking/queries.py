"""Looking things up for bookings: an office and a service from a request (with the
booking API's error answers), an appointment by its token, code or an applicant's ID
number (the front desk), and the staff's lists of appointments."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select

from booking.cache import OfficeInfo, ServiceInfo, office_info, office_info_by_code, service_info
from booking.codes import looks_like_code
from booking.errors import BookingError, invalid, tr
from booking.models import ACTIVE_STATUSES, Applicant, Appointment
from booking.rules import person_hash
from core.clock import local_today
from core.errors import ApiError
from core.extensions import db
from core.privacy import secret_hash
from offices.models import Office, Service
from offices.queries import find_office

# --- offices and services ----------------------------------------------------------------------

def office_by_code(code: object, in_body: bool = False) -> Office:
    """An active office. Unknown: 404 not_found in a path, 422 invalid_request in a body."""
    office = find_office(code, active_only=True)
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
    info = office_info_by_code(code)
    if info is None or not info.active:
        raise _unknown_office(code, True)
    return info


def offered_service_info(office: OfficeInfo, code: object) -> ServiceInfo:
    """`service_for` from this process's snapshot."""
    info = service_info(code) if isinstance(code, str) and code else None
    if info is None or code not in office.service_codes:
        raise _unknown_service(code)
    return info


# --- one appointment ---------------------------------------------------------------------------

def appointment_by_token(token: str) -> Appointment:
    appointment = None
    if isinstance(token, str) and 16 <= len(token) <= 64:
        appointment = db.session.scalar(
            select(Appointment).where(Appointment.token_hash == secret_hash(token)))
    if appointment is None:
        raise ApiError(404, "not_found", tr("没有找到这个预约，请核对链接。"))
    return appointment


def appointment_by_code(code: str) -> Appointment | None:
    cleaned = "".join(code.split()).upper()
    if not 6 <= len(cleaned) <= 12 or not cleaned.isalnum():
        return None
    return db.session.scalar(select(Appointment).where(Appointment.code == cleaned))


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


# --- the staff's lists ---------------------------------------------------------------------------

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
