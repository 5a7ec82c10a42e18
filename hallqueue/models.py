"""Tickets, their daily numbering, and the calls that the hall display shows."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from core.clock import utcnow
from core.extensions import db
from core.privacy import Encrypted, register_encrypted, secret_hash
from core.types import UTCDateTime

PRIORITY_BOOKED, PRIORITY_GREEN, PRIORITY_WALK_IN = 0, 1, 2
# the 五不办, then the two commonest legal refusals (已有配偶; 直系血亲或三代以内旁系血亲)
REFUSAL_REASONS = ("under_age", "not_present", "documents_incomplete", "no_civil_capacity",
                   "not_voluntary", "already_married", "prohibited_kinship")


class TicketCounter(db.Model):
    """The last number issued per office, day and service: `UPDATE … RETURNING` on it gives
    numbers without gaps or duplicates."""

    __tablename__ = "ticket_counters"

    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"),
                                           primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"), primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("office_id", "date", "number"),
        UniqueConstraint("appointment_id"),  # one ticket per appointment
        CheckConstraint("status IN ('waiting', 'called', 'completed', 'no_show')",
                        name="status"),
        CheckConstraint("outcome IS NULL OR outcome IN ('registered', 'refused')",
                        name="outcome"),
        CheckConstraint("priority IN (0, 1, 2)", name="priority"),
        # the green walk-in tier is only for green-channel tickets
        CheckConstraint("priority <> 1 OR green_channel", name="green_priority"),
        Index("ix_tickets_queue", "office_id", "date", "status", "priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The status page's secret (/t/<token>): found by its keyed hash, kept encrypted for
    # the desk's reprint of the ticket.
    token: Mapped[str] = mapped_column("token_enc", Encrypted(), key="token")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    date: Mapped[date] = mapped_column(Date)
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"))
    number: Mapped[str] = mapped_column(String(8))  # "J001"
    sequence: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    priority: Mapped[int] = mapped_column(default=PRIORITY_WALK_IN)
    green_channel: Mapped[bool] = mapped_column(default=False)
    slot_start: Mapped[str | None] = mapped_column(String(5))  # booked tickets: order by slot
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    party_hashes: Mapped[list] = mapped_column(JSON, default=list)  # keyed hashes of those present
    # E.164, for "your turn" SMS; encrypted at rest
    phone: Mapped[str] = mapped_column("phone_enc", Encrypted(), key="phone", default="")
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id"))
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    called_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    call_count: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))
    refusal_reason: Mapped[str | None] = mapped_column(String(32))
    near_turn_sms_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A transfer puts the ticket back in the queue, ahead of the others: to a service (any
    # window that serves it) or to one window (only that window calls it).
    transferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    target_window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id"))
    source: Mapped[str] = mapped_column(String(8), default="desk")  # desk | kiosk | api
    # 过号 requeue (hallqueue.ordering): the ticket waits right behind the queue place of
    # `requeue_anchor` (a ticket that was never requeued itself), `requeue_rank` orders the
    # tickets requeued behind the same anchor.
    requeued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    requeue_anchor_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    requeue_rank: Mapped[float | None] = mapped_column(Float)

    @validates("token")
    def _hash_token(self, _key: str, token: str) -> str:
        self.token_hash = secret_hash(token)
        return token


class CallEvent(db.Model):
    """Each call and recall, newest last: the hall display's history and live feed."""

    __tablename__ = "call_events"
    __table_args__ = (Index("ix_call_events_office_at", "office_id", "called_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    window_number: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(8), default="call")  # call | recall
    called_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


register_encrypted(Ticket, "token", "phone")
