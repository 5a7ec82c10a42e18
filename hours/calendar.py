"""The office calendar: which days an office opens, with which hours, peak days and seats.

One decision per (office, date), made in `day_plan` / `day_plans`:

1. the state calendar gives the day's kind (`state_day`): admin-entered StateDay rows
   first, then `chinesecalendar` (official data), then the `holidays` package (an
   estimate, `estimated=True`);
2. the office's weekly hours: `mon`..`sun` (no key: closed); a make-up working day opens
   with `makeup` hours, else `mon`; a holiday closes unless `open_on_holidays`;
3. a peak day (PeakDayRule) gives an open day the peak's hours and seats; it opens an
   otherwise closed office only with `open_on_peak_days`;
4. an admin CalendarOverride for the office and date wins over all of the above;
5. DayExtension rows (延时服务 made that day) push the final closing time (`hours`), never
   the planned hours that slots come from.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar
import holidays as holidays_lib
from flask import current_app, has_app_context, has_request_context
from lunardate import LunarDate
from sqlalchemy import select

from core.clock import from_minutes, to_minutes
from core.extensions import db
from core.i18n import N_, current_language
from hours.models import CalendarOverride, DayExtension, HolidayNotice, StateDay
from offices.models import GLOBAL_SCOPE, Office, PeakDayRule

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKING_KINDS = frozenset({"workday", "makeup_workday"})

Period = tuple[str, str]


# --- data ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PeakInfo:
    code: str
    name: str
    name_en: str
    capacity_factor: float
    open_backup_windows: bool


@dataclass(frozen=True)
class SlotSpec:
    start: str  # "HH:MM"
    end: str
    capacity: int


@dataclass(frozen=True)
class DayPlan:
    date: date
    kind: str  # "workday" | "weekend" | "holiday" | "makeup_workday"
    estimated: bool  # the state calendar for that year is only an estimate
    open: bool
    planned_hours: tuple[Period, ...]  # as planned (peak hours included): slots come from these
    hours: tuple[Period, ...]  # final: same-day extensions included
    peak: PeakInfo | None
    extended: bool  # runs past (or starts before) the office's normal hours for its weekday
    override_note: str = field(default="", compare=False)
    overridden: bool = field(default=False, compare=False)

    @property
    def opens_at(self) -> str | None:
        return self.hours[0][0] if self.hours else None

    @property
    def closes_at(self) -> str | None:
        return self.hours[-1][1] if self.hours else None


# --- small helpers ------------------------------------------------------------------------

def parse_periods(values: Iterable[str] | None) -> tuple[Period, ...]:
    """["09:00-12:00", "13:30-17:00"] -> (("09:00", "12:00"), ("13:30", "17:00"))."""
    out = []
    for text in values or ():
        start, _, end = str(text).partition("-")
        out.append((start.strip(), end.strip()))
    return tuple(out)


# --- the state calendar -------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _chinesecalendar_has(year: int) -> bool:
    try:
        chinese_calendar.get_holiday_detail(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def official_data_available(year: int) -> bool:
    """True when chinesecalendar bundles the State Council's notice for `year`."""
    return _chinesecalendar_has(year)


@functools.lru_cache(maxsize=64)
def _estimated_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays_lib.China(years=year).keys())


def _bundled_kind(day: date) -> tuple[str, bool]:
    weekend = day.weekday() >= 5
    if _chinesecalendar_has(day.year):
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
        if is_holiday:
            return ("holiday" if name else "weekend"), False
        return ("makeup_workday" if weekend else "workday"), False
    if day in _estimated_holidays(day.year):
        return "holiday", True
    return ("weekend" if weekend else "workday"), True


class StateCalendar:
    """State days with the admin's rows loaded a year at a time (cheap for long ranges)."""

    def __init__(self) -> None:
        self._rows: dict[date, str] = {}
        self._confirmed: set[int] = set()
        self._loaded: set[int] = set()

    def _load(self, year: int) -> None:
        if year in self._loaded:
            return
        self._loaded.add(year)
        if not has_app_context():
            return
        rows = db.session.execute(
            select(StateDay.date, StateDay.kind).where(
                StateDay.date >= date(year, 1, 1), StateDay.date <= date(year, 12, 31)))
        self._rows.update({row.date: row.kind for row in rows})
        if db.session.get(HolidayNotice, year) is not None:
            self._confirmed.add(year)

    def kind(self, day: date) -> tuple[str, bool]:
        self._load(day.year)
        admin_kind = self._rows.get(day)
        if admin_kind is not None:
            return admin_kind, False
        if day.year in self._confirmed and not _chinesecalendar_has(day.year):
            # The admin entered and confirmed the year's notice: every holiday and make-up
            # day of it is a StateDay row, so any other day is a plain workday or weekend.
            return ("weekend" if day.weekday() >= 5 else "workday"), False
        return _bundled_kind(day)

    def is_rest_day(self, day: date) -> bool:
        return self.kind(day)[0] not in WORKING_KINDS

    def next_working_day(self, day: date) -> date:
        for _ in range(400):
            if not self.is_rest_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("no working day within 400 days")  # pragma: no cover


