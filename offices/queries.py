"""Looking offices up, and the staff's office scope: the one place that turns an office
code into its row, its name, or a refusal, and that lists the offices a staff member sees.

Pages and the API answer an unknown office and an office a staff member does not belong to
in their own way (an HTML error page or a problem+json body), so each has its helper here.
Staff bound to an office act only there; staff without an office (admins) act everywhere
(User.can_act_for)."""

from __future__ import annotations

from flask import abort, g
from flask_babel import gettext as _
from sqlalchemy import select

from core.auth import User, require_office_access
from core.errors import NotFound
from core.extensions import db
from core.i18n import localized
from offices.models import Office


def find_office(code: object, active_only: bool = True) -> Office | None:
    """The office with this code, or None (also for a code that is not a string)."""
    if not isinstance(code, str) or not code:
        return None
    query = select(Office).where(Office.code == code)
    if active_only:
        query = query.where(Office.active.is_(True))
    return db.session.scalar(query)


def office_display_name(code: str) -> str:
    """The office's name in the reader's language; the code itself for an unknown office."""
    office = find_office(code, active_only=False)
    return localized(office, "name") if office is not None else code


# --- pages -----------------------------------------------------------------------------------

def office_or_404(code: str, active_only: bool = True, not_found: str | None = None) -> Office:
    """For a public page: the office, or the 404 page ("没有这个登记处。" unless the page
    says it its own way: `not_found`)."""
    office = find_office(code, active_only)
    if office is None:
        abort(404, description=not_found if not_found is not None else _("没有这个登记处。"))
    return office


def staffed_office(code: str, active_only: bool = True, not_found: str | None = None,
                   forbidden: str | None = None) -> Office:
    """For a staff page (behind page_roles): the office, 404 when there is none, 403 (with
    the page's `forbidden` text, if any) when the logged-in staff member does not work
    there."""
    office = office_or_404(code, active_only, not_found)
    if not g.staff.can_act_for(office.id):
        abort(403, description=forbidden)
    return office


def offices_for(user: User | None = None, active_only: bool = True) -> list[Office]:
    """The offices in order (the active ones unless active_only=False): all of them, or
    for a staff member bound to an office, that office only."""
    query = select(Office).order_by(Office.id)
    if active_only:
        query = query.where(Office.active.is_(True))
    if user is not None and user.office_id is not None:
        query = query.where(Office.id == user.office_id)
    return list(db.session.scalars(query))


# --- API -------------------------------------------------------------------------------------

def api_office(code: object) -> Office:
    """For an API path: the active office, or a 404 problem."""
    office = find_office(code)
    if office is None:
        raise NotFound(f"No office {code!r}.")
    return office


def api_staffed_office(code: object) -> Office:
    """For a staff API path (behind api_roles): the office, 404 or a 403 problem."""
    office = api_office(code)
    require_office_access(g.staff, office.id)
    return office
