"""JSON: the rating tablet's state (public) and the statistics (admin)."""

from datetime import date

from flask import Blueprint, request
from sqlalchemy import select

from core.auth import api_roles, current_staff
from core.clock import local_today
from core.errors import ApiError, InvalidRequest, NotFound
from core.extensions import db
from feedback import disclosure, ratings, stats
from feedback.settings import setting
from offices.models import Office, Service, Window

blueprint = Blueprint("feedback_api", __name__, url_prefix="/api/v1")


@blueprint.get("/offices/<office>/windows/<window>/rating")
def tablet_state(office: str, window: str):
    """What the window's rating tablet shows now: the ticket to rate, or none."""
    office_row = disclosure.active_office(office)
    if office_row is None:
        raise NotFound(f"No office {office!r}.")
    window_row = db.session.scalar(select(Window).where(Window.office_id == office_row.id,
                                                        Window.number == window))
    if window_row is None:
        raise NotFound(f"No window {window!r} at {office}.")
    ticket = ratings.tablet_ticket(office_row, window_row)
    return {"office": office_row.code, "window": window_row.number,
            "ticket": None if ticket is None else {
                "id": ticket.id, "number": ticket.number, "service": ticket.service_code}}


def _date_arg(name: str, default: date) -> date:
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be a date YYYY-MM-DD, not {raw!r}") from None


def _durations(item: stats.Durations) -> dict:
    return {"count": item.count,
            "mean_minutes": None if item.mean_minutes is None else round(item.mean_minutes, 2),
            "p90_minutes": None if item.p90_minutes is None else round(item.p90_minutes, 2)}


def _figures_json(item: stats.Figures) -> dict:
    return {
        **{name: getattr(item, name) for name in stats.COUNTS},
        "refusals": dict(item.refusals),
        "wait": _durations(item.wait), "service_time": _durations(item.service),
        "ratings": {str(level): n for level, n in sorted(item.ratings.items())},
        "satisfaction_rate": (None if item.satisfaction_rate is None
                              else round(item.satisfaction_rate, 4)),
    }


@blueprint.get("/stats")
@api_roles()
def stats_json():
    """Statistics of a period grouped as asked (admin)."""
    user = current_staff()
    today = local_today()
    start = _date_arg("from", today.replace(day=1))
    end = _date_arg("to", today)
    if end < start:
        raise InvalidRequest("to must not be before from")
    if (end - start).days + 1 > int(setting("STATS_MAX_DAYS")):
        raise InvalidRequest(f"at most {setting('STATS_MAX_DAYS')} days at a time")
    grouping = request.args.get("group") or "office_service_date"
    if grouping not in stats.GROUPINGS:
        raise InvalidRequest(f"group must be one of {', '.join(stats.GROUPINGS)}")
    office_ids = None if user.office_id is None else (user.office_id,)
    code = request.args.get("office")
    if code:
        office = db.session.scalar(select(Office).where(Office.code == code))
        if office is None:
            raise InvalidRequest(f"unknown office {code!r}")
        if not user.can_act_for(office.id):
            raise ApiError(403, "forbidden", "You are not staff of this office.")
        office_ids = (office.id,)
    service = request.args.get("service") or None
    if service is not None and db.session.get(Service, service) is None:
        raise InvalidRequest(f"unknown service {service!r}")
    scope = stats.Scope(start, end, office_ids, service)
    by = stats.GROUPINGS[grouping]
    rows = []
    for row in stats.rows(scope, by):
        entry: dict = {}
        if "date" in by:
            entry["date"] = row.day.isoformat()
            entry["peak"] = row.peak
        if "office" in by:
            entry["office"] = row.office.code if row.office else None
        if "service" in by:
            entry["service"] = row.service
        rows.append(entry | _figures_json(row.figures))
    return {"from": start.isoformat(), "to": end.isoformat(), "group": grouping,
            "total": _figures_json(stats.total(scope)), "rows": rows}


_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}

OPENAPI_PATHS = {
    "/offices/{office}/windows/{window}/rating": {"get": {
        "summary": "The ticket a window's rating tablet offers now (public)",
        "tags": ["public"],
        "parameters": [
            {"name": "office", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "window", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {
            "200": {"description": "{office, window, ticket: null or {id, number, service}}"},
            "404": {"description": "not_found", "content": _PROBLEM}}}},
    "/stats": {"get": {
        "summary": "Service statistics per office, service and day (admin)",
        "tags": ["staff"], "security": [{"bearer": []}],
        "parameters": [
            {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "office", "in": "query", "schema": {"type": "string"}},
            {"name": "service", "in": "query", "schema": {"type": "string"}},
            {"name": "group", "in": "query", "schema": {
                "type": "string", "enum": ["office_service_date", "office_date", "date",
                                           "office_service", "office", "service"]}}],
        "responses": {
            "200": {"description": "{from, to, group, total, rows: [{date?, office?, service?, "
                                   "peak, booked, cancelled, no_shows, tickets, checked_in, "
                                   "walk_ins, missed, registered, refused, unserved, refusals, "
                                   "wait, service_time, ratings, satisfaction_rate}]}"},
            "401": {"description": "unauthorized", "content": _PROBLEM},
            "403": {"description": "forbidden", "content": _PROBLEM},
            "422": {"description": "invalid_request", "content": _PROBLEM}}}},
}
