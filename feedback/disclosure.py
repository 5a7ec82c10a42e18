"""Public disclosure (政务公开) data for an office: services and their guides, hours and the
coming special days, the registrars on duty, and the registrars' photos (uploaded by
admins, kept under instance/uploads, served by a route)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from core.audit import record_audit
from core.auth import User
from core.clock import local_today
from core.extensions import db
from feedback.models import RegistrarProfile
from feedback.settings import setting
from hours.calendar import DayPlan, day_plans, parse_periods
from offices.models import Office, Service
from offices.queries import cross_border_offices, find_office  # noqa: F401 (feedback.public)

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_LABELS = (_l("星期一"), _l("星期二"), _l("星期三"), _l("星期四"), _l("星期五"),
                  _l("星期六"), _l("星期日"))
PHOTO_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
STAFF_NUMBER_MAX = 32


class PhotoError(ValueError):
    """The upload is not a usable photo; the message (a message id) says why."""


def active_office(code: str) -> Office | None:
    """offices.queries.find_office, under the name feedback/api.py still imports."""
    return find_office(code)


def offered_services(office: Office) -> list[Service]:
    services = {s.code: s for s in db.session.scalars(select(Service))}
    return [services[code] for code in office.service_codes if code in services]


def weekly_hours(office: Office) -> list[tuple[str, list[str]]]:
    """(weekday label, ["09:00–12:00", …]) for Monday to Sunday; an empty list is closed."""
    hours = office.hours or {}
    return [(str(label), [f"{s}–{e}" for s, e in parse_periods(hours.get(key))])
            for key, label in zip(WEEKDAY_KEYS, WEEKDAY_LABELS, strict=True)]


@dataclass(frozen=True)
class SpecialDay:
    plan: DayPlan
    reason: str  # extended | peak | closed_holiday | makeup | override


def coming_days(office: Office, today: date | None = None, days: int = 30) -> list[SpecialDay]:
    """The days ahead (today included) whose hours differ from the usual week: 延时服务 and
    peak days, statutory holidays that close the office, 调休 working days that open it,
    and the office's own special dates."""
    today = today or local_today(office.timezone)
    out = []
    for plan in day_plans(office, today, days):
        weekday_hours = parse_periods((office.hours or {}).get(WEEKDAY_KEYS[plan.date.weekday()]))
        if plan.extended:
            reason = "extended"
        elif plan.peak is not None and plan.open:
            reason = "peak"
        elif plan.overridden:
            reason = "override"
        elif plan.kind == "holiday" and not plan.open and weekday_hours:
            reason = "closed_holiday"
        elif plan.kind == "makeup_workday" and plan.open:
            reason = "makeup"
        else:
            continue
        out.append(SpecialDay(plan, reason))
    return out


def today_plan(office: Office) -> DayPlan:
    return day_plans(office, local_today(office.timezone), 1)[0]


@dataclass(frozen=True)
class RegistrarCard:
    user: User
    profile: RegistrarProfile | None

    @property
    def photo_url_name(self) -> str | None:
        return self.profile.photo_file if self.profile and self.profile.photo_file else None


def registrars(office: Office, on_duty_only: bool = True) -> list[RegistrarCard]:
    """The office's active registrars with their profiles; on the public page only those
    on duty (a registrar without a profile is on duty until an admin says otherwise)."""
    users = db.session.scalars(
        select(User).where(User.role == "registrar", User.active.is_(True),
                           User.office_id == office.id)
        .order_by(User.staff_number, User.id)).all()
    profiles = {p.user_id: p for p in db.session.scalars(
        select(RegistrarProfile).where(RegistrarProfile.user_id.in_([u.id for u in users])))}
    cards = [RegistrarCard(user, profiles.get(user.id)) for user in users]
    if on_duty_only:
        cards = [c for c in cards if c.profile is None or c.profile.on_duty]
    return cards


# --- photos -----------------------------------------------------------------------------

def upload_folder() -> Path:
    configured = setting("UPLOAD_FOLDER")
    base = Path(configured) if configured else Path(current_app.instance_path) / "uploads"
    return base / "registrars"


def sniff_image(data: bytes) -> str | None:
    """The photo's real type from its first bytes (never the name or the browser's word)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def read_photo(upload: FileStorage | None) -> tuple[bytes, str]:
    """(bytes, extension) of a valid upload, or PhotoError."""
    if upload is None or not upload.filename:
        raise PhotoError(_l("请选择一张照片。"))
    limit = int(setting("REGISTRAR_PHOTO_MAX_BYTES"))
    data = upload.stream.read(limit + 1)
    if not data:
        raise PhotoError(_l("照片文件是空的。"))
    if len(data) > limit:
        raise PhotoError(_l("照片太大：请上传不超过 %(kb)s KB 的照片。", kb=limit // 1024))
    extension = sniff_image(data)
    if extension is None:
        raise PhotoError(_l("只能上传 JPEG、PNG 或 WebP 格式的照片。"))
    return data, extension


def save_photo(registrar: User, upload: FileStorage | None, admin: User) -> RegistrarProfile:
    """Validate and store a registrar's photo, replacing the previous one. Audited; the
    caller commits."""
    data, extension = read_photo(upload)
    folder = upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{registrar.id}-{secrets.token_hex(8)}.{extension}"
    (folder / name).write_bytes(data)
    profile = db.session.get(RegistrarProfile, registrar.id)
    if profile is None:
        profile = RegistrarProfile(user_id=registrar.id, on_duty=True)
        db.session.add(profile)
    old = profile.photo_file
    profile.photo_file = name
    profile.photo_type = PHOTO_TYPES[extension]
    profile.updated_by_id = admin.id
    record_audit(admin, "feedback.registrar_photo", f"user:{registrar.id}", registrar.office_id,
                 file=name, bytes=len(data), type=profile.photo_type)
    if old and old != name:
        try:
            (folder / Path(old).name).unlink()
        except OSError:
            pass  # already gone: nothing to clean up
    return profile


def update_profile(registrar: User, admin: User, staff_number: str, on_duty: bool) -> None:
    """Set a registrar's public staff number and on-duty flag. Audited; the caller commits."""
    staff_number = (staff_number or "").strip()
    if len(staff_number) > STAFF_NUMBER_MAX:
        raise PhotoError(_l("工号不能超过 32 个字符。"))
    profile = db.session.get(RegistrarProfile, registrar.id)
    if profile is None:
        profile = RegistrarProfile(user_id=registrar.id, on_duty=on_duty)
        db.session.add(profile)
    before = {"staff_number": registrar.staff_number, "on_duty": profile.on_duty}
    registrar.staff_number = staff_number
    profile.on_duty = on_duty
    profile.updated_by_id = admin.id
    record_audit(admin, "feedback.registrar_profile", f"user:{registrar.id}",
                 registrar.office_id, staff_number_from=before["staff_number"],
                 staff_number_to=staff_number, on_duty_from=before["on_duty"],
                 on_duty_to=on_duty)


def photo_for(name: str) -> tuple[Path, str] | None:
    """(path, content type) of a stored photo of an active registrar, by its file name."""
    if not name or "/" in name or "\\" in name or len(name) > 128:
        return None
    profile = db.session.scalar(select(RegistrarProfile).where(RegistrarProfile.photo_file == name))
    if profile is None:
        return None
    user = db.session.get(User, profile.user_id)
    if user is None or not user.active or user.role != "registrar":
        return None
    path = upload_folder() / profile.photo_file
    return (path, profile.photo_type) if path.is_file() else None
