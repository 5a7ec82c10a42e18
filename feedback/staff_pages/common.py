"""The staff pages' blueprint and what its views share: the `local_dt` template filter,
which offices an admin sees, and dates from the query string."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, request
from flask_babel import gettext as _
from sqlalchemy import select

from core.auth import User
from core.clock import to_local
from core.errors import InvalidRequest
from core.extensions import db
from core.i18n import localized
from offices.models import Office
from offices.queries import staffed_office

blueprint = Blueprint("feedback_staff", __name__)


@blueprint.app_template_filter("local_dt")
def local_dt(value) -> str:
    """An aware datetime as Beijing time, "YYYY-MM-DD HH:MM"."""
    return to_local(value).strftime("%Y-%m-%d %H:%M") if value else ""


# --- who sees what --------------------------------------------------------------------------

def office_scope(user: User) -> list[int] | None:
    """None: every office (a bureau-wide admin); else the one office of the account."""
    return None if user.office_id is None else [user.office_id]


def office_arg() -> Office | None:
    """The office named by ?office= (None when not given); 404 unknown, 403 not the
    account's office."""
    code = request.args.get("office")
    return staffed_office(code, active_only=False) if code else None


def check_office(user: User, office_id: int | None) -> None:
    """403 unless `user` may see a row of `office_id` (None: a row of no office, which
    only bureau-wide admins see)."""
    if office_id is None:
        if user.office_id is not None:
            abort(403)
    elif not user.can_act_for(office_id):
        abort(403)


def office_names() -> dict[int, str]:
    return {o.id: localized(o, "name") for o in db.session.scalars(select(Office))}


# --- the query string -------------------------------------------------------------------------

def parse_day(name: str, default: date | None) -> date | None:
    raw = request.args.get(name, "")
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(_("日期格式应为 YYYY-MM-DD：%(value)s", value=raw)) from None
