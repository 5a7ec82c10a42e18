"""The suggestion box's workflow: the list, and one suggestion taken up (受理), answered
(答复, by SMS where a phone number was given) and closed (办结). A suggestion page that
shows the sender's name or phone is audited."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from core.audit import record_view
from core.auth import current_staff, page_roles
from core.database import write_transaction
from core.extensions import db
from feedback import suggestions
from feedback.forms import SuggestionReplyForm
from feedback.models import Suggestion
from feedback.staff_pages.common import blueprint, office_names
from feedback.suggestions import CATEGORY_LABELS, STATUS_LABELS, SuggestionError
from offices.queries import office_scope, require_scope


@blueprint.get("/staff/suggestions")
@page_roles()
def suggestion_list():
    user = current_staff()
    status = request.args.get("status", "")
    query = select(Suggestion).order_by(Suggestion.created_at.desc(), Suggestion.id.desc())
    scope_ids = office_scope(user)
    if scope_ids is not None:
        query = query.where(Suggestion.office_id.in_(scope_ids))
    if status in STATUS_LABELS:
        query = query.where(Suggestion.status == status)
    else:
        status = ""
    return render_template("feedback/suggestion_list.html",
                           rows=db.session.scalars(query.limit(500)).all(), status=status,
                           statuses=STATUS_LABELS, categories=CATEGORY_LABELS,
                           office_names=office_names())


@blueprint.route("/staff/suggestions/<int:suggestion_id>", methods=["GET", "POST"])
@page_roles()
def suggestion_detail(suggestion_id: int):
    user = current_staff()
    item = db.session.get(Suggestion, suggestion_id)
    if item is None:
        abort(404)
    require_scope(item.office_id)
    form = SuggestionReplyForm()
    if form.validate_on_submit():
        try:
            with write_transaction():
                if form.action.data == "take_up":
                    suggestions.take_up(item, user)
                    message = _("已受理。")
                elif form.action.data == "reply":
                    sms = suggestions.reply(item, user, form.reply.data)
                    message = _("已答复，并已发送短信。") if sms else _("已答复。")
                elif form.action.data == "close":
                    suggestions.close(item, user)
                    message = _("已办结。")
                else:
                    raise SuggestionError(_("未知操作。"))
        except SuggestionError as error:
            flash(str(error), "error")
        else:
            flash(message, "success")
            return redirect(url_for(".suggestion_detail", suggestion_id=item.id))
    elif request.method == "POST":
        flash(_("答复不能超过 300 字（短信发送）。"), "error")
    contact = bool(item.name or item.phone)
    target, office_id = f"suggestion:{item.id}", item.office_id
    page = render_template("feedback/suggestion_detail.html", item=item, form=form,
                           statuses=STATUS_LABELS, categories=CATEGORY_LABELS,
                           office_names=office_names())
    if contact:  # the sender's name or phone: audited
        record_view(user, "feedback.suggestion_view", target, office_id)
    return page
