"""Public pages: the window tablet and SMS rating pages, the suggestion box, and each
office's disclosure page (办事指南) with the registrars' photos."""

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from core.clock import local_today
from core.database import write_transaction
from core.extensions import db, limiter
from core.i18n import current_language, list_sep, localized
from feedback import disclosure, guide, ratings, suggestions, tablets
from feedback.forms import RatingForm, SuggestionForm
from feedback.ratings import LEVEL_LABELS, RatingError
from feedback.settings import setting
from feedback.suggestions import CATEGORY_LABELS, STATUS_LABELS, SuggestionError
from offices.models import Office, Service, Window
from offices.queries import find_office, office_or_404, offices_for

blueprint = Blueprint("feedback_public", __name__)


def _window_or_404(office: Office, number: str) -> Window:
    window = db.session.scalar(select(Window).where(Window.office_id == office.id,
                                                    Window.number == number))
    if window is None:
        abort(404, description=_("没有这个窗口。"))
    return window


def _service_names() -> dict[str, Service]:
    return {s.code: s for s in db.session.scalars(select(Service))}


# --- ratings ----------------------------------------------------------------------------

@blueprint.route("/rate/<office>/<window>", methods=["GET", "POST"])
def tablet(office: str, window: str):
    """The tablet that faces the couple at a window: rates the ticket just completed there.
    Only a browser paired with this window by staff (feedback.tablets) gets it."""
    office_row = office_or_404(office)
    window_row = _window_or_404(office_row, window)
    device = tablets.this_tablet()
    if device is None or (device.office_id, device.window_id) != (office_row.id, window_row.id):
        return _not_this_tablet(office_row, window_row, device)
    form = RatingForm()
    if request.method == "POST":
        if not form.validate():
            flash(_("请重新选择评价等级。"), "error")
            return redirect(url_for(".tablet", office=office, window=window))
        try:
            ratings.rate_at_window(tablets.request_token(), form.ticket.data,
                                   form.level.data, form.comment.data)
        except RatingError as error:
            flash(str(error.message), "error")
            return redirect(url_for(".tablet", office=office, window=window))
        return render_template("feedback/rate_thanks.html", office=office_row,
                               window=window_row, back=url_for(".tablet", office=office,
                                                               window=window))
    ticket = ratings.tablet_ticket(office_row, window_row)
    response = make_response(render_template(
        "feedback/rate_tablet.html", office=office_row, window=window_row, ticket=ticket,
        form=form, levels=LEVEL_LABELS, services=_service_names()))
    tablets.set_cookie(response, tablets.request_token())  # renewed while the tablet is used
    return response


def _not_this_tablet(office: Office, window: Window, device):
    """403: this browser is no paired tablet, or the tablet of another window."""
    paired = None
    if device is not None:
        paired = (db.session.get(Office, device.office_id),
                  db.session.get(Window, device.window_id))
    return render_template("feedback/rate_unpaired.html", office=office, window=window,
                           paired=paired), 403


@blueprint.route("/rate/t/<token:token>", methods=["GET", "POST"])
def rate_link(token: str):
    """The SMS link: rate a completed service later."""
    invite = ratings.invite_for(token)
    if invite is None:
        abort(404, description=_("评价链接无效。"))
    ticket = ratings.invite_ticket(invite)
    office_row = db.session.get(Office, ticket.office_id)
    form = RatingForm()
    if request.method == "POST":
        try:
            if not form.validate():
                raise RatingError("invalid", _("请重新选择评价等级。"))
            ratings.rate_by_token(token, form.level.data, form.comment.data)
        except RatingError as error:
            flash(str(error.message), "error")
            return redirect(url_for(".rate_link", token=token))
        return render_template("feedback/rate_thanks.html", office=office_row, window=None,
                               back=None)
    state = ("rated" if ratings.is_rated(ticket.id)
             else "expired" if ratings.invite_expired(invite) else "open")
    return render_template("feedback/rate_link.html", office=office_row, ticket=ticket,
                           state=state, form=form, levels=LEVEL_LABELS,
                           services=_service_names())


# --- suggestion box -----------------------------------------------------------------------

def _suggestion_limit() -> str:
    return setting("RATELIMIT_SUGGESTION")


def _office_choices() -> list[tuple[str, str]]:
    return [(o.code, localized(o, "name")) for o in offices_for()]


@blueprint.route("/suggestions", methods=["GET", "POST"])
@limiter.limit(_suggestion_limit, methods=["POST"])
def suggestion_box():
    form = SuggestionForm(office_choices=_office_choices())
    if request.method == "GET" and request.args.get("office"):
        form.office.data = request.args["office"]
    if form.validate_on_submit():
        office = find_office(form.office.data)
        if form.office.data and office is None:
            flash(_("请选择列表中的登记处。"), "error")
        else:
            try:
                with write_transaction():
                    item = suggestions.submit(office, form.category.data, form.text.data,
                                              form.name.data, form.phone.data,
                                              current_language())
            except SuggestionError as error:
                flash(str(error), "error")
            else:
                flash(_("已收到您的意见，编号 %(id)s。我们会尽快处理。", id=item.id), "success")
                return redirect(url_for(".suggestion_status", token=item.token))
    elif request.method == "POST":
        for name, errors in form.errors.items():
            label = form[name].label.text if name in form else name
            for message in errors:
                flash(f"{label}：{message}", "error")
    return render_template("feedback/suggestion_form.html", form=form)


@blueprint.get("/suggestions/t/<token:token>")
def suggestion_status(token: str):
    item = suggestions.by_token(token)
    if item is None:
        abort(404, description=_("没有找到这条意见。"))
    office = db.session.get(Office, item.office_id) if item.office_id else None
    return render_template("feedback/suggestion_status.html", item=item, office=office,
                           categories=CATEGORY_LABELS, statuses=STATUS_LABELS)


@blueprint.get("/suggestions/counts")
def suggestion_counts():
    return render_template("feedback/suggestion_counts.html",
                           months=suggestions.monthly_counts(12, today=local_today()))


# --- disclosure ---------------------------------------------------------------------------

@blueprint.get("/info/<office>")
def office_info(office: str):
    office_row = office_or_404(office)
    services = [(service, guide.service_guide(service.code, office_row.accepts_cross_border))
                for service in disclosure.offered_services(office_row)
                if guide.has_guide(service.code)]
    designated = [localized(o, "name") for o in disclosure.cross_border_offices()
                  if o.id != office_row.id]
    where = list_sep().join(designated) or _("省民政厅指定的婚姻登记机关")
    return render_template(
        "feedback/office_info.html", office=office_row, services=services,
        weekly=disclosure.weekly_hours(office_row),
        coming=disclosure.coming_days(office_row), today_plan=disclosure.today_plan(office_row),
        registrars=disclosure.registrars(office_row),
        free_text=guide.pick(guide.FREE_OF_CHARGE), nationwide=guide.pick(guide.NATIONWIDE),
        cross_border=(guide.pick(guide.CROSS_BORDER_HERE) if office_row.accepts_cross_border
                      else guide.pick(guide.CROSS_BORDER_ELSEWHERE).format(offices=where)))


@blueprint.get("/info/photos/<name>")
def registrar_photo(name: str):
    found = disclosure.photo_for(name)
    if found is None:
        abort(404)
    path, content_type = found
    return send_file(path, mimetype=content_type, max_age=3600, conditional=True)
