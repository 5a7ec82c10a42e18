"""Public API: an office's calendar (docs/api.md §3)."""

from datetime import date, timedelta

from flask import Blueprint
from sqlalchemy import select

from core.clock import local_today
from core.errors import InvalidRequest, NotFound
from core.extensions import db
from core.openapi import answers, spec
from core.requests import query_args
from hours.calendar import DayPlan, day_plans
from hours.schemas import Calendar, CalendarQuery
from offices.models import Office

blueprint = Blueprint("hours_api", __name__, url_prefix="/api/v1")


def find_office(code: str) -> Office:
    office = db.session.scalar(select(Office).where(Office.code == code,
                                                    Office.active.is_(True)))
    if office is None:
        raise NotFound(f"No office {code!r}.")
    return office


def day_json(plan: DayPlan) -> dict:
    return {
        "date": plan.date.isoformat(),
        "kind": plan.kind,
        "estimated": plan.estimated,
        "open": plan.open,
        "hours": [{"start": start, "end": end} for start, end in plan.hours],
        "peak": None if plan.peak is None else {
            "code": plan.peak.code, "name": plan.peak.name, "name_en": plan.peak.name_en},
        "extended": plan.extended,
    }


@blueprint.get("/offices/<office_code>/calendar")
@spec.validate(query=CalendarQuery, resp=answers(
    HTTP_200=Calendar, HTTP_404="not_found",
    HTTP_422="invalid_request (a bad from or days, or from and days past the year 9999)"),
    tags=["public"])
def office_calendar(office_code: str):
    """An office's days: open or closed, hours, peak days, extended hours."""
    office = find_office(office_code)
    args = query_args(CalendarQuery)
    start = args.from_ or local_today(office.timezone)
    days = args.days
    if start > date.max - timedelta(days=days):
        raise InvalidRequest("from and days reach past the year 9999")
    return {"office": office.code,
            "days": [day_json(plan) for plan in day_plans(office, start, days)]}

