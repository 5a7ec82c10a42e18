"""The SMS outbox: a message is a row written in the same transaction as its cause."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from core.clock import utcnow
from core.extensions import db
from core.privacy import Encrypted, register_encrypted, secret_hash
from core.types import UTCDateTime

MESSAGE_STATUSES = ("pending", "sending", "sent", "delivered", "failed", "undelivered")


class OutboxMessage(db.Model):
    """One SMS. Life: pending -> sending (claimed by one dispatcher until `claimed_until`)
    -> sent (handed to the provider) -> delivered / undelivered / failed (Twilio's status
    callback); a retryable error puts it back to pending with a later `next_attempt_at`, a
    permanent one makes it failed with the provider's `error_code`.

    The number and the text are encrypted at rest (the text is read only by the sender, at
    send time: it is not loaded with the row); messages to a number are found by
    `to_phone_hash`, the keyed hash of its E.164 form."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'undelivered')",
            name="status"),
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        Index("ix_outbox_messages_to_phone_hash", "to_phone_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to_phone: Mapped[str] = mapped_column("to_phone_enc", Encrypted(), key="to_phone")  # E.164
    to_phone_hash: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column("body_enc", Encrypted(), key="body", deferred=True)
    kind: Mapped[str] = mapped_column(String(32))  # booking_confirmed, reminder, …
    # JSON {"language", "values"}: what a template provider (aliyun, tencent) fills into
    # the kind's template; "" for a text queued without them (notify.messages.SmsText)
    params: Mapped[str] = mapped_column("params_enc", Encrypted(), key="params", default="",
                                        server_default="", deferred=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(32))  # which dispatcher holds it
    # the provider's id of the message: Twilio's SID, Alibaba Cloud's BizId, Tencent
    # Cloud's SerialNo (the column keeps its first provider's name)
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    provider_status: Mapped[str | None] = mapped_column(String(16))  # in Twilio's words
    backend: Mapped[str | None] = mapped_column(String(16))  # console | twilio | aliyun | tencent
    # the provider's code (21211, isv.MOBILE_NUMBER_ILLEGAL, LimitExceeded.DailyLimit …)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @validates("to_phone")
    def _hash_phone(self, _key: str, phone: str) -> str:
        self.to_phone_hash = secret_hash(phone) if phone else ""
        return phone


class SmsOptOut(db.Model):
    """A number that answered 退订/TD/STOP: no reminders or notices, only confirmations of
    the person's own actions. Found by the keyed hash of the number (E.164); the number
    itself is kept encrypted."""

    __tablename__ = "sms_opt_outs"

    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone: Mapped[str] = mapped_column("phone_enc", Encrypted(), key="phone", default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(16), default="inbound")  # inbound | twilio_21610

    @validates("phone")
    def _hash_phone(self, _key: str, phone: str) -> str:
        self.phone_hash = secret_hash(phone)
        return phone


register_encrypted(OutboxMessage, "to_phone", "body", "params")
register_encrypted(SmsOptOut, "phone")
