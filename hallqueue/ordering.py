"""The order in which waiting tickets are called, in SQL (for the claim) and in Python (for
"people ahead"); both must agree.

1. the green channel (绿色通道: elderly, pregnant, disabled, military), booked or not;
2. tickets transferred back into the queue (they were already served once), oldest
   transfer first;
3. checked-in appointments (PRIORITY_BOOKED), by slot time, then by arrival;
4. walk-ins, by arrival.

Green tickets among themselves keep that order (a green walk-in has PRIORITY_GREEN, behind
green booked couples).

Arrival order is the ticket id: ids grow with each insert, also under concurrency, whereas
two tickets can share an `issued_at` (a pinned clock, or the same millisecond).

A requeued ticket (过号, `requeue`) takes the place of its `requeue_anchor`: it sorts by the
anchor's fields, right behind the anchor and the tickets requeued behind it before
(`requeue_rank`). The anchor keeps its own place even once called, so the requeued ticket
stays where it was put.
"""

import math
from datetime import UTC, date, datetime

from flask import current_app
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import aliased

from core.extensions import db
from hallqueue.models import Ticket
from offices.models import Office, Window

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_SERVICE_MINUTES = 10


def _anchored(anchor, column):
    """The column of the ticket's place: the anchor's for a requeued ticket."""
    return case((Ticket.requeue_anchor_id.is_(None), getattr(Ticket, column)),
                else_=getattr(anchor, column))


def order_by_clause(anchor) -> tuple:
    """ORDER BY for waiting tickets, first to be called first. `anchor` is the alias of
    tickets joined by `with_anchor`."""
    transferred_at = _anchored(anchor, "transferred_at")
    return (case((_anchored(anchor, "green_channel").is_(True), 0), else_=1),
            case((transferred_at.is_(None), 1), else_=0), transferred_at,
            _anchored(anchor, "priority"), func.coalesce(_anchored(anchor, "slot_start"), ""),
            _anchored(anchor, "id"), func.coalesce(Ticket.requeue_rank, 0.0), Ticket.id)


def with_anchor(statement):
    """`statement` (a select from tickets) joined to each requeued ticket's anchor; returns
    (statement, anchor alias) for `order_by_clause`."""
    anchor = aliased(Ticket)
    return statement.outerjoin(anchor, anchor.id == Ticket.requeue_anchor_id), anchor


def _place_key(ticket: Ticket) -> tuple:
    return (0 if ticket.green_channel else 1, 0 if ticket.transferred_at else 1,
            ticket.transferred_at or _EPOCH, ticket.priority, ticket.slot_start or "",
            ticket.id)


def sort_key(ticket: Ticket) -> tuple:
    """The same order as `order_by_clause`, for tickets already loaded."""
    if ticket.requeue_anchor_id is None:
        return (*_place_key(ticket), 0.0, ticket.id)
    anchor = db.session.get(Ticket, ticket.requeue_anchor_id)
    return (*_place_key(anchor), ticket.requeue_rank or 0.0, ticket.id)


def callable_by(window: Window, day: date):
    """WHERE clause: the waiting tickets `window` may call on `day`."""
    return (Ticket.office_id == window.office_id, Ticket.date == day,
            Ticket.status == "waiting", Ticket.service_code.in_(list(window.services or [])),
            or_(Ticket.target_window_id.is_(None), Ticket.target_window_id == window.id))


def waiting_in_order(office_id: int, day: date, service_code: str) -> list[Ticket]:
    """The waiting tickets of one service, first to be called first."""
    rows = db.session.scalars(
        select(Ticket).where(Ticket.office_id == office_id, Ticket.date == day,
                             Ticket.service_code == service_code,
                             Ticket.status == "waiting")).all()
    return sorted(rows, key=sort_key)


def people_ahead(ticket: Ticket) -> int:
    """How many waiting tickets of the same service will be called before this one
    (0 once it is called or finished)."""
    if ticket.status != "waiting":
        return 0
    key = sort_key(ticket)
    return sum(1 for other in waiting_in_order(ticket.office_id, ticket.date,
                                                ticket.service_code)
               if other.id != ticket.id and sort_key(other) < key)


def average_service_minutes(office_id: int, day: date, service_code: str) -> float:
    """Today's average time from call to completion for the service; the office's average
    over every service when this one has none yet; else HALL_SERVICE_MINUTES (default 10)."""
    def average(*conditions) -> float | None:
        rows = db.session.execute(
            select(Ticket.called_at, Ticket.completed_at).where(
                Ticket.office_id == office_id, Ticket.date == day,
                Ticket.status == "completed", Ticket.called_at.is_not(None),
                Ticket.completed_at.is_not(None), *conditions)).all()
        spans = [(done - called).total_seconds() / 60 for called, done in rows if done > called]
        return sum(spans) / len(spans) if spans else None

    return (average(Ticket.service_code == service_code) or average()
            or float(current_app.config.get("HALL_SERVICE_MINUTES", DEFAULT_SERVICE_MINUTES)))


def serving_windows(office: Office, service_code: str) -> int:
    return sum(1 for window in office.windows
               if window.active and not window.paused and service_code in (window.services or []))


def estimated_wait_minutes(ticket: Ticket, office: Office, ahead: int) -> int:
    """People ahead × today's average service time ÷ the open windows that serve it."""
    if ticket.status != "waiting" or ahead == 0:
        return 0
    minutes = average_service_minutes(ticket.office_id, ticket.date, ticket.service_code)
    windows = max(1, serving_windows(office, ticket.service_code))
    return math.ceil(ahead * minutes / windows)
