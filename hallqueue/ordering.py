"""The order in which waiting tickets are called, in SQL: the claim, "people ahead" and the
next tickets shown or told their turn is near all sort by `order_by_clause`.

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

import functools
import math
from datetime import date

from flask import current_app
from sqlalchemy import bindparam, case, func, or_, select
from sqlalchemy.orm import aliased

from core.extensions import db
from hallqueue.models import Ticket
from offices.models import Office

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


def callable_by(office_id, day, services, window_id):
    """WHERE clause: the waiting tickets on `day` of `services` (a list, or an expanding
    bind parameter) that the window `window_id` of the office may call."""
    return (Ticket.office_id == office_id, Ticket.date == day,
            Ticket.status == "waiting", Ticket.service_code.in_(services),
            or_(Ticket.target_window_id.is_(None), Ticket.target_window_id == window_id))


# The two statements below are built once, with bind parameters: joining the anchor (an
# alias of tickets) costs SQLAlchemy milliseconds to build, and a call runs them inside the
# turn that every call at the office waits for.
_WAITING = (Ticket.office_id == bindparam("office_id"), Ticket.date == bindparam("day"),
            Ticket.service_code == bindparam("service_code"), Ticket.status == "waiting")


@functools.cache
def _waiting_in_order_statement():
    statement, anchor = with_anchor(select(Ticket))
    return (statement.where(*_WAITING).order_by(*order_by_clause(anchor))
            .limit(bindparam("limit")))


@functools.cache
def _place_statement():
    anchor = aliased(Ticket)
    places = (select(Ticket.id, func.row_number().over(
                  order_by=order_by_clause(anchor)).label("place"))
              .outerjoin(anchor, anchor.id == Ticket.requeue_anchor_id)
              .where(*_WAITING).subquery())
    return select(places.c.place).where(places.c.id == bindparam("ticket_id"))


def waiting_in_order(office_id: int, day: date, service_code: str,
                     limit: int | None = None) -> list[Ticket]:
    """The waiting tickets of one service, first to be called first; the first `limit` of
    them (a call loads the few whose turn is near, not the whole hall)."""
    # -1: no limit on SQLite, which refuses LIMIT NULL; PostgreSQL refuses a negative one
    no_limit = -1 if db.session.get_bind().dialect.name == "sqlite" else None
    return list(db.session.scalars(_waiting_in_order_statement(), {
        "office_id": office_id, "day": day, "service_code": service_code,
        "limit": no_limit if limit is None else limit}))


def people_ahead(ticket: Ticket) -> int:
    """How many waiting tickets of the same service will be called before this one
    (0 once it is called or finished): its place in the queue's order, counted by the
    database (one row back, whatever the number waiting)."""
    if ticket.status != "waiting":
        return 0
    place = db.session.scalar(_place_statement(), {
        "office_id": ticket.office_id, "day": ticket.date,
        "service_code": ticket.service_code, "ticket_id": ticket.id})
    return place - 1 if place else 0


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
