"""The `retention-purge` job: personal data of finished appointments is kept RETENTION_DAYS
(counted from the appointment's date) and then removed, while the rows stay so that counts
and statistics are unchanged.

For each appointment `completed`, `cancelled` or `no_show` dated before the cut-off and not
purged yet: each applicant's name is masked (张*三), the encrypted ID number and the phone
number are emptied, and `Appointment.purged_at` is set. The masked ID number (area code and
last four digits) stays. The same cut-off empties the phone number and ID hashes of that
period's finished hall tickets, the recipient and text of that period's finished SMS, and the contact details of
suggestions answered before it (feedback.retention).

Idempotent: purged appointments are skipped, masking a masked name changes nothing, and each
statement only touches rows that still hold data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import Text, cast, or_, select, update

from booking.models import Applicant, Appointment
from core.clock import local_today, utcnow, zone
from core.database import write_transaction
from core.extensions import db
from core.privacy import mask_name
from scheduler.summaries import PERSONAL_DATA_PURGED, RunSummary

FINISHED = ("completed", "cancelled", "no_show")
BATCH = 200


@dataclass
class PurgeReport:
    cutoff: date
    appointments: int = 0
    applicants: int = 0
    tickets: int = 0
    messages: int = 0
    suggestions: int = 0

    def summary(self) -> RunSummary:
        return PERSONAL_DATA_PURGED(appointments=self.appointments, applicants=self.applicants,
                                    tickets=self.tickets, messages=self.messages,
                                    suggestions=self.suggestions,
                                    cutoff=self.cutoff.isoformat())


def retention_cutoff() -> date:
    days = int(current_app.config.get("RETENTION_DAYS") or 0)
    if days <= 0:
        raise ValueError("RETENTION_DAYS must be a positive number of days")
    return local_today() - timedelta(days=days)


def _purge_batch(cutoff: date, report: PurgeReport) -> bool:
    """Purge up to BATCH appointments in one transaction; False when none were left."""
    with write_transaction():
        ids = db.session.scalars(
            select(Appointment.id)
            .where(Appointment.purged_at.is_(None), Appointment.status.in_(FINISHED),
                   Appointment.date < cutoff)
            .order_by(Appointment.id).limit(BATCH)).all()
        if not ids:
            return False
        applicants = db.session.scalars(
            select(Applicant).where(Applicant.appointment_id.in_(ids))).all()
        for applicant in applicants:
            applicant.name = mask_name(applicant.name)
            applicant.id_number_enc = ""
            applicant.phone = ""
            applicant.active_hash = None
        # the conditional UPDATE counts each appointment once, even when two runs overlap
        purged = db.session.execute(
            update(Appointment)
            .where(Appointment.id.in_(ids), Appointment.purged_at.is_(None))
            .values(purged_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
        report.appointments += purged
        if purged:
            report.applicants += len(applicants)
    return True


def _purge_tickets(cutoff: date) -> int:
    from hallqueue.models import Ticket

    with write_transaction():
        return db.session.execute(
            update(Ticket)
            .where(Ticket.date < cutoff, Ticket.status.in_(("completed", "no_show")),
                   or_(Ticket.phone != "", cast(Ticket.party_hashes, Text) != "[]"))
            .values(phone="", party_hashes=[])
            .execution_options(synchronize_session=False)).rowcount


def _purge_messages(cutoff: date) -> int:
    from notify.models import OutboxMessage

    before = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=zone())
    with write_transaction():
        return db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.created_at < before,
                   OutboxMessage.status.not_in(("pending", "sending")),
                   or_(OutboxMessage.to_phone != "", OutboxMessage.body != ""))
            .values(to_phone="", body="")
            .execution_options(synchronize_session=False)).rowcount


def retention_purge() -> PurgeReport:
    report = PurgeReport(cutoff=retention_cutoff())
    while _purge_batch(report.cutoff, report):
        pass
    report.tickets = _purge_tickets(report.cutoff)
    report.messages = _purge_messages(report.cutoff)
    from feedback.retention import purge_suggestion_contacts

    report.suggestions = purge_suggestion_contacts()
    return report


def retention_purge_job() -> RunSummary:
    """The `retention-purge` job (daily)."""
    return retention_purge().summary()
