"""The audit log (有据可查): every staff action, with who, when and what."""

from dataclasses import dataclass
from datetime import datetime

from flask import has_request_context, request
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.database import write_transaction
from core.extensions import db
from core.types import UTCDateTime


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(64), default="")
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id", ondelete="SET NULL"),
                                                  index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)  # e.g. "ticket.call"
    target: Mapped[str] = mapped_column(String(128), default="")  # e.g. "ticket:42"
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # never an ID number
    ip: Mapped[str] = mapped_column(String(64), default="")


@dataclass(frozen=True)
class Actor:
    """Who acted, as an audit entry records them: taken from the staff member before a
    write transaction, whose first commit would otherwise make the entry reload the user."""

    id: int | None
    username: str


def audit_actor(user) -> Actor:
    return Actor(getattr(user, "id", None), getattr(user, "username", "") or "")


def audit_row(user, action: str, target: str = "", office_id: int | None = None,
              **details) -> dict:
    """An audit entry's column values (its time is the column's default): `record_audit`
    adds them to the session, a call at a window inserts them itself."""
    return {"user_id": getattr(user, "id", None),
            "username": getattr(user, "username", "") or "", "office_id": office_id,
            "action": action, "target": target, "details": details,
            "ip": (request.remote_addr or "") if has_request_context() else ""}


def record_audit(user, action: str, target: str = "", office_id: int | None = None,
                 **details) -> AuditEntry:
    """Add an audit entry to the current transaction (the caller commits)."""
    entry = AuditEntry(**audit_row(user, action, target, office_id, **details))
    db.session.add(entry)
    return entry


def record_view(user, action: str, target: str, office_id: int | None, **details) -> None:
    """Audit one staff view of unmasked personal data (a full name, ID number or phone:
    docs/api.md §3.4) in its own write transaction, committed at once. Call it after the
    page or file is made and before it is sent, so that nothing is shown unaudited.
    `target` and `details` name the appointment code or ticket number, never the data."""
    with write_transaction():
        record_audit(user, action, target, office_id, **details)
