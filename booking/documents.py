"""An appointment as an iCalendar file for the couple's calendar (its QR code is
core.qr.qr_svg of the appointment code)."""

from __future__ import annotations

from datetime import UTC, timedelta

from booking.models import Appointment
from core.clock import local_datetime, utcnow
from core.i18n import localized


def _ics_text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _fold(line: str) -> str:
    """RFC 5545 §3.1: lines longer than 75 octets are folded (never inside a character)."""
    out, current = [], ""
    for char in line:
        if len((current + char).encode()) > 75:
            out.append(current)
            current = " " + char
        else:
            current += char
    out.append(current)
    return "\r\n".join(out)


def _stamp(value) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ics(appointment: Appointment, office, service, description: str, host: str,
        english: bool = False) -> str:
    """The appointment as an iCalendar event; office and service named in English when
    `english` (where they have English names)."""
    language = "en" if english else "zh_CN"
    office_name = localized(office, "name", language)
    service_name = localized(service, "name", language)
    location = localized(office, "address", language) or office_name
    starts = local_datetime(appointment.date, appointment.start, office.timezone)
    ends = local_datetime(appointment.date, appointment.end, office.timezone)
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Xiyue//Booking//ZH", "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:appointment-{appointment.code}@{host}",
        f"DTSTAMP:{_stamp(utcnow())}",
        f"DTSTART:{_stamp(starts)}",
        f"DTEND:{_stamp(ends)}",
        f"SUMMARY:{_ics_text(service_name + ' · ' + office_name)}",
        f"LOCATION:{_ics_text(location)}",
        f"DESCRIPTION:{_ics_text(description)}",
        "STATUS:" + ("CANCELLED" if appointment.status == "cancelled" else "CONFIRMED"),
        "BEGIN:VALARM", "ACTION:DISPLAY", f"DESCRIPTION:{_ics_text(service_name)}",
        f"TRIGGER:-PT{int(timedelta(hours=2).total_seconds() // 60)}M", "END:VALARM",
        "END:VEVENT", "END:VCALENDAR",
    ]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
