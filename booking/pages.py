"""The public booking pages, Chinese first, working without JavaScript: office → service →
month calendar → slot → applicants → confirm; and the manage page (/a/<token>) that shows,
reschedules and cancels. Views are thin: booking.rules, booking.availability and
booking.transactions decide."""

from __future__ import annotations

import calendar as month_calendar
from datetime import date, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from booking.api import ics_response
from booking.availability import availability, next_free_days
from booking.errors import BookingError
from booking.forms import BookingForm, ConfirmForm, RescheduleForm
from booking.identity import ID_TYPE_NAMES
from booking.queries import appointment_by_token, service_for
from booking.rules import APPLICANT_FIELDS, booking_window, parse_applicants, slot_started
from booking.serialize import appointment_json, documents_of, status_label
from booking.transactions import book_parsed, cancel, reschedule
from core.clock import local_now, local_today
from core.errors import ApiError
from core.extensions import db, limiter
from core.i18n import N_, current_language
from core.requests import BadQuery, arg_month
from hours.calendar import day_plans
from offices.documents import CROSS_BORDER_KINDS, MAINLAND, documents_by_kind
from offices.models import Office, Service
from offices.queries import cross_border_offices, office_or_404

blueprint = Blueprint("booking", __name__)

# The calendar's column heads (message ids; translated in templates/booking/calendar.html).
WEEKDAY_NAMES = (N_("一"), N_("二"), N_("三"), N_("四"), N_("五"), N_("六"), N_("日"))


def _booking_limit() -> str:
    return current_app.config["RATELIMIT_BOOKING"]


def _lookup_limit() -> str:
    return current_app.config["RATELIMIT_LOOKUP"]


def _service(office: Office, code: str) -> Service:
    try:
        return service_for(office, code)
    except ApiError:
        abort(404)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(404)


def _month(office: Office, default: date) -> tuple[date, int]:
    """?month= and the answer's status: the month if it is between this month and the last
    bookable one (an old link shows the default month, 200); a month that is no YYYY-MM of
    the years any calendar shows is the default month with a message and 400."""
    try:
        chosen = arg_month()
    except BadQuery as error:
        flash(error.description, "error")
        return default.replace(day=1), 400
    if chosen is not None:
        window = booking_window(office, local_now(office.timezone))
        this_month = local_today(office.timezone).replace(day=1)
        if this_month <= chosen <= window.last.replace(day=1):
            return chosen, 200
    return default.replace(day=1), 200


def _month_grid(office: Office, service_code: str, month: date) -> list[list]:
    days_in_month = month_calendar.monthrange(month.year, month.month)[1]
    views = availability(office, service_code, month, days_in_month)
    cells: list = [None] * month.weekday() + list(views)
    cells += [None] * (-len(cells) % 7)
    return [cells[i:i + 7] for i in range(0, len(cells), 7)]


def _month_nav(office: Office, month: date) -> tuple[date | None, date | None]:
    window = booking_window(office, local_now(office.timezone))
    this_month = local_today(office.timezone).replace(day=1)
    previous = (month - timedelta(days=1)).replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    return (previous if previous >= this_month else None,
            following if following <= window.last else None)


# --- choosing ------------------------------------------------------------------------------------

@blueprint.get("/book/<office>")
def office_page(office: str):
    office_row = office_or_404(office)
    today = local_today(office_row.timezone)
    week = day_plans(office_row, today, 7)
    offered = [db.session.get(Service, code) for code in office_row.service_codes]
    free_days = {service.code: next_free_days(office_row, service.code)
                 for service in offered}
    return render_template("booking/office.html", office=office_row, week=week,
                           services=offered, free_days=free_days,
                           cross_border_offices=cross_border_offices())


