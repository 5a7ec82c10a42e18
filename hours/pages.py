"""Public page (政务公开): an office's calendar as a month view, with the coming peak days
and extended hours."""

from datetime import date, timedelta

from flask import Blueprint, flash, render_template

from core.clock import local_today
from core.requests import BadQuery, arg_month
from hours.calendar import DayPlan, day_names, day_plans
from offices.queries import office_or_404

blueprint = Blueprint("hours_pages", __name__)

UPCOMING_DAYS = 90


def month_weeks(plans: list[DayPlan]) -> list[list[DayPlan | None]]:
    """The month's plans in weeks Monday..Sunday, None for the days outside the month."""
    weeks: list[list[DayPlan | None]] = []
    week: list[DayPlan | None] = [None] * plans[0].date.weekday()
    for plan in plans:
        week.append(plan)
        if len(week) == 7:
            weeks.append(week)
            week = []
    if week:
        weeks.append(week + [None] * (7 - len(week)))
    return weeks


def _next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def _notable(plan: DayPlan) -> bool:
    """Worth listing under 'coming days': a peak day, longer hours, or a change."""
    return plan.peak is not None or plan.extended or plan.overridden


@blueprint.get("/calendar/<office>")
def calendar(office: str):
    office = office_or_404(office)
    today = local_today(office.timezone)
    answer = 200
    try:
        first = arg_month() or today.replace(day=1)
    except BadQuery as error:  # this month, and the message saying why
        flash(error.description, "error")
        first, answer = today.replace(day=1), 400
    following = _next_month(first)
    plans = day_plans(office, first, (following - first).days)
    upcoming = [plan for plan in day_plans(office, today, UPCOMING_DAYS) if _notable(plan)]
    return render_template(
        "hours/calendar.html", office=office, today=today, month=first,
        previous_month=(first - timedelta(days=1)).replace(day=1), next_month=following,
        weeks=month_weeks(plans), names=day_names(first, len(plans)),
        upcoming=upcoming, upcoming_names=day_names(today, UPCOMING_DAYS),
        estimated=any(plan.estimated for plan in plans), upcoming_days=UPCOMING_DAYS), answer
