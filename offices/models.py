"""Offices and what they offer. Hours and capacities are kept as the office file states them
(JSON); the hours/ package turns them into a calendar and slots."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.extensions import db
from core.types import UTCDateTime


class Service(db.Model):
    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint("applicants IN (1, 2)", name="applicants"),
        CheckConstraint("min_applicants >= 1 AND min_applicants <= applicants",
                        name="min_applicants"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64), default="")
    applicants: Mapped[int]  # at most; a booking names from min_applicants to this many
    min_applicants: Mapped[int]
    ticket_prefix: Mapped[str] = mapped_column(String(1), unique=True)


class Office(db.Model):
    __tablename__ = "offices"
    __table_args__ = (
        CheckConstraint("slot_minutes > 0", name="slot_minutes_positive"),
        CheckConstraint("booking_days_ahead >= 0", name="booking_days_ahead"),
        CheckConstraint("requeue_after >= 0", name="requeue_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(128), default="")
    address: Mapped[str] = mapped_column(String(256), default="")
    address_en: Mapped[str] = mapped_column(String(256), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    supervision_phone: Mapped[str] = mapped_column(String(64), default="")
    jurisdiction: Mapped[str] = mapped_column(String(512), default="")
    jurisdiction_en: Mapped[str] = mapped_column(String(512), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    slot_minutes: Mapped[int] = mapped_column(default=30)
    booking_days_ahead: Mapped[int] = mapped_column(default=30)
    open_on_holidays: Mapped[bool] = mapped_column(default=False)
    open_on_peak_days: Mapped[bool] = mapped_column(default=True)
    accepts_cross_border: Mapped[bool] = mapped_column(default=False)
    ticket_lead_minutes: Mapped[int] = mapped_column(default=30)
    # 过号: a requeued ticket goes back behind at most this many waiting tickets
    requeue_after: Mapped[int] = mapped_column(default=3, server_default="3")
    # {"mon": ["09:00-12:00", "13:30-17:00"], ..., "makeup": [...]}
    hours: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    services: Mapped[list["OfficeService"]] = relationship(
        back_populates="office", cascade="all, delete-orphan", order_by="OfficeService.position")
    windows: Mapped[list["Window"]] = relationship(
        back_populates="office", cascade="all, delete-orphan", order_by="Window.position")

    @property
    def service_codes(self) -> list[str]:
        return [s.service_code for s in self.services if s.active]

    def capacity_for(self, service_code: str) -> int:
        for item in self.services:
            if item.service_code == service_code and item.active:
                return item.capacity
        return 0

    def peak_capacity_for(self, service_code: str) -> int | None:
        """Seats per slot on a peak day when the office file sets them (group ceremonies),
        else None (the capacity times the peak day's factor)."""
        for item in self.services:
            if item.service_code == service_code and item.active:
                return item.peak_capacity
        return None


class OfficeService(db.Model):
    """A service an office offers, with its seats per slot."""

    __tablename__ = "office_services"
    __table_args__ = (
        UniqueConstraint("office_id", "service_code"),
        CheckConstraint("capacity >= 0", name="capacity"),
        CheckConstraint("peak_capacity >= 0", name="peak_capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"))
    capacity: Mapped[int] = mapped_column(default=0)
    # seats per slot on peak days ([offices.peak_capacity]); NULL: capacity × the factor
    peak_capacity: Mapped[int | None] = mapped_column()
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    office: Mapped[Office] = relationship(back_populates="services")


class Window(db.Model):
    """A registrar's window in the hall. Backup windows open only on peak days."""

    __tablename__ = "windows"
    __table_args__ = (UniqueConstraint("office_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(16))
    services: Mapped[list] = mapped_column(JSON, default=list)
    backup: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    paused: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)

    office: Mapped[Office] = relationship(back_populates="windows")


class PeakDayRule(db.Model):
    """A peak-day rule: global (office_id NULL) or an office's own, which replaces the global
    rule of the same code for that office."""

    __tablename__ = "peak_day_rules"
    __table_args__ = (
        UniqueConstraint("scope", "code"),
        CheckConstraint("capacity_factor >= 1", name="capacity_factor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))  # "*" for every office, else an office code
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64), default="")
    dates: Mapped[list] = mapped_column(JSON, default=list)  # "MM-DD" or "YYYY-MM-DD"
    lunar: Mapped[list] = mapped_column(JSON, default=list)  # lunar "MM-DD"
    hours: Mapped[list] = mapped_column(JSON, default=list)  # ["08:30-12:00", ...]
    capacity_factor: Mapped[float] = mapped_column(default=1.0)
    open_backup_windows: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)


GLOBAL_SCOPE = "*"