@blueprint.get("/book/<office>/<service>")
def calendar_page(office: str, service: str):
    office_row = office_or_404(office)
    service_row = _service(office_row, service)
    window = booking_window(office_row, local_now(office_row.timezone))
    month, answer = _month(office_row, window.first)
    previous, following = _month_nav(office_row, month)
    return render_template("booking/calendar.html", office=office_row, service=service_row,
                           month=month, weeks=_month_grid(office_row, service_row.code, month),
                           previous=previous, following=following, window=window,
                           weekday_names=WEEKDAY_NAMES, mode="book", appointment=None), answer


@blueprint.get("/book/<office>/<service>/<day:day>")
def day_page(office: str, service: str, day: str):
    office_row = office_or_404(office)
    service_row = _service(office_row, service)
    view = availability(office_row, service_row.code, _date(day), 1)[0]
    return render_template("booking/day.html", office=office_row, service=service_row,
                           view=view, mode="book", appointment=None, form=None)


@blueprint.route("/book/<office>/<service>/<day:day>/apply", methods=["GET", "POST"])
@limiter.limit(_booking_limit, methods=["POST"])
def apply_page(office: str, service: str, day: str):
    office_row = office_or_404(office)
    service_row = _service(office_row, service)
    chosen = _date(day)
    start = request.values.get("start", "")
    view = availability(office_row, service_row.code, chosen, 1)[0]
    slot = next((s for s in view.slots if s.start == start), None)
    if slot is None or not slot.bookable:
        flash(_("该时段不可预约，请重新选择。"), "error")
        return redirect(url_for("booking.day_page", office=office, service=service, day=day))
    form = BookingForm()
    while len(form.applicants) < service_row.applicants:
        form.applicants.append_entry()
    if request.method == "POST" and form.validate_on_submit():
        appointment, elsewhere = book_from_form(form, office_row, service_row, chosen, start)
        if appointment is not None:
            flash(_("预约成功！请保存本页链接，凭预约码到场取号。"), "success")
            return redirect(url_for("booking.manage_page", token=appointment.token))
        if elsewhere is not None:
            return elsewhere
    elif request.method == "POST":
        flash(_("表单已过期，请重新提交。"), "error")
    for entry in form.applicants:  # ID numbers are never sent back in a page
        entry.form.id_number.data = ""
    return render_template("booking/apply.html", office=office_row, service=service_row,
                           day=chosen, slot=slot, form=form, peak=view.plan.peak,
                           ids_cleared=request.method == "POST",
                           documents=documents_by_kind(
                               service_row.code, _kinds_served(office_row)))


def book_from_form(form: BookingForm, office: Office, service: Service, day: date, start: str,
                   by=None):
    """(appointment, None) when booked; else (None, a redirect or None) with the service's
    messages next to the fields they are about, or flashed. `by`: the staff member booking
    for the couple (booking.transactions.book: phones may be left out; a full slot is
    said on the staff page itself, with no redirect)."""
    entries = list(form.applicants)[:service.applicants]
    raw = [{key: (entry.form[key].data or "").strip() for key in APPLICANT_FIELDS}
           for entry in entries]
    # a person left out where the service takes fewer (counselling: one or both)
    while len(raw) > service.min_applicants and not any(
            raw[-1][key] for key in ("name", "id_number", "phone")):
        raw.pop()
    parsed, errors = parse_applicants(raw, local_today(office.timezone),
                                      phone_optional=by is not None)
    if not errors:
        try:
            language = (getattr(form, "language", None) and form.language.data
                        or current_language())  # staff: the couple's language, chosen
            return book_parsed(office, service, day, start, parsed, language, by), None
        except BookingError as error:
            if error.code in ("slot_full", "date_not_bookable") and by is None:
                flash(error.detail, "error")
                return None, redirect(url_for("booking.day_page", office=office.code,
                                              service=service.code, day=day.isoformat()))
            errors = [error]
    for error in errors:
        if error.index is not None and error.index < len(entries) and error.field:
            field = entries[error.index].form[error.field]
            field.errors = [*field.errors, error.detail]
        else:
            flash(error.detail, "error")
    return None, None


