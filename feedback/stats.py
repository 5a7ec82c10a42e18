"""Statistics over the database: per office, service and day (or any coarser grouping).

Every figure is aggregated in SQL (one GROUP BY query per source table), so a period over
a million appointments reads only the rows of that period. Definitions:

- booked: appointments for the day that were not cancelled; cancelled: those cancelled;
  no_shows: appointments marked no-show (booked, never came).
- tickets: queue numbers issued; checked_in: tickets of an appointment (check-ins);
  walk_ins: tickets without an appointment; missed: tickets called but not answered
  (ticket no-show); unserved: tickets still waiting or called (past days: 积压);
  green: tickets of the green channel (绿色通道); requeued: tickets put back in the queue
  after a missed call (过号重排).
- registered / refused: completed tickets by outcome; refusals by 五不办 reason.
- wait: issued -> called; service: called -> completed (completed tickets only); mean and
  90th percentile (continuous, as PostgreSQL's percentile_cont) in whole seconds.
- ratings: count per level 1..5; satisfaction rate (满意率) = levels 4-5 / all ratings.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, extract, func, select

from booking.models import Appointment
from core.clock import DEFAULT_TIMEZONE, to_local, zone
from core.extensions import db
from core.i18n import localized
from feedback.models import RATING_LEVELS, SATISFIED_LEVELS, FollowUpCase, Rating, Suggestion
from hallqueue.models import REFUSAL_REASONS, Ticket
from hours.calendar import day_plans
from offices.models import Office, Service

KEYS = ("office", "service", "date")
_COLUMN = {"office": "office_id", "service": "service_code", "date": "date"}

REFUSAL_LABELS = {
    "under_age": _l("未达法定婚龄"),
    "not_present": _l("当事人未亲自到场"),
    "documents_incomplete": _l("证件材料不全或不符"),
    "no_civil_capacity": _l("无完全民事行为能力"),
    "not_voluntary": _l("非双方自愿"),
    "already_married": _l("已有配偶"),
    "prohibited_kinship": _l("直系血亲或三代以内旁系血亲"),
}


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """The continuous percentile of PostgreSQL's percentile_cont (linear interpolation
    between the two nearest ranks)."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Durations:
    count: int = 0
    total_seconds: float = 0.0
    p90_seconds: float | None = None

    @property
    def mean_seconds(self) -> float | None:
        return self.total_seconds / self.count if self.count else None

    @property
    def mean_minutes(self) -> float | None:
        mean = self.mean_seconds
        return None if mean is None else mean / 60

    @property
    def p90_minutes(self) -> float | None:
        return None if self.p90_seconds is None else self.p90_seconds / 60

    def merge(self, other: Durations) -> None:
        """Add another group's durations: the mean stays exact, a percentile cannot be
        combined and is dropped (ask `figures` for the coarser grouping instead)."""
        if other.count:
            self.p90_seconds = None if self.count else other.p90_seconds
        self.count += other.count
        self.total_seconds += other.total_seconds


COUNTS = ("booked", "cancelled", "no_shows", "tickets", "checked_in", "walk_ins", "missed",
          "registered", "refused", "unserved", "green", "requeued")