def state_day(day: date) -> tuple[str, bool]:
    """(kind, estimated) for `day`; admin StateDay rows win over the bundled data."""
    return StateCalendar().kind(day)


def is_statutory_rest_day(day: date) -> bool:
    """A holiday, or a weekend day that is not a make-up working day."""
    return StateCalendar().is_rest_day(day)


def next_working_day(day: date) -> date:
    """The first working day on or after `day`."""
    return StateCalendar().next_working_day(day)


def add_working_days(day: date, n: int) -> date:
    """The day that is `n` working days after `day` (n = 0: `day` itself)."""
    if n < 0:
        raise ValueError("n must not be negative")
    states = StateCalendar()
    current = day
    while n > 0:
        current += timedelta(days=1)
        if not states.is_rest_day(current):
            n -= 1
    return current


def divorce_windows(accepted_on: date, cooling_days: int = 30,
                    window_days: int = 30) -> tuple[date, date, date]:
    """(cooling_off_ends, step2_from, step2_until) for a divorce application accepted on
    `accepted_on` (Civil Code art. 1077; 民发〔2020〕116号): counting starts the day after
    acceptance; a period whose last day is a statutory rest day ends on the next working day.
    """
    states = StateCalendar()
    cooling_ends = states.next_working_day(accepted_on + timedelta(days=cooling_days))
    step2_from = cooling_ends + timedelta(days=1)
    step2_until = states.next_working_day(cooling_ends + timedelta(days=window_days))
    return cooling_ends, step2_from, step2_until


def year_settled(year: int) -> bool:
    """The year's State Council notice is official here: bundled or confirmed by an admin."""
    if _chinesecalendar_has(year):
        return True
    return has_app_context() and db.session.get(HolidayNotice, year) is not None


def _notice_text(year: int) -> str:
    text = N_("%(year)s 年的国务院节假日安排尚未录入确认：目前按估算排班，"
              "请在“国家节假日”页面录入放假和调休上班日期并确认。")
    if has_request_context():
        from flask_babel import gettext

        return gettext(text, year=year)
    return text % {"year": year}


def missing_notice_warning(today: date) -> str | None:
    """From HOLIDAY_CHECK_FROM_MONTH on, a warning when next year's State Council notice is
    neither bundled (chinesecalendar) nor entered and confirmed by an admin."""
    from_month = 11
    if has_app_context():
        from_month = int(current_app.config.get("HOLIDAY_CHECK_FROM_MONTH", 11))
    if today.month < from_month or year_settled(today.year + 1):
        return None
    return _notice_text(today.year + 1)


def calendar_warnings(today: date) -> list[str]:
    """What the admins' calendar pages warn about: this year still unconfirmed (any month),
    and next year's notice missing (from HOLIDAY_CHECK_FROM_MONTH on)."""
    warnings = [] if year_settled(today.year) else [_notice_text(today.year)]
    upcoming = missing_notice_warning(today)
    return warnings + ([upcoming] if upcoming else [])


# --- peak days ----------------------------------------------------------------------------

def peak_rules_for(office: Office) -> list[PeakDayRule]:
    """The active peak-day rules for `office`: its own rules replace global rules of the
    same code."""
    rows = db.session.scalars(
        select(PeakDayRule).where(PeakDayRule.active.is_(True),
                                  PeakDayRule.scope.in_((GLOBAL_SCOPE, office.code)))
        .order_by(PeakDayRule.id)).all()
    own = {rule.code for rule in rows if rule.scope == office.code}
    return [rule for rule in rows if rule.scope == office.code or rule.code not in own]


def lunar_to_solar(year: int, month: int, day: int) -> list[date]:
    """Solar dates within solar `year` of lunar month/day (regular months only: a leap
    month never repeats a festival). Lunar 12th-month dates can fall early in the next
    solar year, so both lunar years that overlap `year` are tried."""
    out = []
    for lunar_year in (year - 1, year):
        try:
            solar = LunarDate(lunar_year, month, day, False).toSolarDate()
        except (ValueError, IndexError, KeyError):
            continue  # no such day that year (a 30th in a short month) or out of range
        if solar.year == year:
            out.append(solar)
    return out


