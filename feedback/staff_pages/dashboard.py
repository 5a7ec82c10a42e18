"""The service-quality dashboard: open follow-up cases, suggestions waiting for an answer,
and the figures of today and of the last 30 days."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template
from sqlalchemy import func, select

from core.auth import current_staff, page_roles
from core.clock import local_today
from core.extensions import db
from feedback import cases, stats
from feedback.cases import CASE_STATUS_LABELS
from feedback.models import FollowUpCase, Suggestion
from feedback.staff_pages.common import blueprint, office_names
from offices.queries import office_scope


@blueprint.get("/staff/feedback")
@page_roles()
def dashboard():
    user = current_staff()
    scope_ids = office_scope(user)
    today = local_today()
    open_cases = db.session.scalars(
        cases.case_query(scope_ids).where(FollowUpCase.status != "resolved").limit(50)).all()
    waiting = select(func.count()).select_from(Suggestion).where(
        Suggestion.status.in_(("received", "in_progress")))
    if scope_ids is not None:
        waiting = waiting.where(Suggestion.office_id.in_(scope_ids))
    month = stats.total(stats.Scope(today - timedelta(days=29), today,
                                    tuple(scope_ids) if scope_ids else None))
    today_figures = stats.total(stats.Scope(today, today, tuple(scope_ids) if scope_ids else None))
    return render_template(
        "feedback/staff_dashboard.html", open_cases=open_cases,
        overdue=cases.overdue_count(scope_ids), waiting=db.session.scalar(waiting) or 0,
        month=month, today_figures=today_figures, today=today, office_names=office_names(),
        status_labels=CASE_STATUS_LABELS, is_overdue=cases.is_overdue,
        office_today=cases.office_today)
