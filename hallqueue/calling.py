"""What a registrar's window does: call the next ticket, recall, no-show, requeue (过号),
transfer, complete (registered, or refused with one of the 五不办), pause and resume.

Call-next is ONE claiming statement, so that two windows pressing "next" at the same moment
never get the same ticket:

    UPDATE tickets SET status = 'called', window_id = :w, …
    WHERE id = (SELECT id FROM tickets WHERE <waiting, this window's services>
                ORDER BY <queue order> LIMIT 1 FOR UPDATE SKIP LOCKED)
      AND status = 'waiting'
    RETURNING id

On PostgreSQL the row lock with SKIP LOCKED means a claim never hands out a ticket another
transaction holds; on SQLite (which ignores FOR UPDATE) the statement runs inside
`write_transaction()` (BEGIN IMMEDIATE), so claims are serialised by the write lock. Calls at
one office also take turns on PostgreSQL (see `_serialise_calls`).
"""

import functools

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from booking.cache import office_info
from booking.models import Appointment
from core.audit import AuditEntry, audit_actor, audit_row, record_audit
from core.clock import utcnow
from core.database import write_transaction
from core.errors import ApiError, InvalidRequest
from core.extensions import db
from hallqueue.common import office_today, window_by_number
from hallqueue.models import REFUSAL_REASONS, CallEvent, Ticket
from hallqueue.ordering import callable_by, order_by_clause, waiting_in_order, with_anchor
from hallqueue.signals import ticket_completed
from hallqueue.tickets import (
    called_sms_row,
    near_turn_sms_rows,
    queue_called_sms,
    queue_near_turn_sms,
)
from notify.models import OutboxMessage
from offices.models import Office, Window

OUTCOMES = ("registered", "refused")


@functools.cache
def _claim_statement():
    """The claim, built once (with its anchor join and order it takes SQLAlchemy a
    millisecond to build, inside the turn every call at the office waits for). A Core
    UPDATE of the table whose returned row the ORM loads as the Ticket: the ORM's own
    UPDATE … RETURNING re-derives the statement on every execution, which cost the turn
    another 0.7 ms of CPU per call (bench/analysis.md)."""
    waiting, anchor = with_anchor(select(Ticket.id))
    first = (waiting.where(*callable_by(bindparam("at_office"), bindparam("day"),
                                        bindparam("services", expanding=True),
                                        bindparam("for_window")))
             .order_by(*order_by_clause(anchor)).limit(1)
             .with_for_update(of=Ticket, skip_locked=True).scalar_subquery())
    tickets = Ticket.__table__
    claim = (update(tickets)
             .where(tickets.c.id == first, tickets.c.status == "waiting")
             .values(status="called", window_id=bindparam("calling_window"),
                     called_at=bindparam("called_at"), called_by_id=bindparam("called_by"),
                     call_count=tickets.c.call_count + 1)
             .returning(*tickets.c))  # the claimed ticket itself: no second look-up in the turn
    return (select(Ticket).from_statement(claim)
            .execution_options(populate_existing=True))


CALL_LOCK_SPACE = 5701  # pg_advisory_xact_lock(space, office id): this office's calls


