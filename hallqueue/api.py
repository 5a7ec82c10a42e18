"""The hall's API (docs/api.md §3): tickets, windows, the display state and ticket status."""

from flask import Blueprint, current_app, jsonify, request

from core.auth import Role, api_roles, current_staff
from core.errors import InvalidRequest
from core.openapi import BEARER, answers, spec
from core.requests import body_of, json_body, query_args
from hallqueue import calling
from hallqueue.common import ticket_by_id, ticket_by_token, window_by_number
from hallqueue.display import display_state, state_etag, ticket_status
from hallqueue.models import Ticket
from hallqueue.ordering import people_ahead
from hallqueue.schemas import (
    Called,
    Completed,
    Completion,
    DisplayQuery,
    DisplayState,
    IssuedTicket,
    Requeued,
    TicketQuery,
    TicketRequestBody,
    TicketStatus,
    Transfer,
    WindowState,
)
from hallqueue.tickets import TicketRequest, issue_ticket
from offices.queries import api_office, api_require_scope, api_staffed_office

blueprint = Blueprint("hallqueue_api", __name__, url_prefix="/api/v1")

HALL = {"tags": ["hall"], "security": BEARER}
CALLED = "ticket_not_called (only a called ticket)"


def called_json(ticket: Ticket, window_number: str | None = None) -> dict:
    """The ticket as the window's answers show it; `window_number`, when the caller knows
    it, saves looking the window up again (the call's commit expired it)."""
    from core.extensions import db
    from offices.models import Window

    if window_number is None and ticket.window_id:
        window = db.session.get(Window, ticket.window_id)
        window_number = window.number if window else None
    return {"id": ticket.id, "number": ticket.number, "service": ticket.service_code,
            "status": ticket.status, "window": window_number}


# SQLite's INTEGER holds no larger id (it would raise OverflowError, a 500): refused as
# PostgreSQL refuses an id its column cannot hold (DataError, core.errors: 422).
LARGEST_ID = 2**63 - 1


def _staff_ticket(ticket_id: int) -> tuple:
    if ticket_id > LARGEST_ID:
        raise InvalidRequest("A value in the request is not acceptable.")
    ticket = ticket_by_id(ticket_id)
    from core.extensions import db
    from offices.models import Office

    api_require_scope(ticket.office_id)  # another office's ticket: 403
    return db.session.get(Office, ticket.office_id), ticket


def ticket_request_from(body: TicketRequestBody, source: str) -> TicketRequest:
    """POST /offices/{office}/tickets, validated (hallqueue.tickets checks the ID numbers)."""
    phone = (body.phone or "").strip()
    if phone:
        from booking.identity import IdentityError, normalise_phone

        try:
            phone = normalise_phone(phone, current_app.config.get("DEFAULT_PHONE_REGION", "+86"))
        except IdentityError as error:
            raise InvalidRequest(f"phone: {error}") from None
    return TicketRequest(appointment=(body.appointment or "").strip() or None,
                         service=(body.service or "").strip() or None,
                         present=tuple(body.present),
                         green_channel=body.green_channel or body.priority == "green",
                         phone=phone, language=body.language, source=source)


@blueprint.post("/offices/<office_code>/tickets")
@api_roles(Role.DESK)
@spec.validate(json=TicketRequestBody, resp=answers(
    HTTP_201=IssuedTicket, HTTP_404="not_found, appointment_not_found",
    HTTP_409="already_checked_in, already_has_ticket",
    HTTP_422="invalid_request, invalid_id_number, wrong_day, wrong_office, "
             "appointment_not_active, office_closed, applicants_not_present"), **HALL)
def create_ticket(office_code: str):
    """Check in an appointment, or issue a walk-in ticket."""
    office = api_staffed_office(office_code)
    request_ = ticket_request_from(body_of(TicketRequestBody), "api")
    ticket = issue_ticket(office, current_staff(), request_)
    body = {"id": ticket.id, "token": ticket.token, "number": ticket.number,
            "service": ticket.service_code, "status": ticket.status,
            "ahead": people_ahead(ticket)}
    return body, 201


@blueprint.post("/offices/<office_code>/windows/<window_number>/call-next")
@api_roles(Role.REGISTRAR)
@spec.validate(resp=answers(
    HTTP_200=Called, HTTP_204="nobody waits for this window's services",
    HTTP_404="not_found",
    HTTP_409="window_paused, window_closed (a backup window on an ordinary day)"), **HALL)
def call_next(office_code: str, window_number: str):
    """Call the next ticket at a window."""
    office = api_staffed_office(office_code)
    window = window_by_number(office, window_number)
    number = window.number  # read before the call's transaction expires the window
    ticket = calling.call_next(office, window, current_staff())
    if ticket is None:
        return "", 204
    return {"ticket": called_json(ticket, number)}


