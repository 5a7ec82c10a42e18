"""The SMS outbox's part of the `retention-purge` job (scheduler.retention): a sent message
keeps its kind, status and times, but not the phone number (encrypted, and its keyed hash),
the text and the template values (encrypted)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, update

from core.clock import zone
from core.database import write_transaction
from core.extensions import db
from notify.models import OutboxMessage


def purge_messages(cutoff: date) -> int:
    """Empty the recipient and text of SMS sent (or given up) before `cutoff`."""
    before = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=zone())
    with write_transaction():
        return db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.created_at < before,
                   OutboxMessage.status.not_in(("pending", "sending")),
                   or_(OutboxMessage.to_phone != "", OutboxMessage.body != ""))
            .values(to_phone="", to_phone_hash="", body="", params="")
            .execution_options(synchronize_session=False)).rowcount
