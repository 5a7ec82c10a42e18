"""Appointments, their applicants and the seat counts that keep slots from over-booking."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.clock import utcnow
from core.extensions import db
from core.privacy import Encrypted, EncryptedDate, register_encrypted, secret_hash
from core.types import UTCDateTime

ACTIVE_STATUSES = ("booked", "checked_in")
CHANNELS = ("online", "staff")  # booked by the couple, or by staff for them (电话预约/现场代约)


class Slot(db.Model):
    """Seats taken in one slot of one service at one office. Rows are made on first use;
    `booked` only ever changes through a conditional UPDATE (see booking.seats)."""

    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("office_id", "service_code", "date", "start"),
        CheckConstraint("booked >= 0", name="booked_not_negative"),
        CheckConstraint("booked <= capacity", name="booked_within_capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"))
    date: Mapped[date] = mapped_column(Date)
    start: Mapped[str] = mapped_column(String(5))  # "HH:MM" office local time
    end: Mapped[str] = mapped_column(String(5))
    capacity: Mapped[int] = mapped_column(default=0)
    booked: Mapped[int] = mapped_column(default=0)


class Appointment(db.Model):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('booked', 'cancelled', 'checked_in', 'completed', 'no_show')",
            name="status"),
        CheckConstraint("channel IN ('online', 'staff')", name="channel"),
        Index("ix_appointments_office_date", "office_id", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  # for the front desk
    # The manage link's secret (/a/<token>): found by its keyed hash, and kept encrypted
    # because SMS and the staff's lists give the link again later.
    token: Mapped[str] = mapped_column("token_enc", Encrypted(), key="token")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    date: Mapped[date] = mapped_column(Date)
    start: Mapped[str] = mapped_column(String(5))
    end: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(16), default="booked", index=True)
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    channel: Mapped[str] = mapped_column(String(8), default="online")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str] = mapped_column(String(256), default="")
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    no_show_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # 过号: its ticket's call was missed. Checked in still; the no-show sweep makes it a
    # no-show only once its day has ended unserved (a requeue clears it).
    call_missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # personal data removed

    applicants: Mapped[list["Applicant"]] = relationship(
        back_populates="appointment", cascade="all, delete-orphan", order_by="Applicant.position")

    @validates("token")
    def _hash_token(self, _key: str, token: str) -> str:
        self.token_hash = secret_hash(token)
        return token


class Applicant(db.Model):
    """A person on an appointment. The ID number is stored encrypted and found by keyed
    hash; `active_hash` is the hash while the appointment is active and NULL otherwise, so
    the unique constraint allows one active appointment per person and service. The birth
    date and the phone are encrypted too (the attributes are the clear values); the mask
    (core.privacy.mask_id) hides the birth date's digits."""

    __tablename__ = "applicants"
    __table_args__ = (
        UniqueConstraint("active_hash", "service_code"),
        UniqueConstraint("appointment_id", "position"),
        CheckConstraint("sex IN ('M', 'F')", name="sex"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    service_code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    id_type: Mapped[str] = mapped_column(String(32))
    id_number_enc: Mapped[str] = mapped_column(Text, default="")
    id_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_masked: Mapped[str] = mapped_column(String(40))
    active_hash: Mapped[str | None] = mapped_column(String(64))
    sex: Mapped[str] = mapped_column(String(1))
    # NULL once the retention purge removed it
    birth_date: Mapped[date | None] = mapped_column("birth_date_enc", EncryptedDate(),
                                                    key="birth_date")
    phone: Mapped[str] = mapped_column("phone_enc", Encrypted(), key="phone",
                                       default="")  # E.164

    appointment: Mapped[Appointment] = relationship(back_populates="applicants")


DIVORCE_CASE_STATUSES = ("cooling_off", "withdrawn", "certified", "lapsed")
OPEN_CASE_STATUS = "cooling_off"  # accepted; neither withdrawn, certified nor lapsed


class DivorceCase(db.Model):
    """An accepted divorce application (step 1), its cooling-off and step-2 windows, and how
    it ended (docs/domain.md §5): `cooling_off` until it is `withdrawn` (one party, up to the
    end of cooling-off), `certified` (step 2 registered) or `lapsed` (the step-2 window
    passed). The database holds the rules: a known status, a closed case has its closing
    time and an open one none, a withdrawal names the party, and a couple has at most one
    open case."""

    __tablename__ = "divorce_cases"
    __table_args__ = (
        CheckConstraint("status IN ('cooling_off', 'withdrawn', 'certified', 'lapsed')",
                        name="status"),
        CheckConstraint("(status = 'cooling_off') = (closed_at IS NULL)",
                        name="closed_when_not_open"),
        CheckConstraint("(status = 'withdrawn') = (withdrawn_by_party IS NOT NULL)",
                        name="withdrawal_names_party"),
        Index("ix_divorce_cases_couple", "couple_hash", "status"),
        Index("uq_divorce_cases_open_couple", "couple_hash", unique=True,
              sqlite_where=text("status = 'cooling_off'"),
              postgresql_where=text("status = 'cooling_off'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    couple_hash: Mapped[str] = mapped_column(String(64))  # of both parties' ID hashes, sorted
    party_hashes: Mapped[list] = mapped_column(JSON, default=list)
    # each party's keyed ID hash (the two of party_hashes, sorted): a case is found by either
    party_a_hash: Mapped[str] = mapped_column(String(64), index=True)
    party_b_hash: Mapped[str] = mapped_column(String(64), index=True)
    accepted_on: Mapped[date] = mapped_column(Date)
    cooling_off_ends: Mapped[date] = mapped_column(Date)
    step2_from: Mapped[date] = mapped_column(Date)
    step2_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=OPEN_CASE_STATUS)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_by_party: Mapped[str | None] = mapped_column(String(64))  # the party's ID hash
    notes: Mapped[str] = mapped_column(Text, default="")


register_encrypted(Appointment, "token")
register_encrypted(Applicant, "id_number_enc", "birth_date", "phone")
