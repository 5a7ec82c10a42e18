"""Divorce cases (docs/domain.md §5): an accepted application (step 1) starts the cooling-off
period (离婚冷静期, Civil Code art. 1077); the certificate (step 2) may be booked only inside
the couple's step-2 window, at the office that accepted step 1. Every case ends:
`withdrawn` (one party alone, in person, up to the end of cooling-off), `certified` (step 2
registered at the window) or `lapsed` (the step-2 window passed unclaimed: the daily jobs).
A closed case accepts no step-2 booking and sends no SMS."""

from __future__ import annotations

import hashlib
import logging
from datetime import date

from flask import current_app
from sqlalchemy import or_, select, update

from booking.errors import BookingError, tr
from booking.models import (
    ACTIVE_STATUSES,
    OPEN_CASE_STATUS,
    Applicant,
    Appointment,
    DivorceCase,
)
from core.clock import local_today, utcnow
from core.extensions import db
from core.privacy import keyed_hash, normalise_id
from core.summaries import DIVORCE_CASES_LAPSED, RunSummary
from hours.calendar import divorce_windows

log = logging.getLogger(__name__)

OPEN_STATUS = OPEN_CASE_STATUS  # accepted, neither withdrawn, certified nor lapsed
CLOSED_STATUSES = ("withdrawn", "certified", "lapsed")


def couple_hash(party_hashes: list[str]) -> str:
    """One hash for the couple, whatever the order of the two people."""
    return hashlib.sha256("|".join(sorted(party_hashes)).encode()).hexdigest()


def party_hash(id_number: str) -> str:
    """The keyed hash of a party's ID number, normalised as at booking (spaces, case and
    brackets do not matter)."""
    cleaned = normalise_id(id_number)
    for bracket in "()（）":
        cleaned = cleaned.replace(bracket, "")
    return keyed_hash(cleaned)


def windows_for(accepted_on: date) -> tuple[date, date, date]:
    """(cooling_off_ends, step2_from, step2_until) with the configured lengths."""
    config = current_app.config
    return divorce_windows(accepted_on, int(config["COOLING_OFF_DAYS"]),
                           int(config["STEP2_WINDOW_DAYS"]))


def record_divorce_application(office, party_hashes: list[str], accepted_on: date,
                               appointment: Appointment | None = None) -> DivorceCase:
    """Record that `office` accepted the couple's divorce application on `accepted_on`: the
    cooling-off starts the next day. Runs inside the caller's transaction (no commit).
    Recording the same acceptance twice gives the same case; a couple has one open case at
    a time (a unique index), so an open case found here is the one returned."""
    if len(set(party_hashes)) != 2:
        raise ValueError("a divorce application has two different parties")
    key = couple_hash(party_hashes)
    if appointment is not None and appointment.id is not None:
        existing = db.session.scalar(
            select(DivorceCase).where(DivorceCase.appointment_id == appointment.id))
        if existing is not None:
            return existing
    # an open case whose step-2 window ended before this day has lapsed, job run or not
    _lapse(DivorceCase.couple_hash == key, DivorceCase.step2_until < accepted_on)
    existing = db.session.scalar(
        select(DivorceCase).where(DivorceCase.couple_hash == key,
                                  DivorceCase.status == OPEN_STATUS))
    if existing is not None:
        return existing
    cooling_ends, step2_from, step2_until = windows_for(accepted_on)
    first, second = sorted(party_hashes)
    case = DivorceCase(office_id=office.id, couple_hash=key, party_hashes=[first, second],
                       party_a_hash=first, party_b_hash=second,
                       accepted_on=accepted_on, cooling_off_ends=cooling_ends,
                       step2_from=step2_from, step2_until=step2_until, status=OPEN_STATUS,
                       appointment_id=appointment.id if appointment is not None else None)
    db.session.add(case)
    db.session.flush()
    return case


