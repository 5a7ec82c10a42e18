"""JSON: the rating tablet's state (public) and the statistics (admin)."""

from flask import Blueprint
from sqlalchemy import select

from core.auth import api_roles, current_staff
from core.clock import local_today
from core.errors import InvalidRequest, NotFound
from core.extensions import db
from core.openapi import BEARER, answers, spec
from core.requests import query_args
from feedback import disclosure, ratings, stats
from feedback.schemas import Stats, StatsQuery, TabletState
from feedback.settings import setting
from offices.models import Service, Window
from offices.queries import api_require_scope, find_office, office_scope

blueprint = Blueprint("feedback_api", __name__, url_prefix="/api/v1")


@blueprint.get("/offices/<office>/windows/<window>/rating")
@spec.validate(resp=answers(HTTP_200=TabletState, HTTP_404="not_found"), tags=["public"])
def tablet_state(office: str, window: str):
    """What a window's rating tablet shows now: the ticket to rate, or none."""
    office_row = disclosure.active_office(office)
    if office_row is None:
        raise NotFound(f"No office {office!r}.")
    window_row = db.session.scalar(select(Window).where(Window.office_id == office_row.id,
                                                        Window.number == window))
    if window_row is None:
        raise NotFound(f"No window {window!r} at {office}.")
    ticket = ratings.tablet_ticket(office_row, window_row)
    return {"office": office_row.code, "window": window_row.number,
            "ticket": None if ticket is None else {  # no id: only a paired tablet rates
                "number": ticket.number, "service": ticket.service_code}}


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
@spec.validate(query=StatsQuery, resp=answers(
    HTTP_200=Stats, HTTP_403="forbidden (another office's admin)",
    HTTP_422="invalid_request (bad dates or group, to before from, too long a period, "
             "an unknown office or service)"), tags=["staff"], security=BEARER)
def stats_json():
    """Service statistics per office, service and day (admin)."""
    user = current_staff()
    today = local_today()
    args = query_args(StatsQuery)
    start = args.from_ or today.replace(day=1)
    end = args.to or today
    if end < start:
        raise InvalidRequest("to must not be before from")
    if (end - start).days + 1 > int(setting("STATS_MAX_DAYS")):
        raise InvalidRequest(f"at most {setting('STATS_MAX_DAYS')} days at a time")
    grouping = args.group
    scope = office_scope(user)
    office_ids = None if scope is None else tuple(scope)
    code = args.office
    if code:
        office = find_office(code, active_only=False)
        if office is None:
            raise InvalidRequest(f"unknown office {code!r}")
        api_require_scope(office.id)
        office_ids = (office.id,)
    service = args.service
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

