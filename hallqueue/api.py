"""The hall's API (CONTRACT §3): tickets, windows, the display state and ticket status."""

from flask import Blueprint, current_app, jsonify, request

from core.auth import Role, api_roles, current_staff, require_office_access
from core.errors import InvalidRequest
from core.requests import json_body
from hallqueue import calling
from hallqueue.common import office_by_code, ticket_by_id, ticket_by_token, window_by_number
from hallqueue.display import display_state, state_etag, ticket_status
from hallqueue.models import Ticket
from hallqueue.ordering import people_ahead
from hallqueue.tickets import TicketRequest, issue_ticket

blueprint = Blueprint("hallqueue_api", __name__, url_prefix="/api/v1")

LANGUAGES = ("zh_CN", "en")


def called_json(ticket: Ticket) -> dict:
    from core.extensions import db
    from offices.models import Window

    window = db.session.get(Window, ticket.window_id) if ticket.window_id else None
    return {"id": ticket.id, "number": ticket.number, "service": ticket.service_code,
            "status": ticket.status, "window": window.number if window else None}


def _staff_office(code: str):
    office = office_by_code(code)
    require_office_access(current_staff(), office.id)
    return office


def _staff_ticket(ticket_id: int) -> tuple:
    ticket = ticket_by_id(ticket_id)
    from core.extensions import db
    from offices.models import Office

    office = db.session.get(Office, ticket.office_id)
    require_office_access(current_staff(), office.id)
    return office, ticket


def _optional_str(body: dict, key: str, max_length: int = 64) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise InvalidRequest(f"{key} must be a string of at most {max_length} characters")
    return value.strip()


def ticket_request_from(body: dict, source: str) -> TicketRequest:
    """Parse POST /offices/{office}/tickets; every bad shape is a 422 invalid_request."""
    appointment = _optional_str(body, "appointment")
    service = _optional_str(body, "service", 32)
    if bool(appointment) == bool(service):
        raise InvalidRequest("give either appointment (a code or ID number) or service")
    present = body.get("present", [])
    if not isinstance(present, list):
        raise InvalidRequest("present must be a list of ID numbers")
    green = body.get("green_channel", False)
    if not isinstance(green, bool):
        raise InvalidRequest("green_channel must be true or false")
    phone = _optional_str(body, "phone", 32) or ""
    if phone:
        from booking.identity import IdentityError, normalise_phone

        try:
            phone = normalise_phone(phone, current_app.config.get("DEFAULT_PHONE_REGION", "+86"))
        except IdentityError as error:
            raise InvalidRequest(f"phone: {error}") from None
    language = body.get("language", "zh_CN")
    if language not in LANGUAGES:
        raise InvalidRequest("language must be zh_CN or en")
    return TicketRequest(appointment=appointment, service=service, present=tuple(present),
                         green_channel=green, phone=phone, language=language, source=source)


@blueprint.post("/offices/<office_code>/tickets")
@api_roles(Role.DESK)
def create_ticket(office_code: str):
    office = _staff_office(office_code)
    ticket = issue_ticket(office, current_staff(), ticket_request_from(json_body(), "api"))
    body = {"id": ticket.id, "token": ticket.token, "number": ticket.number,
            "service": ticket.service_code, "status": ticket.status,
            "ahead": people_ahead(ticket)}
    return body, 201


@blueprint.post("/offices/<office_code>/windows/<window_number>/call-next")
@api_roles(Role.REGISTRAR)
def call_next(office_code: str, window_number: str):
    office = _staff_office(office_code)
    window = window_by_number(office, window_number)
    ticket = calling.call_next(office, window, current_staff())
    if ticket is None:
        return "", 204
    return {"ticket": called_json(ticket)}


@blueprint.post("/offices/<office_code>/windows/<window_number>/pause")
@api_roles(Role.REGISTRAR)
def pause_window(office_code: str, window_number: str):
    office = _staff_office(office_code)
    window = calling.set_paused(office, window_by_number(office, window_number),
                                current_staff(), True)
    return {"window": window.number, "paused": window.paused}


@blueprint.post("/offices/<office_code>/windows/<window_number>/resume")
@api_roles(Role.REGISTRAR)
def resume_window(office_code: str, window_number: str):
    office = _staff_office(office_code)
    window = calling.set_paused(office, window_by_number(office, window_number),
                                current_staff(), False)
    return {"window": window.number, "paused": window.paused}


@blueprint.post("/tickets/<int:ticket_id>/recall")
@api_roles(Role.REGISTRAR)
def recall(ticket_id: int):
    office, ticket = _staff_ticket(ticket_id)
    return {"ticket": called_json(calling.recall(office, ticket, current_staff()))}


@blueprint.post("/tickets/<int:ticket_id>/no-show")
@api_roles(Role.REGISTRAR)
def no_show(ticket_id: int):
    office, ticket = _staff_ticket(ticket_id)
    return {"ticket": called_json(calling.no_show(office, ticket, current_staff()))}


