"""延时服务, the hall's decision: at or after an office's closing time, while anyone who checked in today still
waits or is being served, today's hours are extended by EXTENSION_STEP_MINUTES past the
current closing time, and everyone waiting gets an SMS saying until when. The job runs every
minute, so at the new closing time it extends again, until the hall is empty.

The calendar records an extension (hours.extensions.record_extension); day_plan() folds it
into the day's hours. A repeated or concurrent run adds nothing: the office row is locked
while deciding (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers anyway), the record
is inserted once per (office, date, until), and only the run that inserted it queues the
SMS, each with a dedupe key per ticket and closing time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from core.clock import from_minutes, local_now, to_minutes
from core.database import write_transaction
from core.extensions import db
from core.i18n import localized
from core.summaries import HOURS_EXTENDED, NO_EXTENSION, RunSummary
from hallqueue.models import Ticket
from hours.calendar import day_plan
from hours.extensions import LATEST_CLOSE, next_closing, record_extension
from notify.messages import render
from notify.outbox import queue_sms
from offices.models import Office

log = logging.getLogger(__name__)

IN_HALL = ("waiting", "called")


@dataclass(frozen=True)
class Extension:
    office_code: str
    previous_close: str
    until: str
    in_hall: int
    sms_queued: int


def extend_office(office_id: int, step: int) -> Extension | None:
    """Extend one office's today if it is due; None when there is nothing to do."""
    with write_transaction():
        office = db.session.scalars(
            select(Office).where(Office.id == office_id).with_for_update()).one()
        now_local = local_now(office.timezone)
        today = now_local.date()
        plan = day_plan(office, today)
        if not plan.open or plan.closes_at is None:
            return None
        close = to_minutes(plan.closes_at)
        now_minutes = now_local.hour * 60 + now_local.minute
        if now_minutes < close:
            return None
        in_hall = db.session.scalar(
            select(func.count(Ticket.id)).where(Ticket.office_id == office.id,
                                                Ticket.date == today,
                                                Ticket.status.in_(IN_HALL)))
        if not in_hall:
            return None
        until_minutes = next_closing(close, now_minutes, step)
        if until_minutes <= close:
            log.warning("%s: people still wait at %s but hours cannot run past %s",
                        office.code, plan.closes_at, from_minutes(LATEST_CLOSE))
            return None
        until = from_minutes(until_minutes)
        if not record_extension(office.id, today, plan.closes_at, until, in_hall):
            return None  # another run made this very extension
        queued = 0
        waiting = db.session.scalars(
            select(Ticket).where(Ticket.office_id == office.id, Ticket.date == today,
                                 Ticket.status == "waiting", Ticket.phone != "")
            .order_by(Ticket.id)).all()
        for ticket in waiting:
            body = render("hours_extended", ticket.language,
                          office=localized(office, "name", ticket.language), until=until)
            if queue_sms(ticket.phone, body, "hours_extended",
                         dedupe_key=f"hours_extended:{ticket.id}:{until}") is not None:
                queued += 1
        log.info("%s: today extended from %s to %s, %d in the hall, %d SMS queued",
                 office.code, plan.closes_at, until, in_hall, queued)
        return Extension(office.code, plan.closes_at, until, in_hall, queued)


def extend_hours() -> list[Extension]:
    """Extend every active office that is due; the extensions made."""
    step = int(current_app.config.get("EXTENSION_STEP_MINUTES") or 30)
    if step <= 0:
        raise ValueError("EXTENSION_STEP_MINUTES must be positive")
    office_ids = db.session.scalars(
        select(Office.id).where(Office.active.is_(True)).order_by(Office.id)).all()
    made = []
    for office_id in office_ids:
        extension = extend_office(office_id, step)
        if extension is not None:
            made.append(extension)
    return made


def extend_hours_job() -> RunSummary:
    """The `extend-hours` job (every minute)."""
    made = extend_hours()
    if not made:
        return NO_EXTENSION()
    return RunSummary.join([HOURS_EXTENDED(office=e.office_code, previous_close=e.previous_close,
                                           until=e.until, in_hall=e.in_hall,
                                           sms_queued=e.sms_queued) for e in made])