@dataclass
class Figures:
    booked: int = 0
    cancelled: int = 0
    no_shows: int = 0
    tickets: int = 0
    checked_in: int = 0
    walk_ins: int = 0
    missed: int = 0
    registered: int = 0
    refused: int = 0
    unserved: int = 0
    green: int = 0
    requeued: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    wait: Durations = field(default_factory=Durations)
    service: Durations = field(default_factory=Durations)
    ratings: dict[int, int] = field(default_factory=lambda: dict.fromkeys(RATING_LEVELS, 0))

    @property
    def rated(self) -> int:
        return sum(self.ratings.values())

    @property
    def satisfied(self) -> int:
        return sum(self.ratings.get(level, 0) for level in SATISFIED_LEVELS)

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率 = ratings of 4 or 5 / all ratings; None without ratings."""
        return self.satisfied / self.rated if self.rated else None

    def merge(self, other: Figures) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, n in other.refusals.items():
            self.refusals[reason] = self.refusals.get(reason, 0) + n
        for level, n in other.ratings.items():
            self.ratings[level] = self.ratings.get(level, 0) + n
        self.wait.merge(other.wait)
        self.service.merge(other.service)


@dataclass(frozen=True)
class Scope:
    """A period (local dates, both included) and optionally one office list and service."""

    start: date
    end: date
    office_ids: tuple[int, ...] | None = None  # None: every office
    service: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _keys(model, by: tuple[str, ...]) -> list:
    return [getattr(model, _COLUMN[name]) for name in by]


def _where(model, scope: Scope) -> list:
    conditions = [model.date >= scope.start, model.date <= scope.end]
    if scope.office_ids is not None:
        conditions.append(model.office_id.in_(scope.office_ids))
    if scope.service:
        conditions.append(model.service_code == scope.service)
    return conditions


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _appointment_counts(scope: Scope, by: tuple[str, ...], out: dict) -> None:
    keys = _keys(Appointment, by)
    status = Appointment.status
    stmt = (select(*keys, _count_if(status != "cancelled"), _count_if(status == "cancelled"),
                   _count_if(status == "no_show"))
            .where(*_where(Appointment, scope)).group_by(*keys))
    for row in db.session.execute(stmt):
        figures = out[tuple(row[:len(by)])]
        figures.booked, figures.cancelled, figures.no_shows = (int(v) for v in row[len(by):])


def _ticket_counts(scope: Scope, by: tuple[str, ...], out: dict) -> None:
    keys = _keys(Ticket, by)
    stmt = (select(*keys, func.count(), _count_if(Ticket.appointment_id.is_not(None)),
                   _count_if(Ticket.appointment_id.is_(None)),
                   _count_if(Ticket.status == "no_show"),
                   _count_if(Ticket.outcome == "registered"),
                   _count_if(Ticket.outcome == "refused"),
                   _count_if(Ticket.status.in_(("waiting", "called"))),
                   _count_if(Ticket.green_channel.is_(True)),
                   _count_if(Ticket.requeued_at.is_not(None)))
            .where(*_where(Ticket, scope)).group_by(*keys))
    for row in db.session.execute(stmt):
        figures = out[tuple(row[:len(by)])]
        (figures.tickets, figures.checked_in, figures.walk_ins, figures.missed,
         figures.registered, figures.refused, figures.unserved, figures.green,
         figures.requeued) = (int(v) for v in row[len(by):])
    reason_stmt = (select(*keys, Ticket.refusal_reason, func.count())
                   .where(*_where(Ticket, scope), Ticket.outcome == "refused")
                   .group_by(*keys, Ticket.refusal_reason))
    for row in db.session.execute(reason_stmt):
        reason, n = row[len(by)], int(row[len(by) + 1])
        out[tuple(row[:len(by)])].refusals[reason or "unknown"] = n


def _duration_expressions():
    """(wait, service) in whole seconds, NULL where the ticket has no such span."""
    if db.engine.dialect.name == "postgresql":
        def seconds(later, earlier):
            return func.round(extract("epoch", later - earlier))
    else:
        def seconds(later, earlier):
            return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0)
    wait = seconds(Ticket.called_at, Ticket.issued_at)
    service = case((Ticket.status == "completed", seconds(Ticket.completed_at, Ticket.called_at)),
                   else_=None)
    return wait, service


def _durations(scope: Scope, by: tuple[str, ...], out: dict) -> None:
    keys = _keys(Ticket, by)
    wait, service = _duration_expressions()
    where = [*_where(Ticket, scope), Ticket.called_at.is_not(None)]
    if db.engine.dialect.name == "postgresql":
        stmt = (select(*keys, func.count(wait), func.sum(wait),
                       func.percentile_cont(0.9).within_group(wait),
                       func.count(service), func.sum(service),
                       func.percentile_cont(0.9).within_group(service))
                .where(*where).group_by(*keys))
        for row in db.session.execute(stmt):
            figures = out[tuple(row[:len(by)])]
            w_n, w_sum, w_p90, s_n, s_sum, s_p90 = row[len(by):]
            figures.wait = Durations(int(w_n), float(w_sum or 0),
                                     None if w_p90 is None else float(w_p90))
            figures.service = Durations(int(s_n), float(s_sum or 0),
                                        None if s_p90 is None else float(s_p90))
        return
    # SQLite has no percentile aggregate: the spans (two numbers a ticket) come back and
    # the percentile is taken here, with the same interpolation as percentile_cont.
    waits: dict[tuple, list[float]] = defaultdict(list)
    services: dict[tuple, list[float]] = defaultdict(list)
    for row in db.session.execute(select(*keys, wait, service).where(*where)):
        key = tuple(row[:len(by)])
        w, s = row[len(by)], row[len(by) + 1]
        if w is not None:
            waits[key].append(float(w))
        if s is not None:
            services[key].append(float(s))
    for key in set(waits) | set(services):
        figures = out[key]
        figures.wait = Durations(len(waits[key]), sum(waits[key]),
                                 percentile_cont(waits[key], 0.9))
        figures.service = Durations(len(services[key]), sum(services[key]),
                                    percentile_cont(services[key], 0.9))


def _ratings(scope: Scope, by: tuple[str, ...], out: dict) -> None:
    keys = _keys(Rating, by)
    stmt = (select(*keys, Rating.level, func.count()).where(*_where(Rating, scope))
            .group_by(*keys, Rating.level))
    for row in db.session.execute(stmt):
        out[tuple(row[:len(by)])].ratings[int(row[len(by)])] = int(row[len(by) + 1])


def figures(scope: Scope, by: tuple[str, ...] = KEYS) -> dict[tuple, Figures]:
    """The figures of `scope` grouped by `by` (a sub-sequence of office, service, date;
    () for one total). Keys are tuples of office id, service code, date in that order; a
    group appears when any table has a row for it (the total always appears)."""
    for name in by:
        if name not in _COLUMN:
            raise ValueError(f"unknown grouping {name!r}")
    if scope.office_ids is None:
        # every office, named: the (office_id, date) indexes then serve the date range
        scope = replace(scope, office_ids=tuple(db.session.scalars(select(Office.id))))
    out: dict[tuple, Figures] = defaultdict(Figures)
    if not by:
        out[()]  # noqa: B018  (the total exists even for an empty period)
    _appointment_counts(scope, by, out)
    _ticket_counts(scope, by, out)
    _durations(scope, by, out)
    _ratings(scope, by, out)
    return dict(out)


def total(scope: Scope) -> Figures:
    return figures(scope, ())[()]


# --- peak days against ordinary days --------------------------------------------------------

@dataclass
class DayClass:
    days: int = 0  # office-days in the class (open days, and any day with activity)
    figures: Figures = field(default_factory=Figures)

    def per_day(self, name: str) -> float | None:
        return getattr(self.figures, name) / self.days if self.days else None


def scope_offices(scope: Scope) -> list[Office]:
    query = select(Office).order_by(Office.id)
    if scope.office_ids is not None:
        query = query.where(Office.id.in_(scope.office_ids))
    else:
        query = query.where(Office.active.is_(True))
    return list(db.session.scalars(query))


def peak_dates(scope: Scope) -> dict[int, dict[date, str]]:
    """For each office of the scope, its peak days in the period: date -> peak name."""
    out = {}
    for office in scope_offices(scope):
        out[office.id] = {plan.date: plan.peak.name for plan in
                          day_plans(office, scope.start, scope.days) if plan.peak is not None}
    return out


def peak_comparison(scope: Scope) -> dict[str, DayClass]:
    """{"peak": …, "ordinary": …}: office-days and their summed figures, so that the page
    shows averages per day (registered per day, waiting minutes, satisfaction)."""
    classes = {"peak": DayClass(), "ordinary": DayClass()}
    by_day = figures(scope, ("office", "date"))
    for office in scope_offices(scope):
        plans = day_plans(office, scope.start, scope.days)
        for plan in plans:
            item = by_day.get((office.id, plan.date))
            if not plan.open and item is None:
                continue
            bucket = classes["peak" if plan.peak is not None else "ordinary"]
            bucket.days += 1
            if item is not None:
                bucket.figures.merge(item)
    return classes


# --- follow-up and suggestion counts for the monthly report ---------------------------------

def case_counts(scope: Scope, today: date) -> dict[str, int]:
    """Cases opened in the period; of those resolved, resolved on time, and overdue now."""
    where = [FollowUpCase.opened_on >= scope.start, FollowUpCase.opened_on <= scope.end]
    if scope.office_ids is not None:
        where.append(FollowUpCase.office_id.in_(scope.office_ids))
    cases = db.session.scalars(select(FollowUpCase).where(*where)).all()
    offices = {o.id: o for o in scope_offices(Scope(scope.start, scope.end))}
    on_time = 0
    for item in cases:
        if item.status == "resolved" and item.resolved_at is not None:
            tz = offices[item.office_id].timezone if item.office_id in offices else None
            if to_local(item.resolved_at, tz).date() <= item.due_on:
                on_time += 1
    return {
        "opened": len(cases),
        "resolved": sum(1 for c in cases if c.status == "resolved"),
        "resolved_on_time": on_time,
        "overdue": sum(1 for c in cases if c.status != "resolved" and c.due_on < today),
    }


def suggestion_counts(scope: Scope) -> dict[str, int]:
    """Suggestions received in the period (Beijing dates), by category and answered."""
    tz = zone(DEFAULT_TIMEZONE)
    since = datetime(scope.start.year, scope.start.month, scope.start.day, tzinfo=tz)
    end = scope.end + timedelta(days=1)
    until = datetime(end.year, end.month, end.day, tzinfo=tz)
    where = [Suggestion.created_at >= since, Suggestion.created_at < until]
    if scope.office_ids is not None:
        where.append(Suggestion.office_id.in_(scope.office_ids))
    out = {"received": 0, "answered": 0}
    for category, answered, n in db.session.execute(
            select(Suggestion.category, Suggestion.replied_at.is_not(None), func.count())
            .where(*where).group_by(Suggestion.category, Suggestion.replied_at.is_not(None))):
        out["received"] += n
        out[category] = out.get(category, 0) + n
        if answered:
            out["answered"] += n
    return out


# --- rows for tables and CSV ------------------------------------------------------------------

GROUPINGS = {
    "office_service_date": ("office", "service", "date"),
    "office_date": ("office", "date"),
    "date": ("date",),
    "office_service": ("office", "service"),
    "office": ("office",),
    "service": ("service",),
}

CSV_COLUMNS = (
    "date", "office", "service", "service_name", "peak_day", "booked", "cancelled", "checked_in", "no_shows",
    "walk_ins", "tickets", "missed_calls", "registered", "refused",
    *(f"refused_{reason}" for reason in REFUSAL_REASONS),
    "wait_mean_min", "wait_p90_min", "service_mean_min", "service_p90_min",
    "ratings_5", "ratings_4", "ratings_3", "ratings_2", "ratings_1", "satisfaction_percent",
    "green_channel", "requeued",
)


def minutes(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


@dataclass
class Row:
    office: Office | None
    service: str | None
    day: date | None
    peak: str | None  # the peak day's name, when the row is one office's (or every office's) day
    figures: Figures


def rows(scope: Scope, by: tuple[str, ...]) -> list[Row]:
    """The groups of `scope` by `by`, sorted by date, office and service, each with the
    office row and, for a day, the name of its peak day (if any)."""
    grouped = figures(scope, by)
    offices = {o.id: o for o in db.session.scalars(select(Office))}
    peaks = peak_dates(scope) if "date" in by else {}
    order = {code: i for i, code in enumerate(("marriage", "divorce", "divorce-certificate",
                                                "reissue", "counseling", "ceremony"))}
    out = []
    for key, item in grouped.items():
        values = dict(zip(by, key, strict=True))
        office = offices.get(values.get("office"))
        day = values.get("date")
        peak = None
        if day is not None:
            names = ({peaks.get(office.id, {}).get(day)} if office is not None
                     else {p.get(day) for p in peaks.values()})
            names.discard(None)
            peak = "、".join(sorted(names)) or None
        out.append(Row(office, values.get("service"), day, peak, item))
    out.sort(key=lambda r: (r.day or date.min, r.office.code if r.office else "",
                            order.get(r.service or "", 99), r.service or ""))
    return out


def service_names() -> dict[str, str]:
    """Each service's name by its code, in the current language (结婚登记 / Marriage
    registration): what the detail tables, the report and the CSV show next to the code."""
    return {s.code: localized(s, "name") for s in db.session.scalars(select(Service))}


def csv_lines(scope: Scope, by: tuple[str, ...] = KEYS) -> list[list[str]]:
    """The CSV export's lines, header first: one line per group of `by`."""
    lines = [list(CSV_COLUMNS)]
    names = service_names()
    for row in rows(scope, by):
        f = row.figures
        lines.append([
            row.day.isoformat() if row.day else "", row.office.code if row.office else "",
            row.service or "", names.get(row.service, row.service or ""), row.peak or "",
            *(str(getattr(f, name)) for name in (
                "booked", "cancelled", "checked_in", "no_shows", "walk_ins", "tickets",
                "missed", "registered", "refused")),
            *(str(f.refusals.get(reason, 0)) for reason in REFUSAL_REASONS),
            minutes(f.wait.mean_minutes), minutes(f.wait.p90_minutes),
            minutes(f.service.mean_minutes), minutes(f.service.p90_minutes),
            *(str(f.ratings.get(level, 0)) for level in (5, 4, 3, 2, 1)),
            percent(f.satisfaction_rate), str(f.green), str(f.requeued),
        ])
    return lines


def to_csv(scope: Scope, by: tuple[str, ...] = KEYS) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(csv_lines(scope, by))
    return out.getvalue()
