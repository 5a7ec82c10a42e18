"""The admins' changes to the calendar: per-office overrides, peak-day rules, the state's
yearly notice. Each change is one transaction with its audit entry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.audit import record_audit
from core.database import write_transaction
from core.extensions import db
from hours.calendar import official_data_available
from hours.models import CalendarOverride, HolidayNotice, StateDay
from offices.loader import CODE_RE, OfficeFileError, parse_dates, parse_periods
from offices.models import GLOBAL_SCOPE, Office, PeakDayRule
from offices.queries import find_office

SPLIT_RE = re.compile(r"[\s,，、;；]+")
MAX_STATE_DAY_RANGE = 60
MAX_CAPACITY_FACTOR = 10.0


def _(text: str, **values) -> str:
    """gettext in a request (the admin's language); the Chinese text elsewhere."""
    if has_request_context():
        return gettext(text, **values)
    return text % values if values else text


class CalendarAdminError(ValueError):
    """A change that cannot be made; the message says what to fix (shown to the admin)."""


# --- parsing the admins' text -------------------------------------------------------------

def split_list(text: str | None) -> list[str]:
    """"09:00-12:00, 13:30-17:00" or one per line -> ["09:00-12:00", "13:30-17:00"]."""
    return [item for item in SPLIT_RE.split(text or "") if item]


def _periods(text: str | None, required: bool) -> list[str]:
    items = split_list(text)
    if not items:
        if required:
            raise CalendarAdminError(_("请填写办公时段，例如 09:00-12:00, 13:30-17:00。"))
        return []
    try:
        return parse_periods(items, "hours")
    except OfficeFileError:
        raise CalendarAdminError(_(
            "办公时段格式应为 09:00-12:00，多个时段用逗号分隔，按时间先后排列且不重叠，"
            "结束时间要晚于开始时间。")) from None


def _dates(text: str | None, lunar: bool) -> list[str]:
    items = split_list(text)
    try:
        return parse_dates(items, "dates", lunar=lunar)
    except OfficeFileError:
        if lunar:
            raise CalendarAdminError(_("农历日期格式应为 MM-DD，例如七夕为 07-07。")) from None
        raise CalendarAdminError(_(
            "日期格式应为 MM-DD（每年）或 YYYY-MM-DD（仅一天），多个日期用逗号分隔。")) from None


# --- overrides ----------------------------------------------------------------------------

def overrides_for(office: Office, start: date | None = None) -> list[CalendarOverride]:
    query = select(CalendarOverride).where(CalendarOverride.office_id == office.id)
    if start is not None:
        query = query.where(CalendarOverride.date >= start)
    return list(db.session.scalars(query.order_by(CalendarOverride.date)))


def save_override(user, office: Office, day: date, closed: bool, hours_text: str | None,
                  note: str) -> CalendarOverride:
    """Create or replace the override of `office` on `day`."""
    hours = [] if closed else _periods(hours_text, required=True)
    note = (note or "").strip()[:256]
    with write_transaction():
        row = db.session.scalar(select(CalendarOverride).where(
            CalendarOverride.office_id == office.id, CalendarOverride.date == day))
        action = "calendar.override.update" if row else "calendar.override.create"
        if row is None:
            row = CalendarOverride(office_id=office.id, date=day,
                                   created_by_id=getattr(user, "id", None))
            db.session.add(row)
        row.closed = closed
        row.hours = hours
        row.note = note
        record_audit(user, action, f"office:{office.code}:{day.isoformat()}",
                     office_id=office.id, date=day.isoformat(), closed=closed, hours=hours,
                     note=note)
    return row


def delete_override(user, office: Office, override_id: int) -> date:
    with write_transaction():
        row = db.session.get(CalendarOverride, override_id)
        if row is None or row.office_id != office.id:
            raise CalendarAdminError(_("这条特殊安排不存在或已删除。"))
        day = row.date
        record_audit(user, "calendar.override.delete", f"office:{office.code}:{day.isoformat()}",
                     office_id=office.id, date=day.isoformat(), closed=row.closed,
                     hours=list(row.hours or []), note=row.note)
        db.session.delete(row)
    return day


# --- peak-day rules -----------------------------------------------------------------------

@dataclass
class PeakRuleInput:
    scope: str
    code: str
    name: str
    name_en: str = ""
    dates: str = ""
    lunar: str = ""
    hours: str = ""
    capacity_factor: float = 1.0
    open_backup_windows: bool = True
    active: bool = True


def peak_rules(scope: str | None = None) -> list[PeakDayRule]:
    query = select(PeakDayRule).order_by(PeakDayRule.scope, PeakDayRule.code)
    if scope is not None:
        query = query.where(PeakDayRule.scope.in_((GLOBAL_SCOPE, scope)))
    return list(db.session.scalars(query))


def save_peak_rule(user, data: PeakRuleInput, rule_id: int | None = None) -> PeakDayRule:
    code = (data.code or "").strip()
    if not CODE_RE.match(code):
        raise CalendarAdminError(_("代码只能用小写字母、数字、- 或 _，例如 qixi。"))
    name = (data.name or "").strip()
    if not name:
        raise CalendarAdminError(_("请填写高峰日名称。"))
    office = None
    if data.scope != GLOBAL_SCOPE:
        office = find_office(data.scope, active_only=False)
        if office is None:
            raise CalendarAdminError(_("适用范围不是已知的登记处。"))
    dates = _dates(data.dates, lunar=False)
    lunar = _dates(data.lunar, lunar=True)
    if not dates and not lunar:
        raise CalendarAdminError(_("请至少填写一个公历日期或农历日期。"))
    hours = _periods(data.hours, required=False)
    try:
        factor = float(data.capacity_factor)
    except (TypeError, ValueError):
        factor = 0.0
    if not 1.0 <= factor <= MAX_CAPACITY_FACTOR:
        raise CalendarAdminError(_("名额倍数应在 1 到 %(max)s 之间。", max=int(MAX_CAPACITY_FACTOR)))
    with write_transaction():
        rule = None
        if rule_id is not None:
            rule = db.session.get(PeakDayRule, rule_id)
            if rule is None:
                raise CalendarAdminError(_("这条高峰日规则不存在。"))
        clash = db.session.scalar(select(PeakDayRule).where(
            PeakDayRule.scope == data.scope, PeakDayRule.code == code))
        if clash is not None and clash is not rule:
            raise CalendarAdminError(_("同一适用范围内已有代码为 %(code)s 的规则，请改为编辑它。",
                                       code=code))
        action = "calendar.peak_rule.update" if rule else "calendar.peak_rule.create"
        if rule is None:
            rule = PeakDayRule()
        rule.scope = data.scope
        rule.office_id = office.id if office else None
        rule.code = code
        rule.name = name[:64]
        rule.name_en = (data.name_en or "").strip()[:64]
        rule.dates = dates
        rule.lunar = lunar
        rule.hours = hours
        rule.capacity_factor = factor
        rule.open_backup_windows = bool(data.open_backup_windows)
        rule.active = bool(data.active)
        db.session.add(rule)
        record_audit(user, action, f"peak_rule:{data.scope}:{code}",
                     office_id=office.id if office else None, scope=data.scope, code=code,
                     name=rule.name, dates=dates, lunar=lunar, hours=hours,
                     capacity_factor=factor, open_backup_windows=rule.open_backup_windows,
                     active=rule.active)
    return rule


# --- the state's yearly notice ------------------------------------------------------------

@dataclass(frozen=True)
class YearStatus:
    year: int
    bundled: bool  # chinesecalendar has the official data
    notice: HolidayNotice | None
    days: list[StateDay]


def year_status(year: int) -> YearStatus:
    days = list(db.session.scalars(select(StateDay).where(
        StateDay.date >= date(year, 1, 1), StateDay.date <= date(year, 12, 31))
        .order_by(StateDay.date)))
    return YearStatus(year=year, bundled=official_data_available(year),
                      notice=db.session.get(HolidayNotice, year), days=days)


def add_state_days(user, start: date, end: date | None, kind: str, name: str) -> list[StateDay]:
    """Enter the days start..end (inclusive) of the notice as holidays or make-up days."""
    end = end or start
    if kind not in ("holiday", "makeup_workday"):
        raise CalendarAdminError(_("请选择“放假”或“调休上班”。"))
    if end < start:
        raise CalendarAdminError(_("结束日期不能早于开始日期。"))
    if (end - start).days >= MAX_STATE_DAY_RANGE:
        raise CalendarAdminError(_("一次最多录入 %(n)s 天。", n=MAX_STATE_DAY_RANGE))
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    if kind == "makeup_workday":
        weekdays = [d for d in days if d.weekday() < 5]
        if weekdays:
            raise CalendarAdminError(_(
                "调休上班日应是周六或周日：%(day)s 是工作日。", day=weekdays[0].isoformat()))
    name = (name or "").strip()[:64]
    rows = []
    with write_transaction():
        existing = {row.date: row for row in db.session.scalars(
            select(StateDay).where(StateDay.date >= start, StateDay.date <= end))}
        for day in days:
            row = existing.get(day)
            if row is None:
                row = StateDay(date=day)
                db.session.add(row)
            row.kind = kind
            row.name = name
            row.entered_by_id = getattr(user, "id", None)
            rows.append(row)
        record_audit(user, "calendar.state_days.enter", f"state_days:{start}..{end}",
                     start=start.isoformat(), end=end.isoformat(), kind=kind, name=name)
    return rows


def delete_state_day(user, day: date) -> None:
    with write_transaction():
        row = db.session.get(StateDay, day)
        if row is None:
            raise CalendarAdminError(_("这一天没有录入。"))
        record_audit(user, "calendar.state_day.delete", f"state_day:{day.isoformat()}",
                     date=day.isoformat(), kind=row.kind, name=row.name)
        db.session.delete(row)


def confirm_year(user, year: int, note: str = "") -> HolidayNotice:
    """Confirm that the year's notice is fully entered (HolidayNotice): from then on the
    year's other days are plain workdays and weekends, no longer estimates."""
    already = _("%(year)s 年的节假日安排已经确认过了。", year=year)
    try:
        with write_transaction():  # checked and confirmed at once
            status = year_status(year)
            if status.notice is not None:
                raise CalendarAdminError(already)
            if not status.bundled and not any(d.kind == "holiday" for d in status.days):
                raise CalendarAdminError(_("请先录入 %(year)s 年的放假日期，再确认。", year=year))
            notice = HolidayNotice(year=year, confirmed_by_id=getattr(user, "id", None),
                                   note=(note or "").strip()[:256])
            db.session.add(notice)
            record_audit(user, "calendar.notice.confirm", f"holiday_notice:{year}", year=year,
                         holidays=sum(d.kind == "holiday" for d in status.days),
                         makeup_days=sum(d.kind == "makeup_workday" for d in status.days))
    except IntegrityError:  # PostgreSQL: another admin confirmed it in the same instant
        raise CalendarAdminError(already) from None
    return notice


def withdraw_confirmation(user, year: int) -> None:
    with write_transaction():
        notice = db.session.get(HolidayNotice, year)
        if notice is None:
            raise CalendarAdminError(_("%(year)s 年尚未确认。", year=year))
        record_audit(user, "calendar.notice.withdraw", f"holiday_notice:{year}", year=year)
        db.session.delete(notice)
