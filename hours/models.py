"""The calendar's own data: the state's yearly notice, per-office date overrides, and
same-day extensions (延时服务)."""

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import db
from core.types import UTCDateTime


class StateDay(db.Model):
    """A day of the State Council's notice entered by an admin: a holiday, or a make-up
    working day (调休上班). Wins over the bundled calendar data for that date."""

    __tablename__ = "state_days"
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'makeup_workday')", name="kind"),)

    date: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64), default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HolidayNotice(db.Model):
    """A year whose official notice an admin has entered and confirmed."""

    __tablename__ = "holiday_notices"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str] = mapped_column(String(256), default="")


class CalendarOverride(db.Model):
    """An admin's decision for one office and date: closed, or special hours. Wins over the
    weekly hours, the state calendar and peak days."""

    __tablename__ = "calendar_overrides"
    __table_args__ = (UniqueConstraint("office_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(default=False)
    hours: Mapped[list] = mapped_column(JSON, default=list)  # ["08:30-18:30"] when not closed
    note: Mapped[str] = mapped_column(String(256), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DayExtension(db.Model):
    """An extension of today's hours because people still wait (延时服务). Never taken back;
    the unique constraint makes a repeated run of the job a no-op."""

    __tablename__ = "day_extensions"
    __table_args__ = (UniqueConstraint("office_id", "date", "until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)
    previous_close: Mapped[str] = mapped_column(String(5))
    until: Mapped[str] = mapped_column(String(5))  # "HH:MM"
    waiting_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
