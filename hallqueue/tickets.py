"""Issuing tickets: check-in of an appointment, or a walk-in; and the SMS that follow a
ticket through the queue ("near_turn", "called").

不到场不办: a ticket is issued only when the ID numbers of every applicant of the service are
presented (scanned or typed at the desk or kiosk); they are compared by keyed hash and never
stored in clear on the ticket.
"""

import re
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.audit import record_audit
from core.clock import utcnow
from core.database import write_transaction
from core.errors import ApiError, InvalidRequest
from core.extensions import db
from core.i18n import localized
from core.privacy import keyed_hash, normalise_id
from hallqueue.common import office_today, require_issuing_open, services_by_code
from hallqueue.models import PRIORITY_BOOKED, PRIORITY_GREEN, PRIORITY_WALK_IN, Ticket
from hallqueue.numbering import format_number, next_sequence
from hallqueue.ordering import waiting_in_order
from offices.models import Office
from offices.queries import in_scope

ID_RE = re.compile(r"^[A-Z0-9]{5,32}$")
ACTIVE_TICKET_STATUSES = ("waiting", "called")


@dataclass(frozen=True)
class TicketRequest:
    """What the desk, the kiosk or the API asks for: exactly one of `appointment` (its code,
    or an applicant's ID number) and `service` (a walk-in)."""

    appointment: str | None = None
    service: str | None = None
    present: tuple[str, ...] = ()
    green_channel: bool = False
    phone: str = ""
    language: str = "zh_CN"
    source: str = "desk"


def clean_present(values: object) -> tuple[str, ...]:
    """The presented ID numbers, normalised. Bad shapes are 422 invalid_request; an 18-digit
    resident number with a wrong check character is 422 invalid_id_number (a typo would
    otherwise pass for an absent person, or file a divorce under the wrong number)."""
    if values is None:
        return ()
    if not isinstance(values, list | tuple) or len(values) > 4:
        raise InvalidRequest("present must be a list of at most 4 ID numbers")
    out = []
    for value in values:
        if not isinstance(value, str):
            raise InvalidRequest("present must be a list of ID numbers (strings)")
        number = normalise_id(value)
        for bracket in "()（）":  # Hong Kong style check digits: A123456(7)
            number = number.replace(bracket, "")
        if not number:
            continue
        if not ID_RE.match(number):
            raise ApiError(422, "invalid_id_number",
                           "An ID number has 5 to 32 letters and digits.")
        if len(number) == 18 and number[:17].isdigit():
            from booking.identity import has_valid_check_character

            if not has_valid_check_character(number):
                raise ApiError(422, "invalid_id_number",
                               "An 18-character ID number has a wrong check character.")
        out.append(number)
    return tuple(out)


def find_for_checkin(office: Office, staff, text: str | None):
    """The appointment the desk means by a code or an applicant's ID number
    (booking.queries.appointment_for_checkin), within the staff member's office scope
    (docs/api.md §3.4): to staff bound to an office, another office's appointment does not
    exist (404 appointment_not_found, never wrong_office), and a person's appointment at
    this office is found even when one elsewhere is nearer. 404 appointment_not_found."""
    from booking.models import ACTIVE_STATUSES
    from booking.queries import appointment_for_checkin, search_appointments

    found = appointment_for_checkin(office, text)
    if staff is None or in_scope(found.office_id, staff):
        return found
    here = [a for a in search_appointments(office, text or "") if a.status in ACTIVE_STATUSES]
    if not here:
        raise ApiError(404, "appointment_not_found", "No appointment with that code or ID.")
    today = office_today(office)
    return min(here, key=lambda a: (a.date != today, abs((a.date - today).days), a.start))