@blueprint.post("/tickets/<int:ticket_id>/complete")
@api_roles(Role.REGISTRAR)
def complete(ticket_id: int):
    office, ticket = _staff_ticket(ticket_id)
    body = json_body()
    ticket = calling.complete(office, ticket, current_staff(), body.get("outcome"),
                              body.get("reason"))
    return {"ticket": called_json(ticket) | {"outcome": ticket.outcome,
                                             "reason": ticket.refusal_reason}}


@blueprint.post("/tickets/<int:ticket_id>/transfer")
@api_roles(Role.REGISTRAR)
def transfer(ticket_id: int):
    office, ticket = _staff_ticket(ticket_id)
    body = json_body()
    ticket = calling.transfer(office, ticket, current_staff(), body.get("service"),
                              body.get("window"))
    return {"ticket": called_json(ticket)}


@blueprint.get("/offices/<office_code>/display")
def display(office_code: str):
    """Polled by every hall screen (see hallqueue.display): 304 while nothing changed."""
    screen = request.args.get("view") == "screen"  # the hall screen's extra fields
    state = display_state(office_by_code(office_code), screen=screen)
    response = jsonify(state)
    response.set_etag(state_etag(state))
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


@blueprint.get("/tickets/<token>")
def ticket(token: str):
    response = jsonify(ticket_status(ticket_by_token(token),
                                     page=request.args.get("view") == "page"))
    response.headers["Cache-Control"] = "no-store"
    return response


def _op(summary: str, tag: str, responses: dict, body: dict | None = None,
        staff: bool = True) -> dict:
    op = {"summary": summary, "tags": [tag],
          "responses": {code: {"description": text} for code, text in responses.items()}}
    if staff:
        op["security"] = [{"bearer": []}]
    if body is not None:
        op["requestBody"] = {"content": {"application/json": {"schema": body}}}
    return op


_ID_LIST = {"type": "array", "items": {"type": "string"}}
OPENAPI_PATHS = {
    "/offices/{office}/tickets": {"post": _op(
        "Check in an appointment or issue a walk-in ticket", "hall",
        {"201": "id, token, number, service, status, ahead",
         "404": "appointment_not_found", "409": "already_checked_in, already_has_ticket",
         "422": "wrong_day, wrong_office, office_closed, applicants_not_present, "
                "invalid_id_number, invalid_request"},
        {"type": "object", "properties": {
            "appointment": {"type": "string", "description": "code or an applicant's ID number"},
            "service": {"type": "string", "description": "walk-in: the service code"},
            "present": _ID_LIST, "green_channel": {"type": "boolean"},
            "phone": {"type": "string"}, "language": {"enum": list(LANGUAGES)}}})},
    "/offices/{office}/windows/{window}/call-next": {"post": _op(
        "Call the next ticket at a window", "hall",
        {"200": "the called ticket", "204": "nobody waits for this window's services",
         "409": "window_paused, or window_closed (a backup window on an ordinary day)"})},
    "/offices/{office}/windows/{window}/pause": {"post": _op(
        "Pause a window (it calls nothing)", "hall", {"200": "paused"})},
    "/offices/{office}/windows/{window}/resume": {"post": _op(
        "Resume a paused window", "hall", {"200": "resumed"})},
    "/tickets/{id}/recall": {"post": _op(
        "Announce a called ticket again", "hall", {"200": "recalled",
                                                   "409": "ticket_not_called"})},
    "/tickets/{id}/no-show": {"post": _op(
        "Mark a called ticket as not present", "hall", {"200": "status no_show",
                                                        "409": "ticket_not_called"})},
    "/tickets/{id}/complete": {"post": _op(
        "Complete a called ticket: registered, or refused with a reason", "hall",
        {"200": "completed", "409": "ticket_not_called", "422": "invalid_request"},
        {"type": "object", "required": ["outcome"], "properties": {
            "outcome": {"enum": list(calling.OUTCOMES)},
            "reason": {"enum": ["under_age", "not_present", "documents_incomplete",
                                "no_civil_capacity", "not_voluntary"]}}})},
    "/tickets/{id}/transfer": {"post": _op(
        "Put a called ticket back in the queue for another service or window", "hall",
        {"200": "waiting again", "409": "ticket_not_called", "422": "invalid_request"},
        {"type": "object", "properties": {"service": {"type": "string"},
                                          "window": {"type": "string"}}})},
    "/offices/{office}/display": {"get": _op(
        "The hall screen's state (poll with If-None-Match; ?view=screen adds the last "
        "ten calls, service names and order)", "public",
        {"200": "office, calling, waiting, notices, open_until, extended",
         "304": "unchanged", "404": "not_found"}, staff=False)},
    "/tickets/{token}": {"get": _op(
        "A ticket's status (?view=page adds the window, office and service names)", "public",
        {"200": "number, service, status, ahead, estimated_wait_minutes",
         "404": "not_found"}, staff=False)},
}