def open_case(party_hashes: list[str], on_or_after: date | None = None) -> DivorceCase | None:
    """The couple's open case; with `on_or_after`, only one whose step-2 window has not
    ended before that day."""
    stmt = select(DivorceCase).where(DivorceCase.couple_hash == couple_hash(party_hashes),
                                     DivorceCase.status == OPEN_STATUS)
    if on_or_after is not None:
        stmt = stmt.where(DivorceCase.step2_until >= on_or_after)
    return db.session.scalar(
        stmt.order_by(DivorceCase.accepted_on.desc(), DivorceCase.id.desc()).limit(1))


def latest_case(party_hashes: list[str]) -> DivorceCase | None:
    """The couple's newest case, open or closed."""
    return db.session.scalar(
        select(DivorceCase).where(DivorceCase.couple_hash == couple_hash(party_hashes))
        .order_by(DivorceCase.accepted_on.desc(), DivorceCase.id.desc()).limit(1))


def status_on(case: DivorceCase, today: date) -> str:
    """The case's status as of `today`: an open case whose step-2 window has passed is
    `lapsed` even before the daily job has written it."""
    if case.status == OPEN_STATUS and case.step2_until < today:
        return "lapsed"
    return case.status


def cases_of_party(office, id_number: str) -> list[DivorceCase]:
    """The cases at `office` where the holder of `id_number` is a party, newest first."""
    wanted = party_hash(id_number)
    return list(db.session.scalars(
        select(DivorceCase).where(DivorceCase.office_id == office.id,
                                  or_(DivorceCase.party_a_hash == wanted,
                                      DivorceCase.party_b_hash == wanted))
        .order_by(DivorceCase.accepted_on.desc(), DivorceCase.id.desc())))


def case_json(case: DivorceCase, today: date) -> dict:
    """docs/api.md §5.1: dates and status, no names and no ID numbers."""
    return {"id": case.id, "status": status_on(case, today),
            "accepted_on": case.accepted_on.isoformat(),
            "cooling_off_ends": case.cooling_off_ends.isoformat(),
            "certificate_from": case.step2_from.isoformat(),
            "certificate_until": case.step2_until.isoformat()}


# --- closing a case -----------------------------------------------------------------------------

