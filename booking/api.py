"""Public booking API and the staff's appointment list (CONTRACT §3)."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlparse

from flask import Blueprint, Response, current_app, g, request
from flask_babel import force_locale, gettext

from booking import services
from booking.documents import ics, qr_svg
from core.auth import Role, api_roles, require_office_access
from core.clock import local_today
from core.errors import InvalidRequest
from core.extensions import db, limiter
from core.i18n import current_language
from core.requests import int_arg, json_body, parse_date
from notify.messages import documents, is_english
from offices.models import Service

blueprint = Blueprint("booking_api", __name__, url_prefix="/api/v1")

MAX_DAYS = 366


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
def availability(office: str):
    office_row = services.office_by_code(office)
    service_code = request.args.get("service")
    if not service_code:
        raise InvalidRequest("service is required, for example ?service=marriage")
    service = services.service_for(office_row, service_code)
    start = (parse_date(request.args["from"], "from") if request.args.get("from")
             else local_today(office_row.timezone))
    days = int_arg("days", 14, 1, MAX_DAYS)
    if start > date.max - timedelta(days=days):
        raise InvalidRequest("from is too far in the future")
    views = services.availability(office_row, service.code, start, days)
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


@blueprint.post("/appointments")
@limiter.limit(booking_limit)
def create_appointment():
    body = json_body()
    appointment = services.book(body, _language(body))
    return services.appointment_json(appointment), 201


@blueprint.get("/appointments/<token>")
@limiter.limit(lookup_limit)
def show_appointment(token: str):
    return services.appointment_json(services.appointment_by_token(token))


@blueprint.post("/appointments/<token>/cancel")
@limiter.limit(booking_limit)
def cancel_appointment(token: str):
    appointment = services.cancel(services.appointment_by_token(token))
    return services.appointment_json(appointment)


@blueprint.post("/appointments/<token>/reschedule")
@limiter.limit(booking_limit)
def reschedule_appointment(token: str):
    appointment = services.appointment_by_token(token)
    body = json_body()
    return services.appointment_json(services.reschedule(appointment, body))


@blueprint.get("/appointments/<token>/qr.svg")
@limiter.limit(lookup_limit)
def appointment_qr(token: str):
    appointment = services.appointment_by_token(token)
    return Response(qr_svg(appointment.code), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=3600"})


@blueprint.get("/appointments/<token>/calendar.ics")
@limiter.limit(lookup_limit)
def appointment_ics(token: str):
    appointment = services.appointment_by_token(token)
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
            documents=documents(service.code, appointment.language),
            link=services.manage_link(appointment))
    host = urlparse(current_app.config["PUBLIC_BASE_URL"]).hostname or "xiyue"
    return Response(ics(appointment, office, service, description, host, english=english),
                    mimetype="text/calendar",
                    headers={"Content-Disposition":
                             f'attachment; filename="appointment-{appointment.code}.ics"'})


# --- staff ---------------------------------------------------------------------------------

@blueprint.get("/offices/<office>/appointments")
@api_roles(Role.DESK)
def office_appointments(office: str):
    office_row = services.office_by_code(office)
    require_office_access(g.staff, office_row.id)
    day = (parse_date(request.args["date"], "date") if request.args.get("date")
           else local_today(office_row.timezone))
    rows = services.appointments_of_day(office_row, day)
    return {"office": office_row.code, "date": day.isoformat(),
            "appointments": [services.appointment_json(row) | {"id": row.id} for row in rows]}


@blueprint.post("/offices/<office>/appointments/search")
@api_roles(Role.DESK)
def office_search(office: str):
    """By appointment code or an applicant's ID number, in the body (never in a URL)."""
    office_row = services.office_by_code(office)
    require_office_access(g.staff, office_row.id)
    query = json_body().get("query")
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequest("query is required: an appointment code or an ID number")
    rows = services.search_appointments(office_row, query)
    return {"office": office_row.code,
            "appointments": [services.appointment_json(row) | {"id": row.id} for row in rows]}


