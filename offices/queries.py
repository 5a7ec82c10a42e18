"""Looking offices up, and the staff's office scope: the one place that turns an office
code into its row, its name, or a refusal, and that lists the offices a staff member sees.

Pages and the API answer an unknown office and an office a staff member does not belong to
in their own way (an HTML error page or a problem+json body), so each has its helper here.
Staff bound to an office act only there; staff without an office (admins) act everywhere
(User.can_act_for). Every staff view (pages, API, exports, look-ups) goes through these
(docs/api.md §3.4):

- an office named in the path: `staffed_office` (page: 404 or 403), `api_staffed_office`;
- an office named in the query string: `staffed_office` too, or none: `office_scope`;
- a row named by its id (a ticket, appointment, suggestion, case, user): `row_at_office`
  when the path names the office (404 unless the row is that office's), else
  `require_scope` / `api_require_scope` on the row's office (403);
- a row found by what was typed or scanned (an appointment code or ID number): `in_scope`,
  and a row out of scope is not found (the look-up says nothing of another office's);
- lists: `offices_for` and `office_scope` (the ids to filter by); a page of rows of no one
  office (the SMS outbox): `require_all_offices`."""

from __future__ import annotations

from typing import TypeVar

from flask import abort, g
from flask_babel import gettext as _
from sqlalchemy import select

from core.auth import User, require_office_access
from core.errors import ApiError, NotFound
from core.extensions import db
from core.i18n import localized
from offices.models import Office

T = TypeVar("T")


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


# --- the scope of a staff member -------------------------------------------------------------

def office_scope(user: User | None = None) -> list[int] | None:
    """The ids of the offices the staff member (default: the one of this request) sees, to
    filter lists and figures by: None for every office (staff without an office), else
    their one office."""
    user = user if user is not None else g.staff
    return None if user.office_id is None else [user.office_id]


def in_scope(office_id: int | None, user: User | None = None) -> bool:
    """Whether the staff member (default: the one of this request) may see a row of
    `office_id`. A row of no office (a city-wide suggestion) only staff without an office
    see."""
    user = user if user is not None else g.staff
    if office_id is None:
        return user.office_id is None
    return user.can_act_for(office_id)


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


def row_at_office(row: T | None, office: Office) -> T:
    """For a staff page whose path names the office (checked with staffed_office) and a row
    by its id (a ticket, an appointment): the row, or the 404 page when there is none or it
    is another office's (another office's id is not found here)."""
    if row is None or getattr(row, "office_id", None) != office.id:
        abort(404)
    return row


def require_scope(office_id: int | None) -> None:
    """For a staff page showing one row found by its id (a case, a suggestion, a user):
    403 unless the logged-in staff member sees that row's office (`in_scope`)."""
    if not in_scope(office_id):
        abort(403)


def require_all_offices(forbidden: str | None = None) -> None:
    """For a staff page of rows that belong to no one office (the SMS outbox, the state's
    holidays): 403 (with the page's `forbidden` text, if any) for staff bound to an
    office."""
    if g.staff.office_id is not None:
        abort(403, description=forbidden)


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


def api_require_scope(office_id: int | None) -> None:
    """For a staff API path naming a row by its id (a ticket): a 403 problem unless the
    token's staff member sees that row's office."""
    if not in_scope(office_id):
        raise ApiError(403, "forbidden", "You are not staff of this office.")


def cross_border_offices() -> list[Office]:
    """The active offices that take couples with a cross-border party (docs/api.md §4:
    `accepts_cross_border`)."""
    return list(db.session.scalars(
        select(Office).where(Office.active.is_(True), Office.accepts_cross_border.is_(True))
        .order_by(Office.id)))
