"""Staff pages: an office's appointments of a day, search by code or ID number (keyed hash),
cancel on behalf of the office (with a reason: audited, SMS to the applicants), a CSV
export of a day with masked ID numbers, and booking, rescheduling and cancelling for a
couple who phones or has no smartphone (电话预约 / 现场代约). Admins everywhere; the front desk for its office
(offices.queries: another office's page is 403, another office's appointment id 404). A
page or export showing applicants' names is audited (docs/api.md §3.4)."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from booking.availability import availability
from booking.errors import BookingError
from booking.forms import OfficeCancelForm, RescheduleForm, SearchForm, StaffBookingForm
from booking.identity import ID_TYPE_NAMES
from booking.pages import book_from_form
from booking.queries import appointments_of_day, search_appointments
from booking.rules import booking_window
from booking.serialize import appointment_json, party_kinds, status_label
from booking.sms import applicant_phones
from booking.transactions import cancel as cancel_appointment
from booking.transactions import reschedule as reschedule_appointment
from core.audit import record_view
from core.auth import Role, current_staff, page_roles
from core.clock import local_now, local_today
from core.extensions import db
from core.i18n import localized
from offices.documents import MAINLAND, documents_text
from offices.models import Office, Service
from offices.queries import row_at_office, staffed_office

blueprint = Blueprint("booking_admin", __name__, url_prefix="/staff/booking")


def _day(office: Office):
    from datetime import date

    text = request.args.get("date", "")
    try:
        return date.fromisoformat(text) if text else local_today(office.timezone)
    except ValueError:
        flash(_("日期格式应为 YYYY-MM-DD。"), "error")
        return local_today(office.timezone)


@blueprint.route("/<office>", methods=["GET", "POST"])
@page_roles(Role.DESK)
def day(office: str):
    """GET: the day's appointments. POST: search (an ID number never goes into a URL)."""
    office_row = staffed_office(office)
    chosen = _day(office_row)
    search = SearchForm()
    searched = request.method == "POST" and search.validate_on_submit()
    if searched:
        rows = search_appointments(office_row, search.q.data)
    else:
        rows = appointments_of_day(office_row, chosen)
    search.q.data = ""  # not echoed back
    names = {s.code: localized(s, "name") for s in db.session.scalars(select(Service))}
    codes = [row.code for row in rows]
    page = render_template("booking/admin_day.html", office=office_row, day=chosen,
                           searched=searched, rows=rows, service_names=names,
                           status_label=status_label, id_type_names=ID_TYPE_NAMES,
                           form=OfficeCancelForm(), search=search)
    if codes:  # the applicants' full names: audited (by the codes, never what was searched)
        record_view(current_staff(), "appointment.list",
                    f"appointments:{office_row.code}:{'search' if searched else chosen}",
                    office_row.id, codes=codes)
    return page


@blueprint.post("/<office>/<int:appointment_id>/cancel")
@page_roles(Role.DESK)
def cancel(office: str, appointment_id: int):
    from booking.models import Appointment

    office_row = staffed_office(office)
    appointment = row_at_office(db.session.get(Appointment, appointment_id), office_row)
    form = OfficeCancelForm()
    if not form.validate_on_submit():
        flash(_("请填写取消原因（将通过短信告知申请人）。"), "error")
    else:
        try:
            cancel_appointment(appointment, by=current_user, reason=form.reason.data.strip())
        except BookingError as error:
            flash(error.detail, "error")
        else:
            flash(_("已代为取消预约 %(code)s，并短信通知申请人。", code=appointment.code),
                  "success")
    if request.form.get("back") == "appointment":
        return redirect(url_for("booking_admin.appointment_page", office=office,
                                appointment_id=appointment.id))
    return redirect(url_for("booking_admin.day", office=office,
                            date=appointment.date.isoformat()))


