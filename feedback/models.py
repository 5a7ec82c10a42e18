"""Service quality data: 好差评 ratings and their SMS invitations, follow-up cases for bad
ratings, the suggestion box, and the registrars' public profiles (photo, on duty)."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.extensions import db
from core.privacy import Encrypted, HashedSecret, register_encrypted
from core.types import UTCDateTime

# 政务服务"好差评" (国办发〔2019〕51号): five levels, 5 best.
RATING_LEVELS = (5, 4, 3, 2, 1)
SATISFIED_LEVELS = (4, 5)  # 满意率 = levels 4–5 / all ratings
BAD_LEVELS = (1, 2)  # 不满意, 非常不满意: each opens a follow-up case

CASE_STATUSES = ("open", "in_progress", "resolved")

SUGGESTION_CATEGORIES = ("complaint", "advice", "praise", "booking", "environment", "other")


class Rating(db.Model):
    """One rating of one completed ticket: the unique constraint on ticket_id is what makes
    "one rating per service" true under any race (tablet and SMS at once)."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("ticket_id"),
        CheckConstraint("level BETWEEN 1 AND 5", name="level"),
        CheckConstraint("channel IN ('tablet', 'sms')", name="channel"),
        Index("ix_ratings_office_date", "office_id", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    service_code: Mapped[str] = mapped_column(String(32))
    date: Mapped[date] = mapped_column(Date)  # the ticket's (service) day, office local
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id", ondelete="SET NULL"))
    registrar_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    level: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RatingInvite(db.Model):
    """The secret of an SMS "rate us later" link (/rate/t/<token>), one per ticket. Only
    its keyed hash is stored: the link is given once, in the SMS (encrypted in the outbox)."""

    __tablename__ = "rating_invites"
    __table_args__ = (UniqueConstraint("ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token = HashedSecret("token_hash")
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FollowUpCase(db.Model):
    """The follow-up of a bad rating (差评回访整改), due a number of working days after the
    rating (FOLLOW_UP_WORKING_DAYS)."""

    __tablename__ = "follow_up_cases"
    __table_args__ = (
        UniqueConstraint("rating_id"),
        CheckConstraint("status IN ('open', 'in_progress', 'resolved')", name="status"),
        Index("ix_follow_up_cases_office_status", "office_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("ratings.id", ondelete="CASCADE"))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_on: Mapped[date] = mapped_column(Date)  # office-local day of the rating
    due_on: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str] = mapped_column(Text, default="")

    rating: Mapped[Rating] = relationship()
    notes: Mapped[list["FollowUpNote"]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="FollowUpNote.id")


class FollowUpNote(db.Model):
    """What was done on a case, by whom and when (the case's own history)."""

    __tablename__ = "follow_up_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("follow_up_cases.id", ondelete="CASCADE"),
                                         index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16))  # the status after this note
    text: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[FollowUpCase] = relationship(back_populates="notes")


class Suggestion(db.Model):
    """A message in the suggestion box (意见箱): received -> in_progress -> replied -> closed."""

    __tablename__ = "suggestions"
    __table_args__ = (
        CheckConstraint("status IN ('received', 'in_progress', 'replied', 'closed')",
                        name="status"),
        CheckConstraint(
            "category IN ('complaint', 'advice', 'praise', 'booking', 'environment', 'other')",
            name="category"),
        Index("ix_suggestions_created_at", "created_at"),
        Index("ix_suggestions_office_status", "office_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # the sender's status link (/suggestions/t/<token>), shown once: only its keyed hash
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token = HashedSecret("token_hash")
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    category: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(64), default="")
    # E.164 or empty; encrypted at rest
    phone: Mapped[str] = mapped_column("phone_enc", Encrypted(), key="phone", default="")
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    status: Mapped[str] = mapped_column(String(16), default="received")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reply_sms_queued: Mapped[bool] = mapped_column(default=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RegistrarProfile(db.Model):
    """What the disclosure page shows of a registrar: the photo an admin uploaded (a file
    under instance/uploads) and whether the registrar is listed as on duty."""

    __tablename__ = "registrar_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, autoincrement=False)
    photo_file: Mapped[str] = mapped_column(String(128), default="")
    photo_type: Mapped[str] = mapped_column(String(32), default="")
    on_duty: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


register_encrypted(Suggestion, "phone")
