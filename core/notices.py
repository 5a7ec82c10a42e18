"""System notices: warnings a job raises for the administrators, shown on the staff home
page until they are resolved (for instance: next year's holiday notice is missing). Any
feature's job may raise one; the scheduler's pages show them.

A notice has a stable code (one row per problem), so raising it again only refreshes it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import JSON, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import wall_now
from core.database import write_transaction
from core.extensions import db
from core.types import UTCDateTime


class SystemNotice(db.Model):
    """A warning for the administrators (for instance: next year's holiday notice is
    missing), raised by a job and shown on the staff home page until it is resolved."""

    __tablename__ = "system_notices"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def raise_notice(code: str, kind: str, message: str, params: dict | None = None) -> bool:
    """Record (or refresh) an open notice; True when it is new or was resolved before."""
    now = wall_now()
    with write_transaction():
        notice = db.session.get(SystemNotice, code)
        if notice is None:
            db.session.add(SystemNotice(code=code, kind=kind, message=message,
                                        params=params or {}, raised_at=now, checked_at=now))
            return True
        reopened = notice.resolved_at is not None
        notice.kind, notice.message, notice.params = kind, message, params or {}
        notice.checked_at = now
        if reopened:
            notice.raised_at, notice.resolved_at = now, None
        return reopened


def resolve_notices(kind: str, settled: Callable[[SystemNotice], bool]) -> int:
    """Resolve the open notices of `kind` for which `settled(notice)` is true; how many."""
    now = wall_now()
    with write_transaction():
        open_notices = db.session.scalars(
            select(SystemNotice).where(SystemNotice.kind == kind,
                                       SystemNotice.resolved_at.is_(None))).all()
        resolved = 0
        for notice in open_notices:
            if settled(notice):
                notice.resolved_at = now
                resolved += 1
        return resolved
