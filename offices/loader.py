"""`flask offices load FILE`: create or update offices, windows, hours, capacities and
peak-day rules from a TOML file (docs/api.md §4). Idempotent: loading the same file twice
gives the same data. Every error names the key that is wrong."""

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import select

from core.clock import is_hhmm
from core.database import write_transaction
from core.extensions import db
from offices.models import GLOBAL_SCOPE, Office, OfficeService, PeakDayRule, Service, Window
from offices.queries import find_office

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOUR_KEYS = (*WEEKDAYS, "makeup")
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
END_OF_DAY = "24:00"  # a period may end at midnight
MMDD_RE = re.compile(r"^(\d{2})-(\d{2})$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class OfficeFileError(ValueError):
    """The office file is wrong; the message names the key."""


@dataclass
class LoadReport:
    offices_created: list[str] = field(default_factory=list)
    offices_updated: list[str] = field(default_factory=list)
    windows: int = 0
    peak_rules: int = 0

    def summary(self) -> str:
        return (f"{len(self.offices_created)} office(s) created, "
                f"{len(self.offices_updated)} updated, {self.windows} window(s), "
                f"{self.peak_rules} peak-day rule(s)")


def _fail(where: str, message: str) -> None:
    raise OfficeFileError(f"{where}: {message}")


def parse_period(text: object, where: str) -> tuple[str, str]:
    start, _dash, end = text.partition("-") if isinstance(text, str) else ("", "", "")
    if not (is_hhmm(start) and (is_hhmm(end) or end == END_OF_DAY)):
        _fail(where, f"{text!r} is not a period like \"09:00-12:00\"")
    if end <= start:
        _fail(where, f"{text!r} ends before it starts")
    return start, end


def parse_periods(value: object, where: str) -> list[str]:
    if not isinstance(value, list):
        _fail(where, "must be a list of periods like [\"09:00-12:00\", \"13:30-17:00\"]")
    periods = [parse_period(item, f"{where}[{i}]") for i, item in enumerate(value)]
    for i in range(1, len(periods)):
        if periods[i][0] < periods[i - 1][1]:
            _fail(f"{where}[{i}]", "periods must be in order and must not overlap")
    return [f"{s}-{e}" for s, e in periods]


def _check_month_day(text: str, where: str) -> None:
    month, day = int(text[:2]), int(text[3:])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        _fail(where, f"{text!r} is not a month and day")


def parse_dates(value: object, where: str, lunar: bool = False) -> list[str]:
    if not isinstance(value, list):
        _fail(where, "must be a list of dates")
    out = []
    for i, item in enumerate(value):
        here = f"{where}[{i}]"
        if not isinstance(item, str):
            _fail(here, "must be a string")
        if MMDD_RE.match(item):
            _check_month_day(item, here)
        elif DATE_RE.match(item) and not lunar:
            from datetime import date

            try:
                date.fromisoformat(item)
            except ValueError:
                _fail(here, f"{item!r} is not a date")
        else:
            _fail(here, f"{item!r} is not \"MM-DD\"" + ("" if lunar else " or \"YYYY-MM-DD\""))
        out.append(item)
    return out


def _str(table: dict, key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if value is None:
        _fail(where, f"the key {key!r} is required")
    if not isinstance(value, str):
        _fail(f"{where}.{key}", "must be a string")
    return value


def _int(table: dict, key: str, where: str, default: int, minimum: int = 0) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(f"{where}.{key}", f"must be a whole number of at least {minimum}")
    return value


def _bool(table: dict, key: str, where: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        _fail(f"{where}.{key}", "must be true or false")
    return value


def ensure_services() -> dict[str, Service]:
    """The service catalogue from settings (SERVICES), created or updated."""
    existing = {s.code: s for s in db.session.scalars(select(Service))}
    for item in current_app.config["SERVICES"]:
        service = existing.get(item["code"])
        if service is None:
            service = Service(code=item["code"])
            db.session.add(service)
            existing[item["code"]] = service
        service.name = item["name"]
        service.name_en = item.get("name_en", "")
        service.applicants = item["applicants"]
        service.min_applicants = item.get("min_applicants", item["applicants"])
        service.ticket_prefix = item["ticket_prefix"]
    db.session.flush()
    return existing


def _apply_office(data: dict, where: str, services: dict[str, Service],
                  report: LoadReport) -> Office:
    code = _str(data, "code", where)
    if not CODE_RE.match(code):
        _fail(f"{where}.code", f"{code!r} must be lower-case letters, digits, - or _")
    office = find_office(code, active_only=False)
    if office is None:
        office = Office(code=code)
        db.session.add(office)
        report.offices_created.append(code)
    else:
        report.offices_updated.append(code)
    office.name = _str(data, "name", where)
    for key in ("name_en", "address", "address_en", "phone", "supervision_phone", "jurisdiction",
                "jurisdiction_en"):
        setattr(office, key, _str(data, key, where, ""))
    tz = _str(data, "timezone", where, "Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        _fail(f"{where}.timezone", f"{tz!r} is not a known time zone")
    office.timezone = tz
    office.slot_minutes = _int(data, "slot_minutes", where, 30, minimum=5)
    office.booking_days_ahead = _int(data, "booking_days_ahead", where, 30)
    office.ticket_lead_minutes = _int(data, "ticket_lead_minutes", where,
                                      current_app.config["TICKET_LEAD_MINUTES"])
    office.requeue_after = _int(data, "requeue_after", where, 3)
    office.open_on_holidays = _bool(data, "open_on_holidays", where, False)
    office.open_on_peak_days = _bool(data, "open_on_peak_days", where, True)
    office.accepts_cross_border = _bool(data, "accepts_cross_border", where, False)
    office.active = _bool(data, "active", where, True)

    hours = data.get("hours", {})
    if not isinstance(hours, dict):
        _fail(f"{where}.hours", "must be a table of weekday = [periods]")
    for key in hours:
        if key not in HOUR_KEYS:
            _fail(f"{where}.hours.{key}", f"unknown day; use one of {', '.join(HOUR_KEYS)}")
    office.hours = {key: parse_periods(hours[key], f"{where}.hours.{key}") for key in hours}

    offered = data.get("services")
    if not isinstance(offered, list) or not offered:
        _fail(f"{where}.services", "must list at least one service code")
    capacity = data.get("capacity", {})
    if not isinstance(capacity, dict):
        _fail(f"{where}.capacity", "must be a table of service = seats")
    for i, service_code in enumerate(offered):
        if service_code not in services:
            _fail(f"{where}.services[{i}]",
                  f"unknown service {service_code!r}; known: {', '.join(services)}")
    # seats per slot on peak days for the services named (group ceremonies): replaces
    # capacity × the peak day's capacity_factor for them
    peak_capacity = data.get("peak_capacity", {})
    if not isinstance(peak_capacity, dict):
        _fail(f"{where}.peak_capacity", "must be a table of service = seats on peak days")
    for key, table in (("capacity", capacity), ("peak_capacity", peak_capacity)):
        for service_code in table:
            if service_code not in offered:
                _fail(f"{where}.{key}.{service_code}", "is not one of this office's services")
    by_code = {item.service_code: item for item in office.services}
    for position, service_code in enumerate(offered):
        item = by_code.pop(service_code, None)
        if item is None:
            item = OfficeService(service_code=service_code)
            office.services.append(item)
        item.capacity = _int(capacity, service_code, f"{where}.capacity", 0)
        item.peak_capacity = (_int(peak_capacity, service_code, f"{where}.peak_capacity", 0)
                              if service_code in peak_capacity else None)
        item.position = position
        item.active = True
    for item in by_code.values():  # no longer offered: kept for history, switched off
        item.active = False

    windows = data.get("windows", [])
    if not isinstance(windows, list):
        _fail(f"{where}.windows", "must be a list of [[offices.windows]] tables")
    by_number = {w.number: w for w in office.windows}
    seen = set()
    for position, window_data in enumerate(windows):
        here = f"{where}.windows[{position}]"
        if not isinstance(window_data, dict):
            _fail(here, "must be a table")
        number = window_data.get("number")
        if isinstance(number, int) and not isinstance(number, bool):
            number = str(number)
        if not isinstance(number, str) or not number.strip():
            _fail(f"{here}.number", "is required, for example \"1\"")
        if number in seen:
            _fail(f"{here}.number", f"window {number!r} appears twice")
        seen.add(number)
        window_services = window_data.get("services", offered)
        if not isinstance(window_services, list):
            _fail(f"{here}.services", "must be a list of service codes")
        for j, service_code in enumerate(window_services):
            if service_code not in offered:
                _fail(f"{here}.services[{j}]", f"{service_code!r} is not offered by this office")
        window = by_number.pop(number, None)
        if window is None:
            window = Window(number=number)
            office.windows.append(window)
        window.services = list(window_services)
        window.backup = _bool(window_data, "backup", here, False)
        window.position = position
        window.active = True
        report.windows += 1
    for window in by_number.values():
        window.active = False
    db.session.flush()
    return office


def _apply_peak_rule(data: dict, where: str, scope: str, office: Office | None,
                     report: LoadReport) -> PeakDayRule:
    code = _str(data, "code", where)
    rule = db.session.scalar(
        select(PeakDayRule).where(PeakDayRule.scope == scope, PeakDayRule.code == code))
    if rule is None:
        rule = PeakDayRule(scope=scope, code=code)
        db.session.add(rule)
    rule.office_id = office.id if office else None
    rule.name = _str(data, "name", where)
    rule.name_en = _str(data, "name_en", where, "")
    rule.dates = parse_dates(data.get("dates", []), f"{where}.dates")
    rule.lunar = parse_dates(data.get("lunar", []), f"{where}.lunar", lunar=True)
    if not rule.dates and not rule.lunar:
        _fail(where, "give at least one of dates or lunar")
    rule.hours = parse_periods(data.get("hours", []), f"{where}.hours")
    factor = data.get("capacity_factor", 1.0)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or factor < 1:
        _fail(f"{where}.capacity_factor", "must be a number of at least 1")
    rule.capacity_factor = float(factor)
    rule.open_backup_windows = _bool(data, "open_backup_windows", where, True)
    rule.active = _bool(data, "active", where, True)
    report.peak_rules += 1
    return rule


def load_offices(text: str) -> LoadReport:
    """Apply an office file. Raises OfficeFileError (nothing is saved) when it is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise OfficeFileError(f"not valid TOML: {error}") from error
    report = LoadReport()
    # one write transaction: the web may be booking meanwhile (SQLite: the write lock is
    # taken first, so no read here is followed by a refused write)
    with write_transaction():
        services = ensure_services()
        offices = data.get("offices", [])
        if not isinstance(offices, list):
            _fail("offices", "must be a list of [[offices]] tables")
        codes = set()
        for i, office_data in enumerate(offices):
            where = f"offices[{i}]"
            if not isinstance(office_data, dict):
                _fail(where, "must be a table")
            office = _apply_office(office_data, where, services, report)
            if office.code in codes:
                _fail(f"{where}.code", f"office {office.code!r} appears twice")
            codes.add(office.code)
            for j, rule_data in enumerate(office_data.get("peak_days", [])):
                _apply_peak_rule(rule_data, f"{where}.peak_days[{j}]", office.code, office,
                                 report)
        for i, rule_data in enumerate(data.get("peak_days", [])):
            if not isinstance(rule_data, dict):
                _fail(f"peak_days[{i}]", "must be a table")
            _apply_peak_rule(rule_data, f"peak_days[{i}]", GLOBAL_SCOPE, None, report)
    return report


def load_offices_file(path: str | Path) -> LoadReport:
    return load_offices(Path(path).read_text(encoding="utf-8"))
