"""Admin pages: per-office overrides, peak-day rules and the state's yearly notice, each
with a preview of the next 60 days for an office."""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from core.auth import Role, current_staff, page_roles
from core.clock import local_today
from core.extensions import db
from core.i18n import N_, localized
from core.requests import arg_int
from hours import services
from hours.calendar import (
    calendar_warnings,
    day_names,
    day_plans,
    estimate_language,
    estimated_names,
)
from hours.forms import ActionForm, ConfirmYearForm, OverrideForm, PeakRuleForm, StateDaysForm
from offices.models import GLOBAL_SCOPE, Office, PeakDayRule
from offices.queries import offices_for, require_all_offices, staffed_office

blueprint = Blueprint("hours_admin", __name__, url_prefix="/staff/calendar")

PREVIEW_DAYS = 60
# An office's calendar pages to the admin of another office (403):
OTHER_OFFICE = N_("您只能管理本登记处的日历。")


# --- helpers ------------------------------------------------------------------------------

def _require_city_admin() -> None:
    require_all_offices(_("国家节假日和全市高峰日只能由不限登记处的管理员维护。"))


def _preview(office: Office | None) -> dict:
    if office is None:
        return {"preview_office": None, "preview": [], "preview_names": {}}
    today = local_today(office.timezone)
    return {"preview_office": office, "preview": day_plans(office, today, PREVIEW_DAYS),
            "preview_names": day_names(today, PREVIEW_DAYS)}


def _preview_office(offices: list[Office]) -> Office | None:
    code = request.args.get("office")
    for office in offices:
        if office.code == code:
            return office
    return offices[0] if offices else None


def _common(offices: list[Office]) -> dict:
    return {"warnings": calendar_warnings(local_today()), "offices": offices,
            "preview_days": PREVIEW_DAYS}


def _flash_expired(form) -> None:
    """A page that shows `form` again lists its field errors in the error summary and
    beside each field (templates/_error_summary.html); an expired form has no field."""
    if "csrf_token" in form.errors:
        flash(_("表单已过期，请刷新页面后重试。"), "error")


def _flash_form_errors(form) -> None:
    for field_name, errors in form.errors.items():
        label = getattr(form, field_name).label.text if hasattr(form, field_name) else ""
        for error in errors:
            flash(f"{label}：{error}" if label else str(error), "error")


# --- index --------------------------------------------------------------------------------

@blueprint.get("/")
@page_roles(Role.ADMIN)
def index():
    offices = offices_for(current_staff())
    today = local_today()
    years = [services.year_status(today.year), services.year_status(today.year + 1)]
    return render_template("hours/admin_index.html", years=years,
                           **_common(offices), **_preview(_preview_office(offices)))


# --- overrides ----------------------------------------------------------------------------

@blueprint.route("/<office>/overrides", methods=["GET", "POST"])
@page_roles(Role.ADMIN)
def overrides(office: str):
    office = staffed_office(office, active_only=False, forbidden=_(OTHER_OFFICE))
    form = OverrideForm()
    if request.method == "GET":
        edit_day = request.args.get("date")
        if edit_day:
            try:
                day = date.fromisoformat(edit_day)
            except ValueError:
                day = None
            row = next((r for r in services.overrides_for(office) if r.date == day), None)
            if row is not None:
                form.date.data = row.date
                form.mode.data = "closed" if row.closed else "hours"
                form.hours.data = ", ".join(row.hours or [])
                form.note.data = row.note
    elif form.validate_on_submit():
        try:
            services.save_override(current_staff(), office, form.date.data,
                                   form.mode.data == "closed", form.hours.data, form.note.data)
        except services.CalendarAdminError as error:
            flash(str(error), "error")
        else:
            flash(_("已保存 %(day)s 的特殊安排。", day=form.date.data.isoformat()), "success")
            return redirect(url_for("hours_admin.overrides", office=office.code))
    else:
        _flash_expired(form)
    today = local_today(office.timezone)
    return render_template(
        "hours/admin_overrides.html", office=office, form=form, action_form=ActionForm(),
        rows=services.overrides_for(office, today), **_common([office]), **_preview(office))


@blueprint.post("/<office>/overrides/<int:override_id>/delete")
@page_roles(Role.ADMIN)
def delete_override(office: str, override_id: int):
    office = staffed_office(office, active_only=False, forbidden=_(OTHER_OFFICE))
    if ActionForm().validate_on_submit():
        try:
            day = services.delete_override(current_staff(), office, override_id)
        except services.CalendarAdminError as error:
            flash(str(error), "error")
        else:
            flash(_("已删除 %(day)s 的特殊安排。", day=day.isoformat()), "success")
    else:
        flash(_("表单已过期，请刷新页面后重试。"), "error")
    return redirect(url_for("hours_admin.overrides", office=office.code))


# --- peak-day rules -----------------------------------------------------------------------

def _scope_choices(offices: list[Office]) -> list[SelectChoice]:
    choices = ([] if current_staff().office_id is not None
               else [SelectChoice(GLOBAL_SCOPE, _("全部登记处"))])
    return choices + [SelectChoice(office.code, localized(office, "name")) for office in offices]