def _check_in_target(office: Office, staff, request: TicketRequest, presented: set[str]):
    """The appointment to check in, after every check: 404, 422 wrong_office/wrong_day,
    409 already_checked_in, 422 applicants_not_present."""
    appointment = find_for_checkin(office, staff, request.appointment)
    if appointment is None:
        raise ApiError(404, "appointment_not_found", "No appointment with that code or ID.")
    if appointment.office_id != office.id:
        raise ApiError(422, "wrong_office", "The appointment is at another office.")
    if appointment.date != office_today(office):
        raise ApiError(422, "wrong_day",
                       f"The appointment is on {appointment.date.isoformat()}, not today.")
    already = db.session.scalar(select(Ticket.id).where(Ticket.appointment_id == appointment.id))
    if appointment.status in ("checked_in", "completed") or already is not None:
        raise ApiError(409, "already_checked_in", "This appointment is checked in already.")
    if appointment.status != "booked":
        raise ApiError(422, "appointment_not_active",
                       f"The appointment is {appointment.status}, not booked.")
    needed = [applicant.id_hash for applicant in appointment.applicants]
    missing = [h for h in needed if h not in presented]
    if missing:
        raise ApiError(422, "applicants_not_present",
                       f"{len(needed) - len(missing)} of {len(needed)} applicants' ID numbers "
                       "were presented; every applicant must be present (不到场不办).")
    return appointment


def _walk_in_checks(office: Office, service_code: str, presented: set[str]) -> None:
    """422 for an unknown service or too few people present."""
    if service_code not in office.service_codes:
        raise InvalidRequest(f"{office.code} does not offer the service {service_code!r}")
    service = services_by_code()[service_code]
    needed, fewest = service.applicants, service.min_applicants  # counselling: 1 or 2
    if len(presented) > needed:
        raise InvalidRequest(f"{service_code} has {needed} applicant(s); "
                             f"{len(presented)} different ID numbers were given")
    if len(presented) < fewest:
        raise ApiError(422, "applicants_not_present",
                       f"{service_code} needs {needed} different applicants' ID numbers; "
                       f"{len(presented)} were presented (不到场不办).")


def _refuse_a_second_ticket(office: Office, day, service_code: str, presented: set[str]) -> None:
    """409 when one of the people already holds an active ticket for the service today.
    Called after next_sequence has taken the day's counter row for the service: two desks
    issuing to the same person wait for each other, and the second sees the first's ticket."""
    active = db.session.scalars(select(Ticket).where(
        Ticket.office_id == office.id, Ticket.date == day,
        Ticket.service_code == service_code, Ticket.status.in_(ACTIVE_TICKET_STATUSES)))
    for ticket in active:
        if presented & set(ticket.party_hashes or ()):
            raise ApiError(409, "already_has_ticket",
                           f"This person already holds ticket {ticket.number} for the service.")


def issue_ticket(office: Office, staff, request: TicketRequest) -> Ticket:
    """Issue one ticket (docs/api.md §3 POST /offices/{office}/tickets). Raises ApiError."""
    if bool(request.appointment) == bool(request.service):
        raise InvalidRequest("give either appointment (a code or ID number) or service")
    present = clean_present(list(request.present))
    require_issuing_open(office)
    presented = {keyed_hash(number) for number in present}
    appointment = None
    if request.appointment:
        appointment = _check_in_target(office, staff, request, presented)
        service_code = appointment.service_code
        priority = PRIORITY_BOOKED
        party_hashes = [applicant.id_hash for applicant in appointment.applicants]
        phone = next((a.phone for a in appointment.applicants if a.phone), "")
        language = appointment.language or request.language
        slot_start = appointment.start
    else:
        service_code = request.service
        _walk_in_checks(office, service_code, presented)
        # a green walk-in keeps its own tier value; green tickets go first either way
        priority = PRIORITY_GREEN if request.green_channel else PRIORITY_WALK_IN
        party_hashes = list(dict.fromkeys(keyed_hash(number) for number in present))
        phone, language, slot_start = request.phone, request.language, None
    prefix = services_by_code()[service_code].ticket_prefix
    day = office_today(office)
    try:
        with write_transaction():
            sequence = next_sequence(office.id, day, service_code)
            if appointment is None:
                _refuse_a_second_ticket(office, day, service_code, presented)
            ticket = Ticket(
                token=secrets.token_urlsafe(16), office_id=office.id, date=day,
                service_code=service_code, number=format_number(prefix, sequence),
                sequence=sequence, status="waiting", priority=priority,
                green_channel=bool(request.green_channel), slot_start=slot_start,
                appointment_id=appointment.id if appointment else None,
                party_hashes=party_hashes, phone=phone or "", language=language or "zh_CN",
                issued_at=utcnow(), issued_by_id=getattr(staff, "id", None),
                source=request.source)
            db.session.add(ticket)
            if appointment is not None:
                from booking.attendance import mark_checked_in

                mark_checked_in(appointment)
            db.session.flush()
            record_audit(staff, "ticket.issue", f"ticket:{ticket.id}", office.id,
                         number=ticket.number, service=service_code, source=request.source,
                         appointment=appointment.code if appointment else None,
                         green_channel=bool(request.green_channel))
    except IntegrityError:
        if appointment is not None:
            raise ApiError(409, "already_checked_in",
                           "This appointment is checked in already.") from None
        raise
    return ticket