def _close(case_id: int, status: str, **values) -> bool:
    """open -> `status`, one conditional statement; False when it was no longer open."""
    result = db.session.execute(
        update(DivorceCase).where(DivorceCase.id == case_id, DivorceCase.status == OPEN_STATUS)
        .values(status=status, closed_at=utcnow(), **values)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def withdraw(case: DivorceCase, id_number: object, staff) -> DivorceCase:
    """One party, in person with their ID document, withdraws the application (撤回) up to
    the last day of cooling-off. The couple's step-2 appointment is cancelled (its seat
    returns) without an SMS: the case sends none once closed. Audited. Runs inside the
    caller's write transaction. 422 not_a_party; 409 case_closed."""
    from booking.transactions import cancel_claimed
    from core.audit import record_audit
    from offices.models import Office

    db.session.refresh(case)
    if not isinstance(id_number, str) or party_hash(id_number) not in (case.party_a_hash,
                                                                        case.party_b_hash):
        raise BookingError(422, "not_a_party", tr(
            "该证件号码不是本离婚登记申请的当事人，只有当事人本人可以撤回。"), field="id_number")
    office = db.session.get(Office, case.office_id)
    today = local_today(office.timezone)
    if case.status != OPEN_STATUS or status_on(case, today) != OPEN_STATUS:
        raise case_closed(case, today)
    if today > case.cooling_off_ends:
        raise BookingError(409, "case_closed", tr(
            "离婚冷静期已于 %(end)s 届满，不能再撤回；双方未在 %(until)s 前申请发给离婚证的，"
            "申请视为撤回。", end=case.cooling_off_ends.isoformat(),
            until=case.step2_until.isoformat()))
    withdrawer = party_hash(id_number)
    if not _close(case.id, "withdrawn", withdrawn_by_party=withdrawer,
                  closed_by_id=getattr(staff, "id", None)):
        db.session.refresh(case)
        raise case_closed(case, today)
    for appointment in step2_appointments(case):
        cancel_claimed(appointment, by=staff, reason=tr("离婚登记申请已撤回"), notify=False)
    record_audit(staff, "divorce_case.withdraw", f"divorce_case:{case.id}", case.office_id,
                 accepted_on=case.accepted_on.isoformat())
    db.session.refresh(case)
    log.info("divorce case %s withdrawn", case.id)
    return case


def withdraw_now(case: DivorceCase, id_number: object, staff) -> DivorceCase:
    """`withdraw` in its own write transaction."""
    from core.database import write_transaction

    with write_transaction():
        return withdraw(case, id_number, staff)


def staffed_case(case_id: int) -> DivorceCase:
    """A case by its id for a staff API path: 404 not_found, 403 for another office's."""
    from core.errors import NotFound
    from offices.queries import api_require_scope

    case = db.session.get(DivorceCase, case_id)
    if case is None:
        raise NotFound(tr("没有这个离婚登记申请。"))
    api_require_scope(case.office_id)
    return case


def case_closed(case: DivorceCase, today: date) -> BookingError:
    """409 case_closed, saying how the case ended."""
    return BookingError(409, "case_closed", closed_reason(case, today))


def closed_reason(case: DivorceCase, today: date) -> str:
    """What happened to a case that is no longer open, in words for the couple or the staff."""
    status = status_on(case, today)
    if status == "withdrawn":
        return tr("该离婚登记申请（%(accepted)s 受理）已撤回，办理程序终止；如仍要离婚，请重新预约“离婚登记申请”。",
                  accepted=case.accepted_on.isoformat())
    if status == "certified":
        return tr("该离婚登记申请（%(accepted)s 受理）已办结，离婚证已发给。",
                  accepted=case.accepted_on.isoformat())
    return tr("该离婚登记申请（%(accepted)s 受理）领取离婚证的期限已于 %(until)s 届满，视为撤回；"
              "如仍要离婚，请重新预约“离婚登记申请”。", accepted=case.accepted_on.isoformat(),
              until=case.step2_until.isoformat())


def step2_appointments(case: DivorceCase) -> list[Appointment]:
    """The couple's active step-2 (divorce-certificate) appointments."""
    return list(db.session.scalars(
        select(Appointment).where(
            Appointment.service_code == "divorce-certificate",
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.applicants.any(Applicant.active_hash.in_(
                [case.party_a_hash, case.party_b_hash])))
        .order_by(Appointment.id)))


def certify(office, party_hashes: list[str]) -> DivorceCase | None:
    """Step 2 registered at the window: the couple's open case at `office` is `certified`.
    Inside the caller's transaction; None when the couple has no open case there."""
    if len(set(party_hashes)) != 2:
        return None
    case = open_case(party_hashes)
    if case is None or case.office_id != office.id:
        return None
    _close(case.id, "certified")
    db.session.refresh(case)
    return case


def _lapse(*conditions) -> int:
    return db.session.execute(
        update(DivorceCase).where(DivorceCase.status == OPEN_STATUS, *conditions)
        .values(status="lapsed", closed_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount


def lapse_due_cases(office) -> int:
    """The day after `certificate_until`, an open case of `office` is `lapsed` (deemed
    withdrawn). Inside the caller's write transaction; running again changes nothing."""
    return _lapse(DivorceCase.office_id == office.id,
                  DivorceCase.step2_until < local_today(office.timezone))


def lapse_due_everywhere() -> int:
    """Every office's due cases lapsed, in one write transaction (the `no-show-sweep` and
    `daily-reset` jobs: whichever runs first on a day does it)."""
    from core.database import write_transaction
    from offices.models import Office

    lapsed = 0
    offices = db.session.scalars(select(Office).order_by(Office.id)).all()
    with write_transaction():
        for office in offices:
            lapsed += lapse_due_cases(office)
    if lapsed:
        log.info("%s divorce case(s) lapsed", lapsed)
    return lapsed


def with_lapsed(summary: RunSummary) -> RunSummary:
    """A job's summary, and the cases it lapsed when there were any."""
    lapsed = lapse_due_everywhere()
    if not lapsed:
        return summary
    return RunSummary.join([summary, DIVORCE_CASES_LAPSED(lapsed=lapsed)])