@blueprint.route("/peak-days", methods=["GET", "POST"])
@page_roles(Role.ADMIN)
def peak_days():
    user = current_staff()
    offices = offices_for(user)
    form = PeakRuleForm()
    form.scope.choices = _scope_choices(offices)
    allowed_scopes = {choice.value for choice in form.scope.choices}
    rule_id = arg_int("edit")
    rule = db.session.get(PeakDayRule, rule_id) if rule_id else None
    if rule is not None and rule.scope not in allowed_scopes:
        abort(403, description=_("您只能编辑本登记处的高峰日规则。"))
    if request.method == "GET" and rule is not None:
        form.scope.data = rule.scope
        form.code.data = rule.code
        form.name.data = rule.name
        form.name_en.data = rule.name_en
        form.dates.data = ", ".join(rule.dates or [])
        form.lunar.data = ", ".join(rule.lunar or [])
        form.hours.data = ", ".join(rule.hours or [])
        form.capacity_factor.data = rule.capacity_factor
        form.open_backup_windows.data = rule.open_backup_windows
        form.active.data = rule.active
    elif request.method == "POST":
        if form.validate_on_submit():
            data = services.PeakRuleInput(
                scope=form.scope.data, code=form.code.data, name=form.name.data,
                name_en=form.name_en.data, dates=form.dates.data, lunar=form.lunar.data,
                hours=form.hours.data, capacity_factor=form.capacity_factor.data,
                open_backup_windows=form.open_backup_windows.data, active=form.active.data)
            try:
                saved = services.save_peak_rule(user, data, rule.id if rule else None)
            except services.CalendarAdminError as error:
                flash(str(error), "error")
            else:
                flash(_("已保存高峰日规则“%(name)s”。", name=localized(saved, "name")), "success")
                return redirect(url_for("hours_admin.peak_days",
                                        office=request.args.get("office")))
        else:
            _flash_expired(form)
    rules = [r for r in services.peak_rules() if r.scope in allowed_scopes]
    return render_template("hours/admin_peak_days.html", form=form, rules=rules, editing=rule,
                           office_names={o.code: localized(o, "name") for o in offices},
                           **_common(offices), **_preview(_preview_office(offices)))


# --- the state's notice -------------------------------------------------------------------

@blueprint.route("/state-days", methods=["GET", "POST"])
@page_roles(Role.ADMIN)
def state_days():
    _require_city_admin()
    offices = offices_for(current_staff())
    today = local_today()
    year = request.args.get("year", type=int) or (
        today.year + 1 if today.month >= 10 else today.year)
    if not 2000 <= year <= 2099:
        flash(_("年份应在 2000 到 2099 之间。"), "error")
        year = today.year
    form = StateDaysForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                rows = services.add_state_days(current_staff(), form.start.data, form.end.data,
                                               form.kind.data, form.name.data)
            except services.CalendarAdminError as error:
                flash(str(error), "error")
            else:
                flash(_("已录入 %(n)s 天。", n=len(rows)), "success")
                return redirect(url_for("hours_admin.state_days", year=form.start.data.year,
                                        office=request.args.get("office")))
        else:
            _flash_expired(form)
    confirm_form = ConfirmYearForm(formdata=None, year=year)
    status = services.year_status(year)
    return render_template(
        "hours/admin_state_days.html", form=form, confirm_form=confirm_form,
        action_form=ActionForm(), year=year, status=status,
        estimate=_estimate_for(year) if not status.bundled else [],
        **_common(offices), **_preview(_preview_office(offices)))


def _estimate_for(year: int) -> list[tuple[date, str]]:
    return sorted(estimated_names(year, estimate_language()).items())


@blueprint.post("/state-days/<day:day>/delete")
@page_roles(Role.ADMIN)
def delete_state_day(day: str):
    _require_city_admin()
    try:
        when = date.fromisoformat(day)
    except ValueError:
        abort(404)
    if ActionForm().validate_on_submit():
        try:
            services.delete_state_day(current_staff(), when)
        except services.CalendarAdminError as error:
            flash(str(error), "error")
        else:
            flash(_("已删除 %(day)s。", day=when.isoformat()), "success")
    return redirect(url_for("hours_admin.state_days", year=when.year))


@blueprint.post("/state-days/confirm")
@page_roles(Role.ADMIN)
def confirm_year():
    _require_city_admin()
    form = ConfirmYearForm()
    year = form.year.data if isinstance(form.year.data, int) else None
    if form.validate_on_submit():
        try:
            services.confirm_year(current_staff(), form.year.data, form.note.data)
        except services.CalendarAdminError as error:
            flash(str(error), "error")
        else:
            flash(_("已确认 %(year)s 年的节假日安排。", year=form.year.data), "success")
    else:
        _flash_form_errors(form)
    return redirect(url_for("hours_admin.state_days", year=year))


@blueprint.post("/state-days/<int:year>/withdraw")
@page_roles(Role.ADMIN)
def withdraw_year(year: int):
    _require_city_admin()
    if ActionForm().validate_on_submit():
        try:
            services.withdraw_confirmation(current_staff(), year)
        except services.CalendarAdminError as error:
            flash(str(error), "error")
        else:
            flash(_("已撤销 %(year)s 年的确认。", year=year), "success")
    return redirect(url_for("hours_admin.state_days", year=year))