@blueprint.post("/offices/<office_code>/windows/<window_number>/pause")
@api_roles(Role.REGISTRAR)
@spec.validate(resp=answers(HTTP_200=WindowState, HTTP_404="not_found"), **HALL)
def pause_window(office_code: str, window_number: str):
    """Pause a window: it calls nothing until resumed."""
    office = api_staffed_office(office_code)
    window = calling.set_paused(office, window_by_number(office, window_number),
                                current_staff(), True)
    return {"window": window.number, "paused": window.paused}


@blueprint.post("/offices/<office_code>/windows/<window_number>/resume")
@api_roles(Role.REGISTRAR)
@spec.validate(resp=answers(HTTP_200=WindowState, HTTP_404="not_found"), **HALL)
def resume_window(office_code: str, window_number: str):
    """Resume a paused window."""
    office = api_staffed_office(office_code)
    window = calling.set_paused(office, window_by_number(office, window_number),
                                current_staff(), False)
    return {"window": window.number, "paused": window.paused}


@blueprint.post("/tickets/<int:ticket_id>/recall")
@api_roles(Role.REGISTRAR)
@spec.validate(resp=answers(HTTP_200=Called, HTTP_404="not_found", HTTP_409=CALLED), **HALL)
def recall(ticket_id: int):
    """Announce a called ticket again."""
    office, ticket = _staff_ticket(ticket_id)
    return {"ticket": called_json(calling.recall(office, ticket, current_staff()))}


@blueprint.post("/tickets/<int:ticket_id>/no-show")
@api_roles(Role.REGISTRAR)
@spec.validate(resp=answers(HTTP_200=Called, HTTP_404="not_found", HTTP_409=CALLED), **HALL)
def no_show(ticket_id: int):
    """Mark a called ticket as not present (status no_show)."""
    office, ticket = _staff_ticket(ticket_id)
    return {"ticket": called_json(calling.no_show(office, ticket, current_staff()))}


@blueprint.post("/tickets/<int:ticket_id>/requeue")
@api_roles(Role.DESK, Role.REGISTRAR)
@spec.validate(resp=answers(HTTP_200=Requeued, HTTP_404="not_found",
                            HTTP_409="ticket_not_missed (only a no_show ticket)",
                            HTTP_422="wrong_day (an earlier day's ticket)"), **HALL)
def requeue(ticket_id: int):
    """过号: put a missed ticket of today back in the queue, behind at most the office's
    requeue_after waiting tickets."""
    office, ticket = _staff_ticket(ticket_id)
    ticket = calling.requeue(office, ticket, current_staff())
    return {"status": ticket.status, "ahead": people_ahead(ticket)}


@blueprint.post("/tickets/<int:ticket_id>/complete")
@api_roles(Role.REGISTRAR)
@spec.validate(json=Completion, resp=answers(HTTP_200=Completed, HTTP_404="not_found",
                                             HTTP_409=CALLED), **HALL)
def complete(ticket_id: int):
    """Complete a called ticket: registered, or refused with a reason."""
    office, ticket = _staff_ticket(ticket_id)
    body = json_body()  # hallqueue.calling.complete checks it (the Completion model)
    ticket = calling.complete(office, ticket, current_staff(), body.get("outcome"),
                              body.get("reason"))
    return {"ticket": called_json(ticket) | {"outcome": ticket.outcome,
                                             "reason": ticket.refusal_reason}}


@blueprint.post("/tickets/<int:ticket_id>/transfer")
@api_roles(Role.REGISTRAR)
@spec.validate(json=Transfer, resp=answers(HTTP_200=Called, HTTP_404="not_found",
                                           HTTP_409=CALLED), **HALL)
def transfer(ticket_id: int):
    """Put a called ticket back in the queue, for another service or one window."""
    office, ticket = _staff_ticket(ticket_id)
    body = json_body()  # hallqueue.calling.transfer checks it (the Transfer model)
    ticket = calling.transfer(office, ticket, current_staff(), body.get("service"),
                              body.get("window"))
    return {"ticket": called_json(ticket)}


@blueprint.get("/offices/<office_code>/display")
@spec.validate(query=DisplayQuery, resp=answers(
    HTTP_200=DisplayState, HTTP_304="unchanged (If-None-Match)", HTTP_404="not_found"),
    tags=["public"])
def display(office_code: str):
    """The hall screen's state.

    Polled by every hall screen with If-None-Match (see hallqueue.display): 304 while
    nothing changed."""
    office = api_office(office_code)
    screen = query_args(DisplayQuery).view == "screen"  # the hall screen's extra fields
    state = display_state(office, screen=screen)
    response = jsonify(state)
    response.set_etag(state_etag(state))
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


@blueprint.get("/tickets/<token:token>")
@spec.validate(query=TicketQuery, resp=answers(HTTP_200=TicketStatus, HTTP_404="not_found"),
               tags=["public"])
def ticket(token: str):
    """A ticket's status: its place in the queue and the estimated wait."""
    found = ticket_by_token(token)
    response = jsonify(ticket_status(found, page=query_args(TicketQuery).view == "page"))
    response.headers["Cache-Control"] = "no-store"
    return response