def rule_dates(rule: PeakDayRule, year: int) -> set[date]:
    """The dates in `year` on which `rule` falls."""
    found: set[date] = set()
    for text in rule.dates or ():
        try:
            if len(text) == 10:
                value = date.fromisoformat(text)
                if value.year == year:
                    found.add(value)
            else:
                found.add(date(year, int(text[:2]), int(text[3:5])))
        except ValueError:
            continue  # 02-29 in a common year
    for text in rule.lunar or ():
        try:
            month, day = int(text[:2]), int(text[3:5])
        except ValueError:
            continue
        found.update(lunar_to_solar(year, month, day))
    return found


def _peak_info(rule: PeakDayRule) -> PeakInfo:
    return PeakInfo(code=rule.code, name=rule.name, name_en=rule.name_en or "",
                    capacity_factor=float(rule.capacity_factor or 1.0),
                    open_backup_windows=bool(rule.open_backup_windows))


class _PeakIndex:
    """Peak rules of one office by date, computed a year at a time. When two rules fall on
    the same date the office's own rule wins, then the larger capacity factor."""

    def __init__(self, office: Office, rules: list[PeakDayRule] | None = None) -> None:
        self.office = office
        self.rules = peak_rules_for(office) if rules is None else rules
        self._years: dict[int, dict[date, PeakDayRule]] = {}

    def _rank(self, rule: PeakDayRule) -> tuple:
        return (rule.scope == self.office.code, float(rule.capacity_factor or 1.0), -rule.id)

    def rule_on(self, day: date) -> PeakDayRule | None:
        by_date = self._years.get(day.year)
        if by_date is None:
            by_date = {}
            for rule in self.rules:
                for when in rule_dates(rule, day.year):
                    best = by_date.get(when)
                    if best is None or self._rank(rule) > self._rank(best):
                        by_date[when] = rule
            self._years[day.year] = by_date
        return by_date.get(day)


# --- the day plan -------------------------------------------------------------------------

def normal_hours(office: Office, day: date, kind: str | None = None) -> tuple[Period, ...]:
    """The office's normal hours for the day's weekday (or make-up hours on a make-up day),
    before holidays, peak days, overrides and extensions."""
    hours = office.hours or {}
    if kind == "makeup_workday":
        return parse_periods(hours.get("makeup") or hours.get("mon"))
    return parse_periods(hours.get(WEEKDAYS[day.weekday()]))


def _reference_hours(office: Office, day: date, kind: str) -> tuple[Period, ...]:
    """What "normal" means when judging 延时服务: the weekday's hours, or on a day the office
    normally does not open, its usual working-day hours."""
    hours = office.hours or {}
    return (normal_hours(office, day, kind)
            or parse_periods(hours.get("makeup") or hours.get("mon")))


def _extended(final: tuple[Period, ...], reference: tuple[Period, ...]) -> bool:
    if not final or not reference:
        return False
    return (to_minutes(final[0][0]) < to_minutes(reference[0][0])
            or to_minutes(final[-1][1]) > to_minutes(reference[-1][1]))


def _apply_extensions(planned: tuple[Period, ...], untils: list[str]) -> tuple[Period, ...]:
    if not planned or not untils:
        return planned
    latest = max(untils, key=to_minutes)
    start, end = planned[-1]
    if to_minutes(latest) <= to_minutes(end):
        return planned
    return (*planned[:-1], (start, latest))


def _plan(office: Office, day: date, state: tuple[str, bool], peak_rule: PeakDayRule | None,
          override: CalendarOverride | None, extension_untils: list[str]) -> DayPlan:
    kind, estimated = state
    if kind == "holiday" and not office.open_on_holidays:
        base: tuple[Period, ...] = ()
    else:
        base = normal_hours(office, day, kind)
    peak = _peak_info(peak_rule) if peak_rule is not None else None
    planned = base
    if peak_rule is not None:
        peak_hours = parse_periods(peak_rule.hours)
        if base:
            planned = peak_hours or base
        elif office.open_on_peak_days:
            planned = peak_hours or _reference_hours(office, day, kind)
    note = ""
    if override is not None:
        planned = () if override.closed else parse_periods(override.hours)
        note = override.note or ""
    final = _apply_extensions(planned, extension_untils)
    return DayPlan(
        date=day, kind=kind, estimated=estimated, open=bool(planned),
        planned_hours=planned, hours=final, peak=peak,
        extended=_extended(final, _reference_hours(office, day, kind)),
        override_note=note, overridden=override is not None)


