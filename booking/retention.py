"""Booking's part of the `retention-purge` job (scheduler.retention): personal data of
finished appointments is kept RETENTION_DAYS (counted from the appointment's date) and then
removed, while the rows stay so that counts and statistics are unchanged.

For each appointment `completed`, `cancelled` or `no_show` dated before the cut-off and not
purged yet: each applicant's name is masked (张*三), the encrypted ID number, birth date and
phone number are emptied, and `Appointment.purged_at` is set. The masked ID number (its
first and last four characters) and the keyed hash stay.

Idempotent: purged appointments are skipped, masking a masked name changes nothing, and each
statement only touches rows that still hold data.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from booking.models import Applicant, Appointment
from core.clock import utcnow
from core.database import write_transaction
from core.extensions import db
from core.privacy import mask_name

FINISHED = ("completed", "cancelled", "no_show")
BATCH = 200


def _purge_batch(cutoff: date) -> tuple[int, int] | None:
    """Purge up to BATCH appointments in one transaction: (appointments, applicants) purged
    here, or None when none were left."""
    with write_transaction():
        ids = db.session.scalars(
            select(Appointment.id)
            .where(Appointment.purged_at.is_(None), Appointment.status.in_(FINISHED),
                   Appointment.date < cutoff)
            .order_by(Appointment.id).limit(BATCH)).all()
        if not ids:
            return None
        applicants = db.session.scalars(
            select(Applicant).where(Applicant.appointment_id.in_(ids))).all()
        for applicant in applicants:
            applicant.name = mask_name(applicant.name)
            applicant.id_number_enc = ""
            applicant.birth_date = None
            applicant.phone = ""
            applicant.active_hash = None
        # the conditional UPDATE counts each appointment once, even when two runs overlap
        purged = db.session.execute(
            update(Appointment)
            .where(Appointment.id.in_(ids), Appointment.purged_at.is_(None))
            .values(purged_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
    return purged, len(applicants) if purged else 0


def purge_appointments(cutoff: date) -> tuple[int, int]:
    """Purge every finished appointment dated before `cutoff`: (appointments, applicants)."""
    appointments = applicants = 0
    while (batch := _purge_batch(cutoff)) is not None:
        appointments += batch[0]
        applicants += batch[1]
    return appointments, applicants
