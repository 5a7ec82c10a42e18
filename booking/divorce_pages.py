"""Staff pages for divorce cases (docs/api.md §5.1): look a case up by a party's ID number,
withdraw it with the party's ID document presented (撤回), and print the withdrawal
confirmation (撤回确认单). The front desk and the registrars of the office; the window and
desk pages link here with their own page as `back`. The case pages show dates and status
only (no names, no ID numbers); the withdrawal is audited by booking.divorce."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from booking import divorce
from booking.errors import BookingError
from booking.forms import DivorceLookupForm, DivorceWithdrawForm
from booking.models import DivorceCase
from core.auth import Role, current_staff, page_roles
from core.clock import local_today, to_local
from core.extensions import db
from core.i18n import N_
from core.requests import local_path
from offices.queries import row_at_office, staffed_office

blueprint = Blueprint("divorce_pages", __name__, url_prefix="/staff/divorce-cases")

STATUS_LABELS = {"cooling_off": N_("冷静期中"), "certificate_due": N_("冷静期已满，待双方申请发证"),
                 "withdrawn": N_("已撤回"), "certified": N_("已发给离婚证"),
                 "lapsed": N_("逾期未申请发证，视为撤回")}


def status_label(case: DivorceCase, today) -> str:
    status = divorce.status_on(case, today)
    if status == "cooling_off" and today > case.cooling_off_ends:
        status = "certificate_due"
    return _(STATUS_LABELS[status])


def _back(value: str | None) -> str | None:
    return local_path(value)


@blueprint.route("/<office>", methods=["GET", "POST"])
@page_roles(Role.DESK, Role.REGISTRAR)
def lookup(office: str):
    """GET: the look-up form. POST: the cases where that ID number is a party."""
    office_row = staffed_office(office)
    form = DivorceLookupForm()
    back = _back(request.values.get("back"))
    cases = None
    if request.method == "POST":
        if form.validate_on_submit():
            cases = divorce.cases_of_party(office_row, form.id_number.data)
        else:
            flash(_("请填写当事人的证件号码。"), "error")
    form.id_number.data = ""  # an ID number is never sent back in a page
    today = local_today(office_row.timezone)
    return render_template("booking/divorce_cases.html", office=office_row, form=form,
                           cases=cases, today=today, back=back, status_label=status_label,
                           status_on=divorce.status_on, withdraw_form=DivorceWithdrawForm())


@blueprint.post("/<office>/<int:case_id>/withdraw")
@page_roles(Role.DESK, Role.REGISTRAR)
def withdraw(office: str, case_id: int):
    office_row = staffed_office(office)
    case = row_at_office(db.session.get(DivorceCase, case_id), office_row)
    form = DivorceWithdrawForm()
    back = _back(form.back.data)
    if not form.validate_on_submit():
        flash(_("请填写撤回方本人的证件号码（须本人到场出示证件）。"), "error")
        return redirect(url_for(".lookup", office=office_row.code, back=back))
    try:
        divorce.withdraw_now(case, form.id_number.data, current_staff())
    except BookingError as error:
        flash(error.detail, "error")
        return redirect(url_for(".lookup", office=office_row.code, back=back))
    flash(_("离婚登记申请已撤回，请打印撤回确认单交当事人。"), "success")
    return redirect(url_for(".receipt", office=office_row.code, case_id=case.id, back=back))


@blueprint.get("/<office>/<int:case_id>/receipt")
@page_roles(Role.DESK, Role.REGISTRAR)
def receipt(office: str, case_id: int):
    """The withdrawal confirmation (撤回确认单), printable."""
    office_row = staffed_office(office)
    case = row_at_office(db.session.get(DivorceCase, case_id), office_row)
    if case.status != "withdrawn":
        flash(_("该离婚登记申请未撤回。"), "error")
        return redirect(url_for(".lookup", office=office_row.code))
    from core.auth import User

    withdrawn_at = to_local(case.closed_at, office_row.timezone)
    clerk = db.session.get(User, case.closed_by_id) if case.closed_by_id else None
    handled_by = (clerk.display_name or clerk.username) if clerk else ""
    return render_template("booking/divorce_receipt.html", office=office_row, case=case,
                           withdrawn_at=withdrawn_at, handled_by=handled_by,
                           back=_back(request.args.get("back")))
