"""Which slots can be booked: each day's planned slots with the seats left, the slot a
booking or a reschedule asks for (or why not), and the next days with free seats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from booking.cache import OfficeInfo, cached_day_plans, cached_slot_specs
from booking.errors import BookingError, tr
from booking.rules import booking_window, not_bookable_reason, slot_started
from booking.seats import booked_counts
from core.clock import local_now, local_today
from hours.calendar import DayPlan, SlotSpec
from offices.models import Office


@dataclass(frozen=True)
class SlotView:
    start: str
    end: str
    capacity: int
    remaining: int
    bookable: bool


@dataclass(frozen=True)
class DayView:
    date: date
    plan: DayPlan
    in_window: bool
    reason: str | None  # why the day is not bookable (None when it is)
    slots: tuple[SlotView, ...]

    @property
    def bookable(self) -> bool:
        return any(slot.bookable for slot in self.slots)

    @property
    def remaining(self) -> int:
        return sum(slot.remaining for slot in self.slots)


def availability(office: Office, service_code: str, start: date, days: int) -> list[DayView]:
    """Each day's planned slots with seats left; `bookable` says what can be booked now."""
    now_local = local_now(office.timezone)
    window = booking_window(office, now_local)
    plans = cached_day_plans(office, start, days)
    counts = booked_counts(office.id, service_code, start, start + timedelta(days=days - 1))
    today = now_local.date()
    out = []
    for plan in plans:
        reason = not_bookable_reason(office, window, plan.date)
        in_window = reason is None
        views = []
        for spec in cached_slot_specs(office, service_code, plan):
            remaining = max(0, spec.capacity - counts.get((plan.date, spec.start), 0))
            bookable = (in_window and remaining > 0
                        and (plan.date > today  # no slot of a later day has started
                             or not slot_started(office, plan.date, spec.start, now_local)))
            views.append(SlotView(spec.start, spec.end, spec.capacity, remaining, bookable))
        if in_window and not views:
            reason = tr("%(day)s 不开放预约（休息日或节假日）。", day=plan.date.isoformat())
        out.append(DayView(plan.date, plan, in_window, reason, tuple(views)))
    return out


def bookable_spec(office: Office | OfficeInfo, service_code: str, day: date, start: str
                  ) -> SlotSpec:
    """The slot to book, or 422 date_not_bookable saying why not."""
    now_local = local_now(office.timezone)
    reason = not_bookable_reason(office, booking_window(office, now_local), day)
    if reason is not None:
        raise BookingError(422, "date_not_bookable", reason, field="date")
    plan = cached_day_plans(office, day, 1)[0]
    specs = cached_slot_specs(office, service_code, plan)
    if not specs:
        raise BookingError(422, "date_not_bookable", tr(
            "%(day)s 登记处不办理此项业务（休息日或节假日）。", day=day.isoformat()),
            field="date")
    for spec in specs:
        if spec.start == start:
            if slot_started(office, day, start, now_local):
                raise BookingError(422, "date_not_bookable", tr("该时段已开始，不能预约。"),
                                   field="start")
            return spec
    raise BookingError(422, "date_not_bookable", tr(
        "%(day)s 没有 %(start)s 开始的时段；可选：%(starts)s。", day=day.isoformat(),
        start=start, starts="、".join(s.start for s in specs)), field="start")


def next_free_days(office: Office, service_code: str, count: int = 3) -> list[DayView]:
    today = local_today(office.timezone)
    views = availability(office, service_code, today + timedelta(days=1),
                         max(1, int(office.booking_days_ahead)))
    return [view for view in views if view.bookable][:count]
