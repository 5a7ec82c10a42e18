"""How an appointment is shown: its JSON answer (docs/api.md §3, names and ID numbers
masked), its status in words, and its manage link."""

from __future__ import annotations

from flask import current_app

from booking.cache import office_of, service_of
from booking.errors import tr
from booking.identity import stored_origin
from booking.models import Appointment
from core.privacy import mask_name
from offices.documents import documents_for, kinds_of


def appointment_json(appointment: Appointment) -> dict:
    """docs/api.md §3: names and ID numbers masked."""
    office = office_of(appointment)
    service = service_of(appointment)
    return {
        "code": appointment.code,
        "token": appointment.token,
        "status": appointment.status,
        "channel": appointment.channel,
        "office": office.code if office else None,
        "office_name": office.name if office else "",
        "service": appointment.service_code,
        "service_name": service.name if service else "",
        "date": appointment.date.isoformat(),
        "start": appointment.start,
        "end": appointment.end,
        "applicants": [{"name": mask_name(a.name), "id_number": a.id_masked,
                        "id_type": a.id_type} for a in appointment.applicants],
        "documents": documents_of(appointment),
    }


def documents_of(appointment: Appointment, language: str | None = None) -> list[str]:
    """What these applicants bring (offices.documents: per service and kind of party)."""
    return documents_for(appointment.service_code, party_kinds(appointment), language)


def party_kinds(appointment: Appointment) -> list[str]:
    return kinds_of([stored_origin(a.id_type, a.id_masked) for a in appointment.applicants])


def status_label(status: str) -> str:
    return {"booked": tr("已预约"), "cancelled": tr("已取消"), "checked_in": tr("已签到"),
            "completed": tr("已办结"), "no_show": tr("未到")}.get(status, status)


def manage_link(appointment: Appointment) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + f"/a/{appointment.token}"
