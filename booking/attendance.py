"""Whether the couple came: check-in, completion and no-show, called by the hall in its
own transaction, and the `no-show-sweep` job for appointments nobody checked in."""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from booking.divorce import with_lapsed
from booking.errors import tr
from booking.models import ACTIVE_STATUSES, Applicant, Appointment
from booking.serialize import status_label
from booking.transactions import release_active
from core.clock import local_datetime, local_today, utcnow
from core.database import write_transaction
from core.errors import ApiError
from core.extensions import db
from core.summaries import NO_SHOWS_MARKED, RunSummary
from offices.models import Office

# --- for the front desk (no commit: the caller's transaction) ---------------------------------

def mark_checked_in(appointment: Appointment) -> None:
    """booked -> checked_in; 409 already_checked_in when it is not booked."""
    now = utcnow()
    result = db.session.execute(
        update(Appointment).where(Appointment.id == appointment.id,
                                  Appointment.status == "booked")
        .values(status="checked_in", checked_in_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(appointment, ["status"])
        raise ApiError(409, "already_checked_in", tr(
            "此预约不能签到（当前状态：%(status)s）。", status=status_label(appointment.status)))
    set_committed_value(appointment, "status", "checked_in")
    set_committed_value(appointment, "checked_in_at", now)


def _finish(appointment: Appointment, status: str, stamp: str) -> None:
    """An active appointment (booked or checked_in) becomes `status`, `stamp` records when,
    and the applicants may book this service again. Again: nothing happens."""
    now = utcnow()
    result = db.session.execute(
        update(Appointment).where(Appointment.id == appointment.id,
                                  Appointment.status.in_(ACTIVE_STATUSES))
        .values(status=status, updated_at=now, **{stamp: now})
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:
        set_committed_value(appointment, "status", status)
        set_committed_value(appointment, stamp, now)
        release_active(appointment)


def mark_completed(appointment: Appointment) -> None:
    """-> completed (registered or refused at the window)."""
    _finish(appointment, "completed", "completed_at")


def mark_no_show(appointment: Appointment) -> None:
    """-> no_show (never came)."""
    _finish(appointment, "no_show", "no_show_at")


def mark_call_missed(appointment: Appointment) -> None:
    """过号: called at the window and not there. The appointment stays checked in (the desk
    may requeue the ticket); the no-show-sweep makes it a no-show if its day ends unserved."""
    now = utcnow()
    db.session.execute(
        update(Appointment).where(Appointment.id == appointment.id,
                                  Appointment.status == "checked_in")
        .values(call_missed_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    set_committed_value(appointment, "call_missed_at", now)


def mark_requeued(appointment: Appointment) -> None:
    """The missed ticket waits again: checked in, and its call no longer missed."""
    now = utcnow()
    db.session.execute(
        update(Appointment).where(Appointment.id == appointment.id,
                                  # no_show: missed before the requeue existed
                                  Appointment.status.in_(("checked_in", "no_show")))
        .values(status="checked_in", call_missed_at=None, no_show_at=None, updated_at=now)
        .execution_options(synchronize_session=False))
    set_committed_value(appointment, "status", "checked_in")
    set_committed_value(appointment, "call_missed_at", None)
    set_committed_value(appointment, "no_show_at", None)


# --- the no-show-sweep job -----------------------------------------------------------------------

def _missed_calls_of_past_days(office: Office, today: date) -> int:
    """Checked-in appointments of past days whose call was missed (过号) and never served
    after: their day ended unserved, so they are no-shows (and count toward the ban)."""
    missed = db.session.scalars(
        select(Appointment).where(Appointment.office_id == office.id,
                                  Appointment.status == "checked_in",
                                  Appointment.call_missed_at.is_not(None),
                                  Appointment.date < today)).all()
    for appointment in missed:
        mark_no_show(appointment)
    return len(missed)


def _release_past_check_ins(office: Office, today: date) -> int:
    """Checked-in appointments of past days whose ticket never finished (the hall closed
    first) keep their status but no longer block the applicants from booking again."""
    stale = db.session.scalars(
        select(Appointment).where(Appointment.office_id == office.id,
                                  Appointment.status == "checked_in",
                                  Appointment.date < today,
                                  Appointment.applicants.any(Applicant.active_hash.is_not(None)))
    ).all()
    for appointment in stale:
        release_active(appointment)
    return len(stale)


def sweep_no_shows() -> RunSummary:
    """Appointments not checked in by the end of their slot plus NO_SHOW_GRACE_MINUTES, and
    checked-in appointments of past days whose call was missed, become no_show and free
    their applicants. Idempotent; returns a one-line summary."""
    grace = timedelta(minutes=int(current_app.config["NO_SHOW_GRACE_MINUTES"]))
    now = utcnow()
    marked = released = 0
    offices = db.session.scalars(select(Office)).all()
    with write_transaction():
        for office in offices:
            today = local_today(office.timezone)
            marked += _missed_calls_of_past_days(office, today)
            released += _release_past_check_ins(office, today)
            due = db.session.scalars(
                select(Appointment).where(Appointment.office_id == office.id,
                                          Appointment.status == "booked",
                                          Appointment.date <= today)).all()
            for appointment in due:
                ends = local_datetime(appointment.date, appointment.end, office.timezone)
                if ends + grace > now:
                    continue
                result = db.session.execute(
                    update(Appointment).where(Appointment.id == appointment.id,
                                              Appointment.status == "booked")
                    .values(status="no_show", no_show_at=now, updated_at=now)
                    .execution_options(synchronize_session=False))
                if result.rowcount == 1:
                    set_committed_value(appointment, "status", "no_show")
                    release_active(appointment)
                    marked += 1
    return with_lapsed(NO_SHOWS_MARKED(marked=marked, released=released))
