"""The SMS a booking, a reschedule or a cancellation sends its applicants: one per distinct
phone, in the language they booked in, queued in the caller's transaction."""

from __future__ import annotations

from flask import current_app

from booking.cache import office_of, service_of
from booking.models import Appointment
from booking.serialize import manage_link
from core.i18n import localized
from notify.messages import render
from notify.outbox import phone_hash, queue_sms

CANCELLED_KINDS = ("booking_cancelled", "cancelled_by_office")  # link to book again


def applicant_phones(appointment: Appointment) -> list[str]:
    """The applicants' phones, each once, in their order."""
    return list(dict.fromkeys(a.phone for a in appointment.applicants if a.phone))


def _values(appointment: Appointment) -> dict:
    office = office_of(appointment)
    service = service_of(appointment)
    language = appointment.language
    return {"office": localized(office, "name", language),
            "service": localized(service, "name", language),
            "date": appointment.date.isoformat(), "start": appointment.start,
            "code": appointment.code, "link": manage_link(appointment)}


def sms_body(appointment: Appointment, kind: str, **extra) -> str:
    """The text of a `kind` message about this appointment (notify.messages templates)."""
    values = _values(appointment) | extra
    if kind in CANCELLED_KINDS:
        office = office_of(appointment)
        values["link"] = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + \
            f"/book/{office.code}"
    return render(kind, appointment.language, **values)


def queue_to_applicants(appointment: Appointment, kind: str, dedupe: str | None = None,
                        **extra) -> None:
    """One SMS per distinct phone of the applicants, in the caller's transaction; a
    dedupe key names the phone by its keyed hash."""
    body = sms_body(appointment, kind, **extra)
    for phone in applicant_phones(appointment):
        queue_sms(phone, body, kind,
                  dedupe_key=f"{dedupe}:{phone_hash(phone)}"[:128] if dedupe else None)
