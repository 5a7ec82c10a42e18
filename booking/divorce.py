"""Divorce cases: an accepted application (step 1) starts the cooling-off period
(离婚冷静期, Civil Code art. 1077); the certificate (step 2) may be booked only inside the
couple's step-2 window, at the office that accepted step 1."""

from __future__ import annotations

import hashlib
from datetime import date

from flask import current_app
from sqlalchemy import select

from booking.models import Appointment, DivorceCase
from core.extensions import db
from hours.calendar import divorce_windows

OPEN_STATUS = "cooling_off"  # accepted, neither withdrawn, certified nor lapsed


def couple_hash(party_hashes: list[str]) -> str:
    """One hash for the couple, whatever the order of the two people."""
    return hashlib.sha256("|".join(sorted(party_hashes)).encode()).hexdigest()


def windows_for(accepted_on: date) -> tuple[date, date, date]:
    """(cooling_off_ends, step2_from, step2_until) with the configured lengths."""
    config = current_app.config
    return divorce_windows(accepted_on, int(config["COOLING_OFF_DAYS"]),
                           int(config["STEP2_WINDOW_DAYS"]))


def record_divorce_application(office, party_hashes: list[str], accepted_on: date,
                               appointment: Appointment | None = None) -> DivorceCase:
    """Record that `office` accepted the couple's divorce application on `accepted_on`: the
    cooling-off starts the next day. Runs inside the caller's transaction (no commit).
    Recording the same acceptance twice gives the same case."""
    if len(set(party_hashes)) != 2:
        raise ValueError("a divorce application has two different parties")
    key = couple_hash(party_hashes)
    if appointment is not None and appointment.id is not None:
        existing = db.session.scalar(
            select(DivorceCase).where(DivorceCase.appointment_id == appointment.id))
        if existing is not None:
            return existing
    existing = db.session.scalar(
        select(DivorceCase).where(DivorceCase.couple_hash == key,
                                  DivorceCase.office_id == office.id,
                                  DivorceCase.accepted_on == accepted_on,
                                  DivorceCase.status == OPEN_STATUS))
    if existing is not None:
        return existing
    cooling_ends, step2_from, step2_until = windows_for(accepted_on)
    case = DivorceCase(office_id=office.id, couple_hash=key, party_hashes=sorted(party_hashes),
                       accepted_on=accepted_on, cooling_off_ends=cooling_ends,
                       step2_from=step2_from, step2_until=step2_until, status=OPEN_STATUS,
                       appointment_id=appointment.id if appointment is not None else None)
    db.session.add(case)
    db.session.flush()
    return case


def open_case(party_hashes: list[str], on_or_after: date | None = None) -> DivorceCase | None:
    """The couple's newest open case; with `on_or_after`, only one whose step-2 window has
    not ended before that day."""
    stmt = select(DivorceCase).where(DivorceCase.couple_hash == couple_hash(party_hashes),
                                     DivorceCase.status == OPEN_STATUS)
    if on_or_after is not None:
        stmt = stmt.where(DivorceCase.step2_until >= on_or_after)
    return db.session.scalar(
        stmt.order_by(DivorceCase.accepted_on.desc(), DivorceCase.id.desc()).limit(1))
