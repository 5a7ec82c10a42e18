"""Public API: an office's calendar (CONTRACT §3)."""

from datetime import date, timedelta

from flask import Blueprint, request
from sqlalchemy import select

from core.clock import local_today
from core.errors import InvalidRequest, NotFound
from core.extensions import db
from core.requests import int_arg, parse_date
from hours.calendar import DayPlan, day_plans
from offices.models import Office

blueprint = Blueprint("hours_api", __name__, url_prefix="/api/v1")

MAX_DAYS = 366
DEFAULT_DAYS = 30


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
def office_calendar(office_code: str):
    office = find_office(office_code)
    raw_from = request.args.get("from")
    start = parse_date(raw_from, "from") if raw_from else local_today(office.timezone)
    days = int_arg("days", DEFAULT_DAYS, 1, MAX_DAYS)
    if start > date.max - timedelta(days=days):
        raise InvalidRequest("from and days reach past the year 9999")
    return {"office": office.code,
            "days": [day_json(plan) for plan in day_plans(office, start, days)]}


_DAY_SCHEMA = {
    "type": "object",
    "properties": {
        "date": {"type": "string", "format": "date"},
        "kind": {"type": "string", "enum": ["workday", "weekend", "holiday", "makeup_workday"]},
        "estimated": {"type": "boolean",
                      "description": "the state calendar for that year is only an estimate"},
        "open": {"type": "boolean"},
        "hours": {"type": "array", "items": {
            "type": "object", "properties": {"start": {"type": "string"},
                                             "end": {"type": "string"}}}},
        "peak": {"type": ["object", "null"], "properties": {
            "code": {"type": "string"}, "name": {"type": "string"},
            "name_en": {"type": "string"}}},
        "extended": {"type": "boolean"},
    },
}

OPENAPI_PATHS = {
    "/offices/{office}/calendar": {"get": {
        "summary": "An office's days: open or closed, hours, peak days, extended hours",
        "tags": ["public"],
        "parameters": [
            {"name": "office", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "from", "in": "query", "required": False,
             "description": "first day (default: today in the office's time zone)",
             "schema": {"type": "string", "format": "date"}},
            {"name": "days", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS,
                        "default": DEFAULT_DAYS}},
        ],
        "responses": {
            "200": {"description": "The calendar", "content": {"application/json": {
                "schema": {"type": "object", "properties": {
                    "office": {"type": "string"},
                    "days": {"type": "array", "items": _DAY_SCHEMA}}}}}},
            "404": {"description": "Unknown office (not_found)",
                    "content": {"application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"}}}},
            "422": {"description": "Bad from or days (invalid_request)",
                    "content": {"application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"}}}},
        },
    }},
}
