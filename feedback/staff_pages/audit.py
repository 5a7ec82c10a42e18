"""The audit log: staff actions, filtered by office, user, action and dates; the CSV export
is itself audited."""

from __future__ import annotations

from flask import Response, flash, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from core.audit import record_audit
from core.auth import current_staff, page_roles
from core.database import write_transaction
from core.errors import InvalidRequest
from core.extensions import db
from core.requests import BadQuery, arg_page
from feedback import auditlog
from feedback.staff_pages.common import blueprint, office_arg, parse_day
from offices.models import Office
from offices.queries import office_scope, offices_for


def audit_filters() -> tuple[auditlog.AuditFilter, int]:
    office = office_arg()
    start = parse_day("start", None) if request.args.get("start") else None
    end = parse_day("end", None) if request.args.get("end") else None
    if start and end and end < start:
        raise InvalidRequest(_("结束日期不能早于开始日期。"))
    page = arg_page()
    return auditlog.AuditFilter(
        office_id=office.id if office else None,
        username=(request.args.get("user") or "").strip()[:64],
        action=(request.args.get("action") or "").strip()[:64], start=start, end=end), page


@blueprint.get("/staff/audit")
@page_roles()
def audit_page():
    user = current_staff()
    answer = 200
    try:
        filters, page = audit_filters()
    except (InvalidRequest, BadQuery) as error:  # the whole log, and the message saying why
        flash(getattr(error, "detail", None) or error.description, "error")
        filters, page, answer = auditlog.AuditFilter(), 1, 400
    scope_ids = office_scope(user)
    entries, total = auditlog.audit_page(filters, scope_ids, page)
    codes = {o.id: o.code for o in db.session.scalars(select(Office))}
    return render_template(
        "feedback/audit.html", entries=entries, total=total, page=page,
        pages=max(1, -(-total // auditlog.PAGE_SIZE)), filters=filters, args=request.args,
        actions=auditlog.known_actions(scope_ids), usernames=auditlog.known_usernames(scope_ids),
        offices=offices_for(user, active_only=False), codes=codes), answer


@blueprint.get("/staff/audit.csv")
@page_roles()
def audit_csv():
    user = current_staff()
    filters, _page = audit_filters()
    body = "\ufeff" + auditlog.audit_csv(filters, office_scope(user))
    with write_transaction():
        record_audit(user, "audit.export", "audit", user.office_id,
                     office_filter=request.args.get("office", ""),
                     user_filter=filters.username, action_filter=filters.action,
                     start=str(filters.start or ""),
                     end=str(filters.end or ""))
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="xiyue-audit.csv"'})