# --- SMS along the queue ------------------------------------------------------------------

def queue_called_sms(office: Office, ticket: Ticket, window_number: str) -> None:
    """"请J001号到3号窗口办理" to the ticket's phone, once per call (a recall sends again)."""
    from notify.outbox import queue_sms_row

    row = called_sms_row(office, ticket, window_number)
    if row is not None:
        queue_sms_row(row)


def called_sms_row(office: Office, ticket: Ticket, window_number: str) -> dict | None:
    """The called SMS's outbox row (notify.outbox.sms_row), or None: no phone, opted out,
    or sent for this call already."""
    if not ticket.phone:
        return None
    from notify.messages import render
    from notify.outbox import sms_row

    body = render("called", ticket.language, office=localized(office, "name", ticket.language),
                  number=ticket.number, window=window_number)
    return sms_row(ticket.phone, body, "called", f"called:{ticket.id}:{ticket.call_count}")


def queue_near_turn_sms(office: Office, service_code: str) -> int:
    """After the queue of a service moved: "your turn is near" to each waiting ticket with at
    most NEAR_TURN_AHEAD people ahead that has not had it yet. Returns how many tickets were
    due (marked, whether or not their number takes the message)."""
    from notify.outbox import queue_sms_row

    now = utcnow()
    due = near_turn_sms_rows(office, service_code)
    for ticket, row in due:
        if row is not None:
            queue_sms_row(row)
        ticket.near_turn_sms_at = now
    return len(due)


def near_turn_sms_rows(office: Office, service_code: str) -> list[tuple[Ticket, dict | None]]:
    """The waiting tickets of the service due a "your turn is near" SMS (at most
    NEAR_TURN_AHEAD people ahead, none had it yet in this wait, with a phone), each with
    its outbox row (notify.outbox.sms_row; None when none is to go: the number opted out,
    is no mobile, or had this message). The caller writes the rows and marks every one of
    the tickets (near_turn_sms_at), sent or not, so that the next call does not ask again."""
    limit = int(current_app.config.get("NEAR_TURN_AHEAD", 3))
    from notify.messages import render
    from notify.outbox import sms_row

    due = []
    for ahead, ticket in enumerate(waiting_in_order(office.id, office_today(office),
                                                    service_code, limit + 1)):
        if ticket.near_turn_sms_at is not None or not ticket.phone:
            continue
        body = render("near_turn", ticket.language,
                      office=localized(office, "name", ticket.language), number=ticket.number,
                      ahead=ahead)
        # once per wait: a requeued ticket (called before) may get it again
        key = f"near_turn:{ticket.id}" + (f":{ticket.call_count}" if ticket.call_count else "")
        due.append((ticket, sms_row(ticket.phone, body, "near_turn", key)))
    return due
