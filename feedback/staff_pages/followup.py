"""Follow-up cases (差评回访): each bad rating opens one; admins assign, note, and resolve
them (feedback.cases). A case page that shows the phone to call back is audited."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from core.audit import record_view
from core.auth import User, current_staff, page_roles
from core.clock import local_today
from core.database import write_transaction
from core.extensions import db
from feedback import cases
from feedback.cases import CASE_STATUS_LABELS, CaseError
from feedback.forms import CaseForm
from feedback.models import FollowUpCase
from feedback.ratings import LEVEL_LABELS, ticket_phone
from feedback.staff_pages.common import blueprint, office_names
from hallqueue.models import Ticket
from offices.models import Service, Window
from offices.queries import office_scope, require_scope


@blueprint.get("/staff/feedback/cases")
@page_roles()
def case_list():
    user = current_staff()
    status = request.args.get("status", "")
    if status and status not in CASE_STATUS_LABELS:
        status = ""
    overdue_only = request.args.get("overdue") == "1"
    query = cases.case_query(office_scope(user), status or None,
                             overdue_on=local_today() if overdue_only else None)
    rows = db.session.scalars(query.limit(500)).all()
    users = {u.id: u for u in db.session.scalars(select(User).where(User.role == "admin"))}
    return render_template("feedback/case_list.html", rows=rows, status=status,
                           overdue_only=overdue_only, status_labels=CASE_STATUS_LABELS,
                           office_names=office_names(), users=users,
                           is_overdue=cases.is_overdue, office_today=cases.office_today,
                           levels=LEVEL_LABELS)


def _assignee_choices(office_id: int) -> list[tuple[str, str]]:
    admins = db.session.scalars(
        select(User).where(User.role == "admin", User.active.is_(True),
                           (User.office_id == office_id) | User.office_id.is_(None))
        .order_by(User.id))
    return [("", _("（未指派）"))] + [(str(u.id), u.display_name or u.username) for u in admins]


@blueprint.route("/staff/feedback/cases/<int:case_id>", methods=["GET", "POST"])
@page_roles()
def case_detail(case_id: int):
    user = current_staff()
    case = db.session.get(FollowUpCase, case_id)
    if case is None:
        abort(404)
    require_scope(case.office_id)
    form = CaseForm()
    form.status.choices = [(code, str(label)) for code, label in CASE_STATUS_LABELS.items()]
    form.assignee.choices = _assignee_choices(case.office_id)
    if request.method == "GET":
        form.status.data = case.status
        form.assignee.data = str(case.assignee_id or "")
    if form.validate_on_submit():
        assignee_id = int(form.assignee.data) if form.assignee.data else None
        try:
            with write_transaction():
                cases.update_case(case, user, form.status.data, assignee_id, form.note.data,
                                  form.resolution.data)
        except CaseError as error:
            flash(str(error), "error")
        else:
            flash(_("已保存。"), "success")
            return redirect(url_for(".case_detail", case_id=case.id))
    elif request.method == "POST":
        flash(_("请检查填写的内容。"), "error")
    rating = case.rating
    ticket = db.session.get(Ticket, rating.ticket_id)
    window = db.session.get(Window, rating.window_id) if rating.window_id else None
    registrar = db.session.get(User, rating.registrar_id) if rating.registrar_id else None
    phone = ticket_phone(ticket) if ticket else ""
    audit = ({"target": f"case:{case.id}", "office_id": case.office_id,
              "ticket": ticket.number} if phone else None)
    page = render_template(
        "feedback/case_detail.html", case=case, rating=rating, ticket=ticket, window=window,
        phone=phone,
        registrar=registrar, form=form, levels=LEVEL_LABELS, status_labels=CASE_STATUS_LABELS,
        office_names=office_names(), overdue=cases.is_overdue(case, cases.office_today(
            case.office_id)), services={s.code: s for s in db.session.scalars(select(Service))})
    if audit is not None:  # the phone to call back: audited
        record_view(user, "feedback.case_view", **audit)
    return page
