"""The staff pages' blueprint and what its views share: the `local_dt` template filter,
the office of the query string, and dates from the query string. Which offices a staff
member sees is offices.queries' (office_scope, require_scope)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, request
from flask_babel import gettext as _
from sqlalchemy import select

from core.clock import to_local
from core.errors import InvalidRequest
from core.extensions import db
from core.i18n import localized
from core.requests import iso_day
from offices.models import Office
from offices.queries import staffed_office

blueprint = Blueprint("feedback_staff", __name__)


@blueprint.app_template_filter("local_dt")
def local_dt(value) -> str:
    """An aware datetime as Beijing time, "YYYY-MM-DD HH:MM"."""
    return to_local(value).strftime("%Y-%m-%d %H:%M") if value else ""


# --- who sees what --------------------------------------------------------------------------

def office_arg() -> Office | None:
    """The office named by ?office= (None when not given); 404 unknown, 403 not the
    account's office."""
    code = request.args.get("office")
    return staffed_office(code, active_only=False) if code else None


def office_names() -> dict[int, str]:
    return {o.id: localized(o, "name") for o in db.session.scalars(select(Office))}


# --- the query string -------------------------------------------------------------------------

def parse_day(name: str, default: date | None) -> date | None:
    raw = request.args.get(name, "")
    if not raw:
        return default
    try:
        return iso_day(raw)  # also years 2000-2100 only: nothing overflows later
    except ValueError:
        raise InvalidRequest(_("日期格式应为 YYYY-MM-DD：%(value)s", value=raw)) from None