@blueprint.post("/offices/<office>/appointments/<code>/cancel")
@api_roles(Role.DESK)
def office_cancel(office: str, code: str):
    office_row = services.office_by_code(office)
    require_office_access(g.staff, office_row.id)
    appointment = services.appointment_by_code(code)
    if appointment is None or appointment.office_id != office_row.id:
        from core.errors import NotFound

        raise NotFound("No such appointment at this office.")
    body = json_body()
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidRequest("reason is required: say why the office cancels")
    appointment = services.cancel(appointment, by=g.staff, reason=reason.strip())
    return services.appointment_json(appointment)


# --- OpenAPI -----------------------------------------------------------------------------------

def _problem(*codes: str) -> dict:
    return {"description": " / ".join(codes), "content": {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}}


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_S = {"type": "string"}
_DATE = {"type": "string", "format": "date"}
_HHMM = {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}
APPLICANT_IN = {
    "type": "object", "required": ["name", "id_type", "id_number", "phone"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 30},
        "id_type": {"type": "string", "enum": ["resident_id", "foreign_permanent_resident",
                                               "hk_macau_permit", "taiwan_permit", "passport"]},
        "id_number": _S,
        "phone": {"type": "string", "description": "E.164, or an 11-digit mainland mobile"},
        "sex": {"type": "string", "enum": ["M", "F"],
                "description": "only where the document does not encode it"},
        "birth_date": _DATE,
    }}
APPOINTMENT = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "pattern": "^[A-Z0-9]{6,12}$"},
        "token": {"type": "string", "minLength": 16},
        "status": {"type": "string",
                   "enum": ["booked", "cancelled", "checked_in", "completed", "no_show"]},
        "office": _S, "office_name": _S, "service": _S, "service_name": _S, "date": _DATE,
        "start": _HHMM, "end": _HHMM,
        "applicants": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string", "description": "masked: 张*三"},
            "id_number": {"type": "string", "description": "masked: 510903********1234"},
            "id_type": _S}}},
    }}
TOKEN = {"name": "token", "in": "path", "required": True, "schema": _S}
OFFICE = {"name": "office", "in": "path", "required": True, "schema": _S}
NOT_FOUND = _problem("not_found")
RATE = _problem("rate_limited")
PUBLIC = {"tags": ["booking"]}