# --- managing -------------------------------------------------------------------------------------

def _context(appointment) -> dict:
    office = db.session.get(Office, appointment.office_id)
    service = db.session.get(Service, appointment.service_code)
    now_local = local_now(office.timezone)
    changeable = (appointment.status == "booked"
                  and not slot_started(office, appointment.date, appointment.start, now_local))
    return {"appointment": appointment, "office": office, "service": service,
            "data": appointment_json(appointment), "changeable": changeable,
            "status_label": status_label(appointment.status),
            "id_type_names": ID_TYPE_NAMES,
            "documents": documents_of(appointment)}


def _kinds_served(office: Office) -> list[str]:
    """The kinds of party an office registers: cross-border ones only where it takes them."""
    return [MAINLAND, *(CROSS_BORDER_KINDS if office.accepts_cross_border else ())]


@blueprint.get("/a/<token:token>")
@limiter.limit(_lookup_limit)
def manage_page(token: str):
    appointment = appointment_by_token(token)
    return render_template("booking/manage.html", **_context(appointment))


@blueprint.get("/a/<token:token>/print")
@limiter.limit(_lookup_limit)
def print_page(token: str):
    appointment = appointment_by_token(token)
    return render_template("booking/print.html", **_context(appointment))


@blueprint.get("/a/<token:token>/calendar.ics")
@limiter.limit(_lookup_limit)
def ics_file(token: str):
    return ics_response(appointment_by_token(token))


@blueprint.route("/a/<token:token>/cancel", methods=["GET", "POST"])
@limiter.limit(_booking_limit, methods=["POST"])
def cancel_page(token: str):
    appointment = appointment_by_token(token)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            cancel(appointment)
        except BookingError as error:
            flash(error.detail, "error")
        else:
            flash(_("预约已取消，名额已释放。"), "success")
        return redirect(url_for("booking.manage_page", token=token))
    return render_template("booking/cancel.html", form=form, **_context(appointment))


@blueprint.get("/a/<token:token>/reschedule")
@limiter.limit(_lookup_limit)
def reschedule_calendar(token: str):
    appointment = appointment_by_token(token)
    context = _context(appointment)
    if not context["changeable"]:
        flash(_("此预约不能改约。"), "error")
        return redirect(url_for("booking.manage_page", token=token))
    office, service = context["office"], context["service"]
    window = booking_window(office, local_now(office.timezone))
    month, answer = _month(office, window.first)
    previous, following = _month_nav(office, month)
    return render_template("booking/calendar.html", office=office, service=service,
                           month=month, weeks=_month_grid(office, service.code, month),
                           previous=previous, following=following, window=window,
                           weekday_names=WEEKDAY_NAMES, mode="reschedule",
                           appointment=appointment), answer


@blueprint.route("/a/<token:token>/reschedule/<day:day>", methods=["GET", "POST"])
@limiter.limit(_booking_limit, methods=["POST"])
def reschedule_day(token: str, day: str):
    appointment = appointment_by_token(token)
    context = _context(appointment)
    chosen = _date(day)
    form = RescheduleForm()
    if form.validate_on_submit():
        try:
            reschedule(appointment, {"date": chosen.isoformat(), "start": form.start.data})
        except BookingError as error:
            flash(error.detail, "error")
        else:
            flash(_("改约成功，新的时间已短信通知。"), "success")
            return redirect(url_for("booking.manage_page", token=token))
    elif request.method == "POST":
        flash(_("请选择一个时段。"), "error")
    if not context["changeable"]:
        return redirect(url_for("booking.manage_page", token=token))
    view = availability(context["office"], appointment.service_code, chosen, 1)[0]
    return render_template("booking/day.html", office=context["office"],
                           service=context["service"], view=view, mode="reschedule",
                           appointment=appointment, form=form)
