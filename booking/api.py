"""Public booking API and the staff's appointment list (docs/api.md §3)."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlparse

from flask import Blueprint, Response, current_app, g, request
from flask_babel import force_locale, gettext

from booking import divorce, queries, serialize, transactions
from booking.availability import availability as slot_availability
from booking.documents import ics
from booking.schemas import (
    Appointment,
    AppointmentRequest,
    AppointmentSearch,
    Availability,
    AvailabilityQuery,
    DayAppointments,
    DayQuery,
    DivorceCaseQuery,
    DivorceCases,
    DivorceWithdraw,
    DivorceWithdrawn,
    FoundAppointments,
    OfficeCancel,
    Reschedule,
)
from core.auth import Role, api_roles, user_from_bearer
from core.clock import local_today
from core.errors import ApiError, InvalidRequest
from core.extensions import db, limiter
from core.i18n import current_language
from core.openapi import BEARER, answers, spec
from core.qr import qr_svg
from core.requests import body_of, json_body, query_args
from notify.messages import is_english
from offices.documents import documents_text
from offices.models import Service
from offices.queries import api_require_scope, api_staffed_office, find_office

blueprint = Blueprint("booking_api", __name__, url_prefix="/api/v1")

NOT_FOUND = "not_found"
RATE = "rate_limited"
STAFF = {"tags": ["staff"], "security": BEARER}


def booking_limit() -> str:
    return current_app.config["RATELIMIT_BOOKING"]


def lookup_limit() -> str:
    return current_app.config["RATELIMIT_LOOKUP"]


def _language(body: dict) -> str:
    chosen = body.get("language")
    if isinstance(chosen, str) and chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_language()


@blueprint.get("/offices/<office>/availability")
@limiter.limit(lookup_limit)
@spec.validate(query=AvailabilityQuery, resp=answers(
    HTTP_200=Availability, HTTP_404=NOT_FOUND,
    HTTP_422="invalid_request (no or an unknown service, a bad from or days)", HTTP_429=RATE),
    tags=["booking"])
def availability(office: str):
    """Bookable slots and remaining seats per day."""
    office_row = queries.office_by_code(office)
    args = query_args(AvailabilityQuery)
    service = queries.service_for(office_row, args.service)
    start = args.from_ or local_today(office_row.timezone)
    days = args.days
    if start > date.max - timedelta(days=days):
        raise InvalidRequest("from is too far in the future")
    views = slot_availability(office_row, service.code, start, days)
    return {"office": office_row.code, "service": service.code,
            "days": [_day_json(view) for view in views]}


def _day_json(view) -> dict:
    plan = view.plan
    return {
        "date": view.date.isoformat(), "bookable": view.bookable, "open": plan.open,
        "kind": plan.kind, "peak": ({"code": plan.peak.code, "name": plan.peak.name}
                                    if plan.peak else None),
        "reason": view.reason,
        "slots": [{"start": s.start, "end": s.end, "capacity": s.capacity,
                   "remaining": s.remaining, "bookable": s.bookable} for s in view.slots],
    }


BOOKING_STAFF = (Role.ADMIN, Role.DESK)  # may book for a couple (电话预约/现场代约)


def _bearer_given() -> bool:
    """The request names a bearer token (another scheme, say a proxy's Basic, is ignored)."""
    return request.headers.get("Authorization", "").lower().startswith("bearer ")


def _bearer_staff():
    """The staff member whose bearer token the request carries (once per request), or None
    (no token, or one that is not valid)."""
    key = "xiyue.booking_staff"  # on the request (g may outlive it: an app context)
    if key not in request.environ:
        request.environ[key] = user_from_bearer() if _bearer_given() else None
    return request.environ[key]


def _staff_booking() -> bool:
    """A booking by the desk or an admin for a couple: never rate-limited (the limits keep
    bots off the public site, not the office off its own seats)."""
    staff = _bearer_staff()
    return staff is not None and staff.role in BOOKING_STAFF


@blueprint.post("/appointments")
@limiter.limit(booking_limit, exempt_when=_staff_booking)
@spec.validate(json=AppointmentRequest, resp=answers(
    HTTP_201=(Appointment, "Booked; a confirmation SMS is queued to each applicant's phone"),
    HTTP_401="unauthorized (a bearer token that is not valid)",
    HTTP_403="forbidden (a staff token of another role or another office)",
    HTTP_409="slot_full, already_booked",
    HTTP_422="invalid_request, invalid_id_number, under_age, not_eligible, date_not_bookable, "
             "wrong_applicant_count, cooling_off, no_divorce_application",
    HTTP_429=RATE), tags=["booking"], security=[{}, BEARER])
def create_appointment():
    """Book a slot (real-name: ID numbers checked).

    Without a token the couple books online (channel "online"). With a desk or admin
    bearer token the office books for them (channel "staff"): the same rules and seats,
    no rate limit, audited, and phones may be left out."""
    staff = _booking_staff()
    body = json_body()  # booking.transactions.book checks it (the AppointmentRequest model)
    if staff is not None and isinstance(body, dict):
        office = find_office(body.get("office"))
        if office is not None:  # staff bound to an office book there only (403); unknown: 422
            api_require_scope(office.id)
    appointment = transactions.book(body, _language(body), by=staff)
    return serialize.appointment_json(appointment), 201


def _booking_staff():
    """The desk or admin booking for a couple, or None for the public (no bearer token):
    401 for a token that is not valid, 403 for another role."""
    if not _bearer_given():
        return None
    staff = _bearer_staff()
    if staff is None:
        raise ApiError(401, "unauthorized", "A valid bearer token is required.")
    if staff.role not in BOOKING_STAFF:
        raise ApiError(403, "forbidden", "Your role may not book for a couple.")
    g.staff = staff
    return staff


@blueprint.get("/appointments/<token:token>")
@limiter.limit(lookup_limit)
@spec.validate(resp=answers(HTTP_200=Appointment, HTTP_404=NOT_FOUND, HTTP_429=RATE),
               tags=["booking"])
def show_appointment(token: str):
    """An appointment, masked."""
    return serialize.appointment_json(queries.appointment_by_token(token))


@blueprint.post("/appointments/<token:token>/cancel")
@limiter.limit(booking_limit)
@spec.validate(resp=answers(HTTP_200=(Appointment, "status cancelled"), HTTP_404=NOT_FOUND,
                            HTTP_409="not_changeable", HTTP_429=RATE), tags=["booking"])
def cancel_appointment(token: str):
    """Cancel: the seat returns to the slot."""
    appointment = transactions.cancel(queries.appointment_by_token(token))
    return serialize.appointment_json(appointment)


@blueprint.post("/appointments/<token:token>/reschedule")
@limiter.limit(booking_limit)
@spec.validate(json=Reschedule, resp=answers(
    HTTP_200=(Appointment, "The appointment at its new date and start"), HTTP_404=NOT_FOUND,
    HTTP_409="slot_full, not_changeable",
    HTTP_422="invalid_request, date_not_bookable, under_age, cooling_off, "
             "no_divorce_application", HTTP_429=RATE), tags=["booking"])
def reschedule_appointment(token: str):
    """Move to another slot, atomically."""
    appointment = queries.appointment_by_token(token)
    body = json_body()  # booking.transactions.reschedule checks it (the Reschedule model)
    return serialize.appointment_json(transactions.reschedule(appointment, body))


@blueprint.get("/appointments/<token:token>/qr.svg")
@limiter.limit(lookup_limit)
@spec.validate(resp=answers(HTTP_200="SVG", HTTP_404=NOT_FOUND, HTTP_429=RATE,
                            media={200: "image/svg+xml"}), tags=["booking"])
def appointment_qr(token: str):
    """A QR code whose text is the appointment code."""
    appointment = queries.appointment_by_token(token)
    return Response(qr_svg(appointment.code), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=3600"})


@blueprint.get("/appointments/<token:token>/calendar.ics")
@limiter.limit(lookup_limit)
@spec.validate(resp=answers(HTTP_200="iCalendar", HTTP_404=NOT_FOUND, HTTP_429=RATE,
                            media={200: "text/calendar"}), tags=["booking"])
def appointment_ics(token: str):
    """The appointment as an iCalendar event."""
    appointment = queries.appointment_by_token(token)
    return ics_response(appointment)


def ics_response(appointment) -> Response:
    from offices.models import Office

    office = db.session.get(Office, appointment.office_id)
    service = db.session.get(Service, appointment.service_code)
    # In the language the couple booked in (the SMS use it too), whatever the page's.
    english = is_english(appointment.language)
    with force_locale("en" if english else "zh_CN"):
        description = gettext(
            "预约码 %(code)s。请携带：%(documents)s。管理预约：%(link)s", code=appointment.code,
            documents=documents_text(service.code, serialize.party_kinds(appointment),
                                     appointment.language),
            link=serialize.manage_link(appointment))
    host = urlparse(current_app.config["PUBLIC_BASE_URL"]).hostname or "xiyue"
    return Response(ics(appointment, office, service, description, host, english=english),
                    mimetype="text/calendar",
                    headers={"Content-Disposition":
                             f'attachment; filename="appointment-{appointment.code}.ics"'})


# --- staff ---------------------------------------------------------------------------------

@blueprint.get("/offices/<office>/appointments")
@api_roles(Role.DESK)
@spec.validate(query=DayQuery, resp=answers(HTTP_200=(DayAppointments, "masked"),
                                            HTTP_404=NOT_FOUND), **STAFF)
def office_appointments(office: str):
    """An office's appointments of a day (masked)."""
    office_row = api_staffed_office(office)
    day = query_args(DayQuery).date or local_today(office_row.timezone)
    rows = queries.appointments_of_day(office_row, day)
    return {"office": office_row.code, "date": day.isoformat(),
            "appointments": [serialize.appointment_json(row) | {"id": row.id} for row in rows]}


@blueprint.post("/offices/<office>/appointments/search")
@api_roles(Role.DESK)
@spec.validate(json=AppointmentSearch, resp=answers(HTTP_200=(FoundAppointments, "masked"),
                                                    HTTP_404=NOT_FOUND), **STAFF)
def office_search(office: str):
    """Find appointments by code or an applicant's ID number.

    In the body, never in a URL."""
    office_row = api_staffed_office(office)
    query = body_of(AppointmentSearch).query
    rows = queries.search_appointments(office_row, query)
    return {"office": office_row.code,
            "appointments": [serialize.appointment_json(row) | {"id": row.id} for row in rows]}


@blueprint.post("/offices/<office>/appointments/<code>/cancel")
@api_roles(Role.DESK)
@spec.validate(json=OfficeCancel, resp=answers(
    HTTP_200=(Appointment, "The cancelled appointment"), HTTP_404=NOT_FOUND,
    HTTP_409="not_changeable"), **STAFF)
def office_cancel(office: str, code: str):
    """Cancel on behalf of the office (an SMS tells the applicants the reason)."""
    office_row = api_staffed_office(office)
    appointment = queries.appointment_by_code(code)
    if appointment is None or appointment.office_id != office_row.id:
        from core.errors import NotFound

        raise NotFound("No such appointment at this office.")
    reason = body_of(OfficeCancel).reason
    appointment = transactions.cancel(appointment, by=g.staff, reason=reason.strip())
    return serialize.appointment_json(appointment)



# --- divorce cases (docs/api.md §5.1) --------------------------------------------------------

@blueprint.get("/offices/<office>/divorce-cases")
@api_roles(Role.DESK, Role.REGISTRAR)
@spec.validate(query=DivorceCaseQuery, resp=answers(
    HTTP_200=(DivorceCases, "no names, no ID numbers"), HTTP_404=NOT_FOUND), **STAFF)
def divorce_cases(office: str):
    """The divorce cases at this office where an ID number is a party."""
    office_row = api_staffed_office(office)
    id_number = query_args(DivorceCaseQuery).id_number
    today = local_today(office_row.timezone)
    return {"cases": [divorce.case_json(case, today)
                      for case in divorce.cases_of_party(office_row, id_number)]}


@blueprint.post("/divorce-cases/<int:case_id>/withdraw")
@api_roles(Role.DESK, Role.REGISTRAR)
@spec.validate(json=DivorceWithdraw, resp=answers(
    HTTP_200=(DivorceWithdrawn, "withdrawn; a step-2 appointment of the couple is cancelled"),
    HTTP_404=NOT_FOUND, HTTP_409="case_closed (no longer open, or cooling-off has ended)",
    HTTP_422="invalid_request, not_a_party"), **STAFF)
def withdraw_divorce_case(case_id: int):
    """Withdraw a divorce application (撤回): one party, in person, during cooling-off."""
    case = divorce.staffed_case(case_id)
    id_number = body_of(DivorceWithdraw).id_number
    case = divorce.withdraw_now(case, id_number, g.staff)
    return {"id": case.id, "status": case.status}