def _serialise_calls(office_id: int) -> None:
    """On PostgreSQL, calls at one office take turns (a transaction-scoped advisory lock;
    SQLite's BEGIN IMMEDIATE does the same). The claim alone is safe without it, but the same
    transaction also marks the next tickets' "near turn" SMS: without turns, those row locks
    could make a concurrent claim skip (SKIP LOCKED) a ticket that should go first, or
    deadlock with it. A call takes milliseconds, so turns cost nothing a person could see."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":  # as driver SQL: the session's ORM layer
        # cost a third of a millisecond of the turn for this one-line statement
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%(space)s, %(office)s)",
                                   {"space": CALL_LOCK_SPACE, "office": office_id})


def _call_event_row(office: Office, ticket: Ticket, window_number: str, kind: str,
                    now) -> dict:
    return {"office_id": office.id, "ticket_id": ticket.id, "window_number": window_number,
            "number": ticket.number, "kind": kind, "called_at": now}


def _announce(office: Office, ticket: Ticket, window_number: str, kind: str, now) -> CallEvent:
    event = CallEvent(**_call_event_row(office, ticket, window_number, kind, now))
    db.session.add(event)
    queue_called_sms(office, ticket, window_number)
    return event


def _write_call(office: Office, ticket: Ticket, window_number: str, now, actor) -> None:
    """What a call writes besides the claim, inside its turn: the display's call event, the
    called SMS, the "near turn" SMS and their tickets' marks, the audit entry. One Core
    statement per table instead of the ORM's flush at the commit: the flush of the same
    rows cost the turn, which every call at the office waits for, about 2 ms of CPU
    (bench/analysis.md). The look-ups come first, as before; the rows go in after them."""
    called = called_sms_row(office, ticket, window_number)
    near = near_turn_sms_rows(office, ticket.service_code)
    messages = [row for row in [called, *(row for _ticket, row in near)] if row is not None]
    connection = db.session.connection()
    connection.execute(insert(CallEvent.__table__),
                       _call_event_row(office, ticket, window_number, "call", now))
    if messages:
        connection.execute(insert(OutboxMessage.__table__), messages)
    if near:
        marked = [t.id for t, _row in near]
        connection.execute(update(Ticket.__table__)
                           .where(Ticket.__table__.c.id.in_(marked))
                           .values(near_turn_sms_at=now))
        for marked_ticket, _row in near:
            set_committed_value(marked_ticket, "near_turn_sms_at", now)
    connection.execute(insert(AuditEntry.__table__),
                       audit_row(actor, "ticket.call", f"ticket:{ticket.id}", office.id,
                                 number=ticket.number, window=window_number))


def backup_windows_open(office: Office) -> bool:
    from hours.calendar import day_plan

    peak = day_plan(office, office_today(office)).peak
    return peak is not None and peak.open_backup_windows


def call_next(office: Office, window: Window, staff) -> Ticket | None:
    """Claim the first waiting ticket this window serves; None when nobody waits for it.
    A paused window calls nothing (409 window_paused); a backup window calls only on a peak
    day whose rule opens backup windows (409 window_closed)."""
    if window.paused:
        raise ApiError(409, "window_paused", f"Window {window.number} is paused; resume it first.")
    if window.backup and not backup_windows_open(office):
        raise ApiError(409, "window_closed",
                       f"Window {window.number} is a backup window: it opens on peak days only.")
    if not window.services:
        return None
    now = utcnow()
    # What the transaction needs of the office, window and staff member, read now: its
    # first commit expires them, and reloading them would cost round trips inside the turn.
    claim = {"at_office": office.id, "day": office_today(office), "for_window": window.id,
             "services": list(window.services), "calling_window": window.id,
             "called_at": now, "called_by": getattr(staff, "id", None)}
    window_number, actor = window.number, audit_actor(staff)
    place = office_info(office) or office  # the snapshot: names and time zone, no reload
    with write_transaction():
        _serialise_calls(claim["at_office"])
        ticket = db.session.scalars(_claim_statement(), claim).first()
        if ticket is None:
            return None
        _write_call(place, ticket, window_number, now, actor)
    return ticket


def _called_ticket(ticket: Ticket, action: str) -> None:
    if ticket.status != "called":
        raise ApiError(409, "ticket_not_called",
                       f"Ticket {ticket.number} is {ticket.status}; only a called ticket can be "
                       f"{action}.")


def _window_of(ticket: Ticket) -> Window:
    window = db.session.get(Window, ticket.window_id) if ticket.window_id else None
    if window is None:  # pragma: no cover - a called ticket always has a window
        raise ApiError(409, "ticket_not_called", "The ticket has no window.")
    return window


def recall(office: Office, ticket: Ticket, staff) -> Ticket:
    """Announce a called ticket again on the display (and by SMS)."""
    now = utcnow()
    with write_transaction():
        db.session.refresh(ticket)
        _called_ticket(ticket, "recalled")
        window = _window_of(ticket)
        ticket.call_count += 1
        _announce(office, ticket, window.number, "recall", now)
        record_audit(staff, "ticket.recall", f"ticket:{ticket.id}", office.id,
                     number=ticket.number, window=window.number)
    return ticket


def no_show(office: Office, ticket: Ticket, staff) -> Ticket:
    with write_transaction():
        db.session.refresh(ticket)
        _called_ticket(ticket, "marked as no-show")
        ticket.status = "no_show"
        ticket.completed_at = utcnow()
        ticket.completed_by_id = getattr(staff, "id", None)
        if ticket.appointment_id is not None:
            # still checked in: a no-show only if its day ends unserved (no-show-sweep)
            from booking.attendance import mark_call_missed

            mark_call_missed(db.session.get(Appointment, ticket.appointment_id))
        record_audit(staff, "ticket.no_show", f"ticket:{ticket.id}", office.id,
                     number=ticket.number)
    return ticket


def _requeue_place(ticket: Ticket, requeue_after: int) -> tuple[int | None, float | None]:
    """(anchor id, rank) that put `ticket` right behind the first `requeue_after` waiting
    tickets of its service (all of them when fewer wait)."""
    waiting = [t for t in waiting_in_order(ticket.office_id, ticket.date, ticket.service_code)
               if t.id != ticket.id]
    ahead = waiting[:requeue_after]
    if not ahead:  # nobody waits ahead: first in the queue
        first = waiting[0] if waiting else None
        if first is None:
            return None, None
        anchor_id = first.requeue_anchor_id or first.id
        return anchor_id, (first.requeue_rank or 0.0) - 1.0
    before = ahead[-1]
    anchor_id = before.requeue_anchor_id or before.id
    rank = before.requeue_rank or 0.0
    following = db.session.scalar(
        select(func.min(Ticket.requeue_rank)).where(Ticket.requeue_anchor_id == anchor_id,
                                                    Ticket.requeue_rank > rank,
                                                    Ticket.id != ticket.id))
    if rank < 0 and (following is None or following > 0):
        following = 0.0  # the anchor's own place (rank 0) comes next
    return anchor_id, (rank + following) / 2 if following is not None else rank + 1.0


def requeue(office: Office, ticket: Ticket, staff) -> Ticket:
    """过号: a missed (no_show) ticket of today waits again, behind at most the office's
    `requeue_after` waiting tickets of its service; its appointment is checked in again, and
    the "your turn is near" SMS goes out again when due. 409 ticket_not_missed, 422
    wrong_day."""
    with write_transaction():
        _serialise_calls(office.id)  # the place is chosen among tickets a call could take
        db.session.refresh(ticket)
        if ticket.status != "no_show":
            raise ApiError(409, "ticket_not_missed",
                           f"Ticket {ticket.number} is {ticket.status}; only a missed "
                           "(no_show) ticket can be requeued.")
        if ticket.date != office_today(office):
            raise ApiError(422, "wrong_day",
                           f"Ticket {ticket.number} is of {ticket.date.isoformat()}, not today.")
        anchor_id, rank = _requeue_place(ticket, int(office.requeue_after))
        ticket.status = "waiting"
        ticket.window_id = None
        ticket.completed_at = ticket.completed_by_id = None
        ticket.requeued_at = utcnow()
        ticket.requeue_anchor_id, ticket.requeue_rank = anchor_id, rank
        ticket.near_turn_sms_at = None  # "your turn is near" again when due
        if ticket.appointment_id is not None:
            from booking.attendance import mark_requeued

            mark_requeued(db.session.get(Appointment, ticket.appointment_id))
        db.session.flush()
        queue_near_turn_sms(office, ticket.service_code)
        record_audit(staff, "ticket.requeue", f"ticket:{ticket.id}", office.id,
                     number=ticket.number)
    return ticket


def complete(office: Office, ticket: Ticket, staff, outcome: object,
             reason: object = None) -> Ticket:
    """Registered, or refused with a reason. A divorce registered starts the couple's
    cooling-off period, a divorce certificate registered closes their case (certified); an appointment's ticket completes the appointment; the person gets
    the "rate our service" SMS (ticket_completed: feedback subscribes)."""
    if outcome not in OUTCOMES:
        raise InvalidRequest("outcome must be registered or refused")
    if outcome == "refused":
        if reason not in REFUSAL_REASONS:
            raise InvalidRequest("a refusal needs a reason, one of " + ", ".join(REFUSAL_REASONS))
    elif reason not in (None, ""):
        raise InvalidRequest("a reason is given only for a refusal")
    now = utcnow()
    with write_transaction():
        db.session.refresh(ticket)
        _called_ticket(ticket, "completed")
        ticket.status = "completed"
        ticket.outcome = outcome
        ticket.refusal_reason = reason if outcome == "refused" else None
        ticket.completed_at = now
        ticket.completed_by_id = getattr(staff, "id", None)
        appointment = None
        if ticket.appointment_id is not None:
            from booking.attendance import mark_completed

            appointment = db.session.get(Appointment, ticket.appointment_id)
            mark_completed(appointment)
        if ticket.service_code == "divorce" and outcome == "registered":
            from booking.divorce import record_divorce_application

            record_divorce_application(office, list(ticket.party_hashes or ()), ticket.date,
                                       appointment=appointment)
        elif ticket.service_code == "divorce-certificate" and outcome == "registered":
            from booking.divorce import certify

            certify(office, list(ticket.party_hashes or ()))
        db.session.flush()
        ticket_completed.send(ticket)  # 好差评: "rate our service", also after a refusal
        record_audit(staff, "ticket.complete", f"ticket:{ticket.id}", office.id,
                     number=ticket.number, outcome=outcome, reason=ticket.refusal_reason)
    return ticket


def transfer(office: Office, ticket: Ticket, staff, service: object = None,
             window: object = None) -> Ticket:
    """Put a called ticket back in the queue, ahead of the others: for another service (any
    window serving it calls it) and/or for one window (only that window calls it)."""
    if service in (None, "") and window in (None, ""):
        raise InvalidRequest("give the service or the window to transfer to")
    new_service = ticket.service_code
    if service not in (None, ""):
        if not isinstance(service, str) or service not in office.service_codes:
            raise InvalidRequest(f"{office.code} does not offer the service {service!r}")
        new_service = service
    target = None
    if window not in (None, ""):
        if not isinstance(window, str):
            raise InvalidRequest("window must be a window number (string)")
        try:
            target = window_by_number(office, window)
        except ApiError:
            raise InvalidRequest(f"{office.code} has no window {window!r}") from None
        if new_service not in (target.services or []):
            raise InvalidRequest(f"window {target.number} does not serve {new_service}")
    with write_transaction():
        db.session.refresh(ticket)
        _called_ticket(ticket, "transferred")
        previous = (ticket.service_code, ticket.window_id)
        ticket.service_code = new_service
        ticket.status = "waiting"
        ticket.transferred_at = utcnow()
        ticket.requeue_anchor_id = ticket.requeue_rank = None  # its own place now
        ticket.target_window_id = target.id if target else None
        ticket.window_id = None
        record_audit(staff, "ticket.transfer", f"ticket:{ticket.id}", office.id,
                     number=ticket.number, from_service=previous[0], to_service=new_service,
                     to_window=target.number if target else None)
    return ticket


def set_paused(office: Office, window: Window, staff, paused: bool) -> Window:
    with write_transaction():
        db.session.refresh(window)
        window.paused = bool(paused)
        record_audit(staff, "window.pause" if paused else "window.resume",
                     f"window:{window.number}", office.id)
    return window