def day_plans(office: Office, start: date, days: int) -> list[DayPlan]:
    """The plans of `days` consecutive days from `start` (a few queries in all)."""
    if days <= 0:
        return []
    end = start + timedelta(days=days - 1)
    overrides = {row.date: row for row in db.session.scalars(
        select(CalendarOverride).where(CalendarOverride.office_id == office.id,
                                       CalendarOverride.date >= start,
                                       CalendarOverride.date <= end))}
    extensions: dict[date, list[str]] = defaultdict(list)
    for row in db.session.execute(
            select(DayExtension.date, DayExtension.until).where(
                DayExtension.office_id == office.id, DayExtension.date >= start,
                DayExtension.date <= end)):
        extensions[row.date].append(row.until)
    states = StateCalendar()
    peaks = _PeakIndex(office)
    plans = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        plans.append(_plan(office, day, states.kind(day), peaks.rule_on(day),
                           overrides.get(day), extensions.get(day, [])))
    return plans


def day_plan(office: Office, day: date) -> DayPlan:
    return day_plans(office, day, 1)[0]


def slots_for_plan(office: Office, service_code: str, plan: DayPlan) -> list[SlotSpec]:
    """Whole `slot_minutes` slots inside each planned period, with seats for the service."""
    if not plan.open or service_code not in office.service_codes:
        return []
    factor = plan.peak.capacity_factor if plan.peak else 1.0
    capacity = math.floor(office.capacity_for(service_code) * factor + 1e-9)
    if plan.peak and (peak_seats := office.peak_capacity_for(service_code)) is not None:
        capacity = peak_seats  # the office's own number for peak days (group ceremonies)
    step = int(office.slot_minutes)
    slots = []
    for start, end in plan.planned_hours:
        begin, finish = to_minutes(start), to_minutes(end)
        while begin + step <= finish:
            slots.append(SlotSpec(from_minutes(begin), from_minutes(begin + step), capacity))
            begin += step
    return slots


def slot_specs(office: Office, service_code: str, day: date) -> list[SlotSpec]:
    return slots_for_plan(office, service_code, day_plan(office, day))


# --- names for display --------------------------------------------------------------------

_CC_NAMES = {item.value: item.chinese for item in chinese_calendar.Holiday}
# The State Council's names of the public holidays (chinesecalendar's, and the usual forms
# admins type in): message ids, so English pages show them from the catalogue.
OFFICIAL_HOLIDAY_NAMES = frozenset({
    N_("元旦"), N_("春节"), N_("除夕"), N_("清明"), N_("清明节"), N_("劳动节"), N_("端午"),
    N_("端午节"), N_("中秋"), N_("中秋节"), N_("国庆节"), N_("国庆"),
    N_("中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日"),
})
MAKEUP_SUFFIX = "调休"


@functools.lru_cache(maxsize=64)
def estimated_names(year: int, language: str = "zh_CN") -> dict[date, str]:
    """The `holidays` package's estimate of the year's holidays; language "zh_CN" or "en_US"."""
    return dict(holidays_lib.China(years=year, language=language).items())


def estimate_language() -> str:
    """The `holidays` package's language for the current request."""
    english = has_request_context() and current_language() == "en"
    return "en_US" if english else "zh_CN"


def _shown_name(name: str, makeup: bool) -> str:
    """A holiday's name as the request's language shows it: official names in English
    from the catalogue, a make-up working day as "国庆节调休" / "National Day (make-up
    working day)". Admins' own names without English, and everything outside a request,
    stay as they are."""
    base = name.removesuffix(MAKEUP_SUFFIX) if makeup else name
    if not has_request_context():
        return base + MAKEUP_SUFFIX if makeup else base
    from flask_babel import gettext

    if base in OFFICIAL_HOLIDAY_NAMES:
        base = gettext(base)
    return gettext("%(holiday)s调休", holiday=base) if makeup else base


def day_names(start: date, days: int) -> dict[date, str]:
    """Names of the holidays and make-up days in the range, in the request's language:
    "国庆节", "国庆节调休" (English: "National Day", "National Day (make-up working day)").
    The admins' rows first, then the bundled data, then the estimate."""
    end = start + timedelta(days=max(days, 1) - 1)
    names: dict[date, str] = {}
    states = StateCalendar()
    admin_names = {}
    if has_app_context():
        admin_names = {row.date: (row.name, row.kind) for row in db.session.execute(
            select(StateDay.date, StateDay.name, StateDay.kind).where(
                StateDay.date >= start, StateDay.date <= end))}
    language = estimate_language()
    for offset in range(days):
        day = start + timedelta(days=offset)
        kind, _estimated = states.kind(day)
        if kind not in ("holiday", "makeup_workday"):
            continue
        if day in admin_names:
            name = admin_names[day][0]
        elif _chinesecalendar_has(day.year):
            english = chinese_calendar.get_holiday_detail(day)[1]
            name = _CC_NAMES.get(english, english or "")
        else:
            name = estimated_names(day.year, language).get(day, "")
        if name:
            names[day] = _shown_name(name, kind == "makeup_workday")
    return names
