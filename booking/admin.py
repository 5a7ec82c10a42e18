"""Staff pages: an office's appointments of a day, search by code or ID number (keyed hash),
cancel on behalf of the office (with a reason: audited, SMS to the applicants), and a CSV
export of a day with masked ID numbers. Admins everywhere; the front desk for its office
(offices.queries: another office's page is 403, another office's appointment id 404). A
page or export showing applicants' names is audited (docs/api.md §3.4)."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from booking.errors import BookingError
from booking.forms import OfficeCancelForm, SearchForm
from booking.identity import ID_TYPE_NAMES
from booking.queries import appointments_of_day, search_appointments
from booking.serialize import status_label
from booking.transactions import cancel as cancel_appointment
from core.audit import record_view
from core.auth import Role, current_staff, page_roles
from core.clock import local_today
from core.extensions import db
from core.i18n import localized
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