@blueprint.get("/<office>/export.csv")
@page_roles(Role.DESK)
def export(office: str):
    office_row = staffed_office(office)
    chosen = _day(office_row)
    names = {s.code: localized(s, "name") for s in db.session.scalars(select(Service))}
    out = io.StringIO()
    writer = csv.writer(out)
    # In the staff member's language, like the page the export was asked from.
    writer.writerow([_("预约码"), _("日期"), _("开始时间"), _("结束时间"), _("业务"),
                     _("状态"), _("申请人"), _("证件类型"), _("证件号码（脱敏）")])
    rows = appointments_of_day(office_row, chosen)
    for row in rows:
        for applicant in row.applicants:
            writer.writerow([row.code, row.date.isoformat(), row.start, row.end,
                             names.get(row.service_code, row.service_code),
                             status_label(row.status), applicant.name,
                             _(ID_TYPE_NAMES[applicant.id_type])
                             if applicant.id_type in ID_TYPE_NAMES else applicant.id_type,
                             applicant.id_masked])
    body = "\ufeff" + out.getvalue()  # a BOM so that Excel reads UTF-8
    filename = f"appointments-{office_row.code}-{chosen.isoformat()}.csv"
    # the applicants' full names: audited, one entry per file
    record_view(current_staff(), "appointment.export",
                f"appointments:{office_row.code}:{chosen.isoformat()}", office_row.id,
                codes=[row.code for row in rows])
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- booking for a couple (电话预约 / 现场代约) ------------------------------------------------

def _chosen_day(text: str | None):
    from datetime import date

    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@blueprint.route("/<office>/new", methods=["GET", "POST"])
@page_roles(Role.DESK)
def book_for_couple(office: str):
    """Book for a couple who phones or comes without a smartphone: the public site's rules
    and seats (booking.pages.book_from_form), no rate limit, audited; phones optional (the
    confirmation is printed instead)."""
    office_row = staffed_office(office)
    offered = [db.session.get(Service, code) for code in office_row.service_codes]
    service = next((s for s in offered if s.code == request.args.get("service")), None)
    chosen = _chosen_day(request.args.get("date"))
    view = availability(office_row, service.code, chosen, 1)[0] if service and chosen else None
    form = StaffBookingForm()
    if service is not None:
        while len(form.applicants) < service.applicants:
            form.applicants.append_entry()
    if request.method == "POST" and view is not None:
        start = request.form.get("start", "")
        if not form.validate_on_submit():
            flash(_("表单已过期，请重新提交。"), "error")
        elif not any(s.start == start and s.bookable for s in view.slots):
            flash(_("请选择一个可预约的时段。"), "error")
        else:
            appointment, _redirect = book_from_form(form, office_row, service, chosen, start,
                                                    by=current_staff())
            if appointment is not None:
                flash(_("已代为预约，预约码 %(code)s。", code=appointment.code), "success")
                return redirect(url_for("booking_admin.appointment_page", office=office,
                                        appointment_id=appointment.id))
    for entry in form.applicants:  # ID numbers are never sent back in a page
        entry.form.id_number.data = ""
    window = booking_window(office_row, local_now(office_row.timezone))
    return render_template("booking/staff_book.html", office=office_row, services=offered,
                           service=service, day=chosen, view=view, form=form, window=window,
                           chosen_start=request.form.get("start", ""),
                           documents=documents_text(service.code, [MAINLAND])
                           if service else "")


@blueprint.route("/<office>/<int:appointment_id>", methods=["GET", "POST"])
@page_roles(Role.DESK)
def appointment_page(office: str, appointment_id: int):
    """One appointment for the desk: masked details, the printable confirmation (for people
    without a phone), reschedule (the public rules; audited) and cancel."""
    from booking.models import Appointment

    office_row = staffed_office(office)
    appointment = row_at_office(db.session.get(Appointment, appointment_id), office_row)
    service = db.session.get(Service, appointment.service_code)
    chosen = _chosen_day(request.values.get("date"))
    form = RescheduleForm()
    if request.method == "POST":
        if chosen is None or not form.validate_on_submit():
            flash(_("请选择一个时段。"), "error")
        else:
            try:
                reschedule_appointment(appointment, {"date": chosen.isoformat(),
                                                     "start": form.start.data},
                                       by=current_staff())
            except BookingError as error:
                flash(error.detail, "error")
            else:
                flash(_("已改约至 %(day)s %(start)s，并短信通知申请人。", day=chosen.isoformat(),
                        start=appointment.start), "success")
                return redirect(url_for("booking_admin.appointment_page", office=office,
                                        appointment_id=appointment.id))
    view = (availability(office_row, appointment.service_code, chosen, 1)[0]
            if chosen is not None and appointment.status == "booked" else None)
    phones = applicant_phones(appointment)
    return render_template(
        "booking/staff_appointment.html", appointment=appointment, office=office_row,
        service=service, data=appointment_json(appointment),
        status_label=status_label(appointment.status), id_type_names=ID_TYPE_NAMES,
        documents=documents_text(appointment.service_code, party_kinds(appointment)),
        phones=len(phones),
        view=view, day=chosen, form=form, cancel_form=OfficeCancelForm(),
        window=booking_window(office_row, local_now(office_row.timezone)))
