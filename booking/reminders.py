"""SMS jobs that read bookings: the day-before reminder (`sms-reminders`) and the divorce
step-2 window notices. Each message is queued once however often a job runs: a conditional
UPDATE of `Appointment.reminder_queued_at` claims the appointment, and every message has a
dedupe_key (unique in the outbox) as the second guard."""

import logging
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select, update

from booking.models import ACTIVE_STATUSES, Applicant, Appointment, DivorceCase
from booking.serialize import party_kinds
from booking.sms import applicant_phones
from core.clock import from_minutes, local_now, utcnow
from core.database import write_transaction
from core.extensions import db
from core.i18n import localized
from core.summaries import MESSAGES_QUEUED, NOTHING_DUE, REMINDERS_QUEUED, RunSummary
from notify.messages import format_date, render
from notify.outbox import phone_hash, queue_sms
from notify.settings import number, setting
from offices.documents import documents_text
from offices.models import Office, Service

log = logging.getLogger(__name__)

CHUNK = 100  # appointments per write transaction
NOTICES_FROM = "09:00"  # divorce notices go out in the daytime, office local time


def _setting_hhmm(key: str, fallback: str) -> str:
    """A time-of-day setting as "HH:MM", tolerant of one-digit hours from the environment."""
    value = str(setting(key) or fallback).strip()
    hour, _, minute = value.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ValueError(f"{key} must be a time HH:MM, not {value!r}")
    return from_minutes(int(hour) * 60 + int(minute))


def reminder_text(appointment: Appointment, office: Office, service: Service) -> str:
    language = appointment.language
    return render("reminder", language,
                  office=localized(office, "name", language),
                  date=format_date(appointment.date, language), start=appointment.start,
                  service=localized(service, "name", language),
                  address=localized(office, "address", language) or office.name,
                  documents=documents_text(appointment.service_code,
                                           party_kinds(appointment), language),
                  code=appointment.code)


def _queue_reminder(appointment_id: int, now) -> int:
    """Claim one appointment's reminder and queue it to each applicant; 0 when another run
    (or an earlier one) already did."""
    claimed = db.session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.reminder_queued_at.is_(None),
               Appointment.status == "booked")
        .values(reminder_queued_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return 0
    appointment = db.session.get(Appointment, appointment_id)
    office = db.session.get(Office, appointment.office_id)
    service = db.session.get(Service, appointment.service_code)
    body = reminder_text(appointment, office, service)
    queued = 0
    for phone in applicant_phones(appointment):
        key = f"reminder:{appointment.id}:{appointment.date.isoformat()}:{phone_hash(phone)}"
        if queue_sms(phone, body, "reminder", dedupe_key=key) is not None:
            queued += 1
    return queued


def queue_reminders() -> RunSummary:
    """The `sms-reminders` job: once an office's local time is past SMS_REMINDER_AT, queue
    the reminder for each of its appointments tomorrow (office local date), once."""
    reminder_at = _setting_hhmm("SMS_REMINDER_AT", "18:00")
    now = utcnow()
    appointments = messages = 0
    offices = db.session.scalars(select(Office).where(Office.active.is_(True))).all()
    for office in offices:
        local = local_now(office.timezone)
        if local.strftime("%H:%M") < reminder_at:
            continue
        tomorrow = local.date() + timedelta(days=1)
        ids = db.session.scalars(
            select(Appointment.id)
            .where(Appointment.office_id == office.id, Appointment.date == tomorrow,
                   Appointment.status == "booked", Appointment.reminder_queued_at.is_(None))
            .order_by(Appointment.id)).all()
        for start in range(0, len(ids), CHUNK):
            with write_transaction():
                for appointment_id in ids[start:start + CHUNK]:
                    sent = _queue_reminder(appointment_id, now)
                    appointments += 1 if sent else 0
                    messages += sent
    db.session.rollback()
    if not messages:
        return NOTHING_DUE()
    return REMINDERS_QUEUED(messages=messages, appointments=appointments)


def _certificate_booked(case: DivorceCase) -> bool:
    """Whether the couple already holds an active step-2 appointment."""
    hashes = list(case.party_hashes or [])
    if not hashes:
        return False
    return db.session.scalar(
        select(Applicant.id).join(Appointment)
        .where(Applicant.active_hash.in_(hashes),
               Applicant.service_code == "divorce-certificate",
               Appointment.status.in_(ACTIVE_STATUSES)).limit(1)) is not None


def _notices_due(case: DivorceCase, today: date, closing_days: int,
                 counseling: bool = False) -> list[str]:
    if case.accepted_on < today <= case.cooling_off_ends:
        # 婚姻家庭辅导, where the office offers it (2025 婚姻登记条例): once, early on
        return ["counseling_offer"] if counseling else []
    if not (case.step2_from <= today <= case.step2_until):
        return []
    due = ["step2_opens"]
    if today >= case.step2_until - timedelta(days=closing_days) and not _certificate_booked(case):
        due.append("step2_closing")
    return due


def queue_divorce_window_notices() -> RunSummary:
    """Offer divorcing couples counselling during the cooling-off period (where the office
    offers it); tell them when their step-2 window (申请发给离婚证) opens and, 5 days
    (SMS_DIVORCE_CLOSING_DAYS) before it closes, that it will; each notice once per phone.
    Phones come from the applicants of the case's step-1 appointment."""
    closing_days = int(number("SMS_DIVORCE_CLOSING_DAYS"))
    earliest = utcnow().date() - timedelta(days=1)
    cases = db.session.scalars(
        select(DivorceCase).where(DivorceCase.status == "cooling_off",
                                  DivorceCase.step2_until >= earliest)
        .order_by(DivorceCase.id)).all()
    queued = 0
    base_url = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    with write_transaction():
        for case in cases:
            office = db.session.get(Office, case.office_id)
            local = local_now(office.timezone if office else None)
            if local.strftime("%H:%M") < NOTICES_FROM:
                continue
            appointment = db.session.get(Appointment, case.appointment_id) \
                if case.appointment_id else None
            phones = applicant_phones(appointment) if appointment is not None else []
            if not phones:
                continue
            language = appointment.language
            office_name = localized(office, "name", language) if office else ""
            counseling = office is not None and "counseling" in office.service_codes
            for kind in _notices_due(case, local.date(), closing_days, counseling):
                body = render(kind, language, office=office_name,
                              from_date=format_date(case.step2_from, language),
                              until=format_date(case.step2_until, language),
                              link=f"{base_url}/book/{office.code}/counseling" if office else "")
                for phone in phones:
                    key = f"{kind}:{case.id}:{phone_hash(phone)}"
                    if queue_sms(phone, body, kind, dedupe_key=key):
                        queued += 1
    if not queued:
        return NOTHING_DUE()
    return MESSAGES_QUEUED(queued=queued)