OPENAPI_PATHS = {
    "/offices/{office}/availability": {"get": PUBLIC | {
        "summary": "Bookable slots and remaining seats per day",
        "parameters": [OFFICE,
                       {"name": "service", "in": "query", "required": True, "schema": _S},
                       {"name": "from", "in": "query", "schema": _DATE},
                       {"name": "days", "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS}}],
        "responses": {
            "200": _json("Days with their slots", {"type": "object", "properties": {
                "office": _S, "service": _S,
                "days": {"type": "array", "items": {"type": "object", "properties": {
                    "date": _DATE, "bookable": {"type": "boolean"}, "open": {"type": "boolean"},
                    "kind": _S, "peak": {"type": ["object", "null"]},
                    "reason": {"type": ["string", "null"]},
                    "slots": {"type": "array", "items": {"type": "object", "properties": {
                        "start": _HHMM, "end": _HHMM, "capacity": {"type": "integer"},
                        "remaining": {"type": "integer"},
                        "bookable": {"type": "boolean"}}}}}}}}}),
            "404": NOT_FOUND, "422": _problem("invalid_request"), "429": RATE}}},
    "/appointments": {"post": PUBLIC | {
        "summary": "Book a slot (real-name, ID numbers checked)",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["office", "service", "date", "start", "applicants"],
            "properties": {"office": _S, "service": _S, "date": _DATE, "start": _HHMM,
                           "language": {"type": "string", "enum": ["zh_CN", "en"]},
                           "applicants": {"type": "array", "items": APPLICANT_IN,
                                          "minItems": 1, "maxItems": 2}}}}}},
        "responses": {
            "201": _json("Booked; a confirmation SMS is queued to each applicant",
                         APPOINTMENT),
            "409": _problem("slot_full", "already_booked"),
            "422": _problem("invalid_request", "invalid_id_number", "under_age",
                            "not_eligible", "date_not_bookable", "wrong_applicant_count",
                            "cooling_off", "no_divorce_application"),
            "429": RATE}}},
    "/appointments/{token}": {"get": PUBLIC | {
        "summary": "An appointment, masked", "parameters": [TOKEN],
        "responses": {"200": _json("The appointment", APPOINTMENT), "404": NOT_FOUND,
                      "429": RATE}}},
    "/appointments/{token}/cancel": {"post": PUBLIC | {
        "summary": "Cancel; the seat returns to the slot", "parameters": [TOKEN],
        "responses": {"200": _json("status cancelled", APPOINTMENT), "404": NOT_FOUND,
                      "409": _problem("not_changeable"), "429": RATE}}},
    "/appointments/{token}/reschedule": {"post": PUBLIC | {
        "summary": "Move to another slot, atomically", "parameters": [TOKEN],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["date", "start"],
            "properties": {"date": _DATE, "start": _HHMM}}}}},
        "responses": {"200": _json("The appointment at its new date and start", APPOINTMENT),
                      "404": NOT_FOUND, "409": _problem("slot_full", "not_changeable"),
                      "422": _problem("invalid_request", "date_not_bookable", "under_age",
                                      "cooling_off", "no_divorce_application"),
                      "429": RATE}}},
    "/appointments/{token}/qr.svg": {"get": PUBLIC | {
        "summary": "QR code whose text is the appointment code", "parameters": [TOKEN],
        "responses": {"200": {"description": "SVG",
                              "content": {"image/svg+xml": {"schema": _S}}},
                      "404": NOT_FOUND}}},
    "/appointments/{token}/calendar.ics": {"get": PUBLIC | {
        "summary": "The appointment as an iCalendar event", "parameters": [TOKEN],
        "responses": {"200": {"description": "text/calendar",
                              "content": {"text/calendar": {"schema": _S}}},
                      "404": NOT_FOUND}}},
    "/offices/{office}/appointments": {"get": {
        "tags": ["staff"], "summary": "An office's appointments of a day (masked)",
        "security": [{"bearer": []}],
        "parameters": [OFFICE, {"name": "date", "in": "query", "schema": _DATE}],
        "responses": {"200": _json("Appointments (masked)", {"type": "object"}),
                      "401": _problem("unauthorized"), "403": _problem("forbidden"),
                      "404": NOT_FOUND}}},
    "/offices/{office}/appointments/search": {"post": {
        "tags": ["staff"], "summary": "Find appointments by code or an applicant's ID number",
        "security": [{"bearer": []}], "parameters": [OFFICE],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["query"], "properties": {"query": _S}}}}},
        "responses": {"200": _json("Appointments (masked)", {"type": "object"}),
                      "401": _problem("unauthorized"), "403": _problem("forbidden"),
                      "404": NOT_FOUND, "422": _problem("invalid_request")}}},
    "/offices/{office}/appointments/{code}/cancel": {"post": {
        "tags": ["staff"], "summary": "Cancel on behalf of the office (SMS with the reason)",
        "security": [{"bearer": []}],
        "parameters": [OFFICE, {"name": "code", "in": "path", "required": True, "schema": _S}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["reason"], "properties": {"reason": _S}}}}},
        "responses": {"200": _json("The cancelled appointment", APPOINTMENT),
                      "401": _problem("unauthorized"), "403": _problem("forbidden"),
                      "404": NOT_FOUND, "409": _problem("not_changeable"),
                      "422": _problem("invalid_request")}}},
}
