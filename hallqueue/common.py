"""Look-ups every hall module needs: windows and tickets by their public names, the office's
day and hours, and the ticket-issuing rule (office_closed). Offices are looked up with
offices.queries."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from core.clock import from_minutes, local_now, to_minutes
from core.errors import ApiError, NotFound
from core.extensions import db
from core.privacy import secret_hash
from hallqueue.models import Ticket
from offices.models import Office, Service, Window


def window_by_number(office: Office, number: str) -> Window:
    window = db.session.scalar(select(Window).where(Window.office_id == office.id,
                                                    Window.number == number,
                                                    Window.active.is_(True)))
    if window is None:
        raise NotFound(f"No window {number!r} at {office.code}.")
    return window


def ticket_by_id(ticket_id: int) -> Ticket:
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"No ticket {ticket_id}.")
    return ticket


def ticket_by_token(token: str) -> Ticket:
    ticket = db.session.scalar(
        select(Ticket).where(Ticket.token_hash == secret_hash(token))) if token else None
    if ticket is None:
        raise NotFound("No such ticket.")
    return ticket


def services_by_code() -> dict[str, Service]:
    return {s.code: s for s in db.session.scalars(select(Service))}


def office_now(office: Office) -> datetime:
    return local_now(office.timezone)


def office_today(office: Office) -> date:
    return office_now(office).date()


@dataclass(frozen=True)
class IssuingHours:
    """When tickets can be taken today: from `ticket_lead_minutes` before the first opening
    until the final closing (extensions included). `start`/`end` are None on a closed day."""

    day: date
    open_today: bool
    start: str | None
    end: str | None
    is_open_now: bool
    plan: object  # hours.calendar.DayPlan


def issuing_hours(office: Office, now: datetime | None = None) -> IssuingHours:
    # The day's plan as bookings see it (booking.cache: five look-ups saved per check-in;
    # an extension made by another process shows within BOOKING_CACHE_SECONDS).
    from booking.cache import cached_day_plans

    now = now or office_now(office)
    plan = cached_day_plans(office, now.date(), 1)[0]
    if not plan.open or not plan.hours:
        return IssuingHours(now.date(), False, None, None, False, plan)
    start = to_minutes(plan.opens_at) - int(office.ticket_lead_minutes or 0)
    end = to_minutes(plan.closes_at)
    current = now.hour * 60 + now.minute + now.second / 60
    return IssuingHours(now.date(), True, from_minutes(start), plan.closes_at,
                        start <= current < end, plan)


def require_issuing_open(office: Office) -> IssuingHours:
    hours = issuing_hours(office)
    if not hours.open_today:
        raise ApiError(422, "office_closed", f"{office.code} is closed today.")
    if not hours.is_open_now:
        raise ApiError(422, "office_closed",
                       f"Tickets are issued today from {hours.start} until {hours.end}.")
    return hours

