"""Reading the audit log (core.audit.AuditEntry): filters, pages and CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from core.audit import AuditEntry
from core.clock import DEFAULT_TIMEZONE, to_local, zone
from core.extensions import db
from offices.models import Office

PAGE_SIZE = 100
CSV_LIMIT = 100_000


@dataclass(frozen=True)
class AuditFilter:
    office_id: int | None = None
    username: str = ""
    action: str = ""  # exact, or "prefix.*" for a family of actions
    start: date | None = None  # local dates (Beijing time), both included
    end: date | None = None


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone(DEFAULT_TIMEZONE))


def audit_query(filters: AuditFilter, office_scope: list[int] | None):
    """Entries matching `filters`, newest first; `office_scope` (an office admin's office)
    limits them to those offices."""
    query = select(AuditEntry)
    if office_scope is not None:
        query = query.where(AuditEntry.office_id.in_(office_scope))
    if filters.office_id is not None:
        query = query.where(AuditEntry.office_id == filters.office_id)
    if filters.username:
        query = query.where(AuditEntry.username == filters.username)
    if filters.action.endswith(".*"):
        query = query.where(AuditEntry.action.startswith(filters.action[:-1], autoescape=True))
    elif filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.start is not None:
        query = query.where(AuditEntry.at >= _local_midnight(filters.start))
    if filters.end is not None:
        query = query.where(AuditEntry.at < _local_midnight(filters.end + timedelta(days=1)))
    return query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def audit_page(filters: AuditFilter, office_scope: list[int] | None,
               page: int = 1) -> tuple[list[AuditEntry], int]:
    query = audit_query(filters, office_scope)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return list(rows), int(total or 0)


def known_actions(office_scope: list[int] | None) -> list[str]:
    query = select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    if office_scope is not None:
        query = query.where(AuditEntry.office_id.in_(office_scope))
    actions = list(db.session.scalars(query))
    families = sorted({a.split(".")[0] + ".*" for a in actions if "." in a})
    return families + actions


def known_usernames(office_scope: list[int] | None) -> list[str]:
    query = select(AuditEntry.username).distinct().order_by(AuditEntry.username)
    if office_scope is not None:
        query = query.where(AuditEntry.office_id.in_(office_scope))
    return [name for name in db.session.scalars(query) if name]


CSV_HEADER = ("time", "username", "office", "action", "target", "details", "ip")


def audit_csv(filters: AuditFilter, office_scope: list[int] | None) -> str:
    """The matching entries as CSV (UTF-8, local time with offset), newest first."""
    codes = dict(db.session.execute(select(Office.id, Office.code)).all())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for entry in db.session.scalars(audit_query(filters, office_scope).limit(CSV_LIMIT)):
        writer.writerow([
            to_local(entry.at).isoformat(timespec="seconds"), entry.username,
            codes.get(entry.office_id, "") if entry.office_id else "", entry.action,
            entry.target, json.dumps(entry.details or {}, ensure_ascii=False, sort_keys=True),
            entry.ip])
    return out.getvalue()
