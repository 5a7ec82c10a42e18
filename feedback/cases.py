"""Follow-up cases (差评回访整改): every 不满意 or 非常不满意 opens one, assigned to an admin
and due a number of working days later by the state calendar; staff update it until it is
resolved. Overdue cases are those not resolved after their due day."""

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core.audit import record_audit
from core.auth import User
from core.clock import local_today, to_local, utcnow
from core.extensions import db
from feedback.models import CASE_STATUSES, FollowUpCase, FollowUpNote, Rating
from feedback.settings import setting
from hours.calendar import add_working_days
from offices.models import Office

CASE_STATUS_LABELS = {"open": _l("待处理"), "in_progress": _l("处理中"), "resolved": _l("已办结")}
NOTE_MAX = 2000


class CaseError(ValueError):
    """A case update that cannot be made; the message says what to fix (a message id)."""


def follow_up_due(opened_on: date) -> date:
    """The due day: FOLLOW_UP_WORKING_DAYS working days after the rating's day, counted on
    the state calendar (holidays skipped, 调休 make-up working days counted)."""
    return add_working_days(opened_on, int(setting("FOLLOW_UP_WORKING_DAYS")))


def choose_assignee(office_id: int) -> User | None:
    """An active admin of the office (else a bureau-wide admin), the one with the fewest
    unresolved cases; None when there is no admin at all."""
    open_counts = (
        select(FollowUpCase.assignee_id, func.count().label("n"))
        .where(FollowUpCase.status != "resolved").group_by(FollowUpCase.assignee_id).subquery())
    for office_filter in (User.office_id == office_id, User.office_id.is_(None)):
        row = db.session.execute(
            select(User).outerjoin(open_counts, open_counts.c.assignee_id == User.id)
            .where(User.role == "admin", User.active.is_(True), office_filter)
            .order_by(func.coalesce(open_counts.c.n, 0), User.id).limit(1)).scalar()
        if row is not None:
            return row
    return None


def open_case(rating: Rating, office: Office) -> FollowUpCase:
    """Open the follow-up case of a bad rating, in the caller's transaction."""
    opened_on = to_local(rating.created_at or utcnow(), office.timezone).date()
    assignee = choose_assignee(office.id)
    case = FollowUpCase(rating_id=rating.id, office_id=office.id, status="open",
                        assignee_id=assignee.id if assignee else None,
                        opened_on=opened_on, due_on=follow_up_due(opened_on))
    db.session.add(case)
    db.session.flush()
    return case


def is_overdue(case: FollowUpCase, today: date) -> bool:
    return case.status != "resolved" and case.due_on < today


def office_today(office_id: int) -> date:
    office = db.session.get(Office, office_id)
    return local_today(office.timezone if office else None)


def update_case(case: FollowUpCase, user: User, status: str, assignee_id: int | None,
                note: str, resolution: str = "") -> FollowUpCase:
    """Change status, assignee, add a note; resolving needs what was done. Audited. The
    caller commits (inside a write transaction)."""
    note = (note or "").strip()
    resolution = (resolution or "").strip()
    if status not in CASE_STATUSES:
        raise CaseError(_l("请选择有效的处理状态。"))
    if len(note) > NOTE_MAX or len(resolution) > NOTE_MAX:
        raise CaseError(_l("说明不能超过 2000 字。"))
    if status == "resolved" and not (resolution or case.resolution):
        raise CaseError(_l("办结前请填写处理结果（回访和整改情况）。"))
    if assignee_id is not None and assignee_id != case.assignee_id:
        assignee = db.session.get(User, assignee_id)
        if assignee is None or not assignee.active or assignee.role != "admin" \
                or not assignee.can_act_for(case.office_id):
            raise CaseError(_l("承办人必须是本登记处在岗的管理员。"))
    before = {"status": case.status, "assignee_id": case.assignee_id}
    if status == case.status and assignee_id == case.assignee_id and not note \
            and (not resolution or resolution == case.resolution):
        raise CaseError(_l("没有需要保存的修改。"))
    case.status = status
    case.assignee_id = assignee_id
    if resolution:
        case.resolution = resolution
    case.resolved_at = utcnow() if status == "resolved" else None
    db.session.add(FollowUpNote(case_id=case.id, user_id=user.id, username=user.username,
                                status=status, text=note or resolution))
    record_audit(user, "feedback.case_update", f"case:{case.id}", case.office_id,
                 status_from=before["status"], status_to=status,
                 assignee_from=before["assignee_id"], assignee_to=assignee_id,
                 note=note[:200])
    return case


def case_query(office_ids: list[int] | None, status: str | None = None,
               overdue_on: date | None = None):
    """Cases of the given offices (None: all), newest first; `overdue_on` keeps the cases
    overdue on that day."""
    query = select(FollowUpCase).order_by(FollowUpCase.due_on, FollowUpCase.id)
    if office_ids is not None:
        query = query.where(FollowUpCase.office_id.in_(office_ids))
    if status:
        query = query.where(FollowUpCase.status == status)
    if overdue_on is not None:
        query = query.where(FollowUpCase.status != "resolved", FollowUpCase.due_on < overdue_on)
    return query


def overdue_count(office_ids: list[int] | None) -> int:
    """Unresolved cases past their due day, each judged by its own office's today."""
    count = 0
    query = select(FollowUpCase.office_id).where(
        FollowUpCase.status != "resolved").distinct()
    if office_ids is not None:
        query = query.where(FollowUpCase.office_id.in_(office_ids))
    for office_id in db.session.scalars(query).all():
        today = office_today(office_id)
        count += db.session.scalar(
            select(func.count()).select_from(FollowUpCase).where(
                FollowUpCase.office_id == office_id, FollowUpCase.status != "resolved",
                FollowUpCase.due_on < today)) or 0
    return count
