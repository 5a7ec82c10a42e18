"""The SMS outbox: a message is a row written in the same transaction as its cause."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import db
from core.types import UTCDateTime

MESSAGE_STATUSES = ("pending", "sending", "sent", "delivered", "failed", "undelivered")


class OutboxMessage(db.Model):
    """One SMS. Life: pending -> sending (claimed by one dispatcher until `claimed_until`)
    -> sent (handed to the provider) -> delivered / undelivered / failed (Twilio's status
    callback); a retryable error puts it back to pending with a later `next_attempt_at`, a
    permanent one makes it failed with the provider's `error_code`."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'undelivered')",
            name="status"),
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        Index("ix_outbox_messages_to_phone", "to_phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to_phone: Mapped[str] = mapped_column(String(20))  # E.164
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))  # booking_confirmed, reminder, …
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(32))  # which dispatcher holds it
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    provider_status: Mapped[str | None] = mapped_column(String(16))  # Twilio's own word
    backend: Mapped[str | None] = mapped_column(String(16))  # console | twilio
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SmsOptOut(db.Model):
    """A number that answered 退订/TD/STOP: no reminders or notices, only confirmations of
    the person's own actions."""

    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(16), default="inbound")  # inbound | twilio_21610
