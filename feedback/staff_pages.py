"""Staff pages of service quality: the dashboard, follow-up cases, the suggestion box's
workflow, registrars' public profiles, statistics (page, CSV, monthly report), the audit
log, and the list of rating tablets per office. Admins only, except the tablet list.
An admin bound to an office sees that office only."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.audit import record_audit
from core.auth import User, current_staff, page_roles
from core.clock import local_today, to_local
from core.database import write_transaction
from core.errors import InvalidRequest
from core.extensions import db
from core.i18n import localized
from feedback import auditlog, cases, charts, disclosure, stats, suggestions
from feedback.cases import CASE_STATUS_LABELS, CaseError
from feedback.disclosure import PhotoError
from feedback.forms import CaseForm, RegistrarForm, SuggestionReplyForm
from feedback.models import FollowUpCase, Rating, Suggestion
from feedback.ratings import LEVEL_LABELS, ticket_phone
from feedback.settings import setting
from feedback.suggestions import CATEGORY_LABELS, STATUS_LABELS, SuggestionError
from hallqueue.models import REFUSAL_REASONS, Ticket
from offices.models import Office, Service, Window

blueprint = Blueprint("feedback_staff", __name__)


@blueprint.app_template_filter("local_dt")
def local_dt(value) -> str:
    """An aware datetime as Beijing time, "YYYY-MM-DD HH:MM"."""
    return to_local(value).strftime("%Y-%m-%d %H:%M") if value else ""


# --- who sees what --------------------------------------------------------------------------

def office_scope(user: User) -> list[int] | None:
    """None: every office (a bureau-wide admin); else the one office of the account."""
    return None if user.office_id is None else [user.office_id]


def visible_offices(user: User) -> list[Office]:
    query = select(Office).order_by(Office.id)
    if user.office_id is not None:
        query = query.where(Office.id == user.office_id)
    return list(db.session.scalars(query))


def office_from_arg(code: str | None, user: User) -> Office | None:
    """The office named by a query argument (None when not given); 404 unknown, 403 not
    the account's office."""
    if not code:
        return None
    office = db.session.scalar(select(Office).where(Office.code == code))
    if office is None:
        abort(404, description=_("没有这个登记处。"))
    if not user.can_act_for(office.id):
        abort(403)
    return office


def _check_office(user: User, office_id: int | None) -> None:
    if office_id is None:
        if user.office_id is not None:
            abort(403)
    elif not user.can_act_for(office_id):
        abort(403)


def _office_names() -> dict[int, str]:
    return {o.id: localized(o, "name") for o in db.session.scalars(select(Office))}


# --- dashboard -------------------------------------------------------------------------------

@blueprint.get("/staff/feedback")
@page_roles()
def dashboard():
    user = current_staff()
    scope_ids = office_scope(user)
    today = local_today()
    open_cases = db.session.scalars(
        cases.case_query(scope_ids).where(FollowUpCase.status != "resolved").limit(50)).all()
    waiting = select(func.count()).select_from(Suggestion).where(
        Suggestion.status.in_(("received", "in_progress")))
    if scope_ids is not None:
        waiting = waiting.where(Suggestion.office_id.in_(scope_ids))
    month = stats.total(stats.Scope(today - timedelta(days=29), today,
                                    tuple(scope_ids) if scope_ids else None))
    today_figures = stats.total(stats.Scope(today, today, tuple(scope_ids) if scope_ids else None))
    return render_template(
        "feedback/staff_dashboard.html", open_cases=open_cases,
        overdue=cases.overdue_count(scope_ids), waiting=db.session.scalar(waiting) or 0,
        month=month, today_figures=today_figures, today=today, office_names=_office_names(),
        status_labels=CASE_STATUS_LABELS, is_overdue=cases.is_overdue,
        office_today=cases.office_today)


# --- follow-up cases ---------------------------------------------------------------------------

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
                           office_names=_office_names(), users=users,
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
    _check_office(user, case.office_id)
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
    return render_template(
        "feedback/case_detail.html", case=case, rating=rating, ticket=ticket, window=window,
        phone=ticket_phone(ticket) if ticket else "",
        registrar=registrar, form=form, levels=LEVEL_LABELS, status_labels=CASE_STATUS_LABELS,
        office_names=_office_names(), overdue=cases.is_overdue(case, cases.office_today(
            case.office_id)), services={s.code: s for s in db.session.scalars(select(Service))})


# --- suggestions -------------------------------------------------------------------------------

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
                           office_names=_office_names())


@blueprint.route("/staff/suggestions/<int:suggestion_id>", methods=["GET", "POST"])
@page_roles()
def suggestion_detail(suggestion_id: int):
    user = current_staff()
    item = db.session.get(Suggestion, suggestion_id)
    if item is None:
        abort(404)
    _check_office(user, item.office_id)
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
    return render_template("feedback/suggestion_detail.html", item=item, form=form,
                           statuses=STATUS_LABELS, categories=CATEGORY_LABELS,
                           office_names=_office_names())


# --- registrars' public profiles ---------------------------------------------------------------

@blueprint.get("/staff/registrars")
@page_roles()
def registrar_list():
    user = current_staff()
    offices = visible_offices(user)
    return render_template("feedback/registrars.html",
                           groups=[(o, disclosure.registrars(o, on_duty_only=False))
                                   for o in offices],
                           form=RegistrarForm(), max_kb=int(setting("REGISTRAR_PHOTO_MAX_BYTES"))
                           // 1024)


@blueprint.post("/staff/registrars/<int:user_id>")
@page_roles()
def registrar_update(user_id: int):
    admin = current_staff()
    registrar = db.session.get(User, user_id)
    if registrar is None or registrar.role != "registrar":
        abort(404)
    _check_office(admin, registrar.office_id)
    form = RegistrarForm()
    if not form.validate_on_submit():
        flash(_("请检查填写的内容：工号不超过 32 个字符。"), "error")
        return redirect(url_for(".registrar_list"))
    try:
        with write_transaction():
            disclosure.update_profile(registrar, admin, form.staff_number.data or "",
                                      bool(form.on_duty.data))
            upload = request.files.get("photo")
            if upload is not None and upload.filename:
                disclosure.save_photo(registrar, upload, admin)
    except PhotoError as error:
        flash(str(error), "error")
    else:
        flash(_("已保存 %(name)s 的公示信息。", name=registrar.display_name or registrar.username),
              "success")
    return redirect(url_for(".registrar_list"))


# --- statistics -------------------------------------------------------------------------------

def _parse_day(name: str, default: date) -> date:
    raw = request.args.get(name, "")
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(_("日期格式应为 YYYY-MM-DD：%(value)s", value=raw)) from None


def stats_request(user: User) -> tuple[stats.Scope, Office | None, str, str | None]:
    """(scope, office, grouping, service) from the query string; bad input is InvalidRequest."""
    today = local_today()
    start = _parse_day("start", today.replace(day=1))
    end = _parse_day("end", today)
    if end < start:
        raise InvalidRequest(_("结束日期不能早于开始日期。"))
    if (end - start).days + 1 > int(setting("STATS_MAX_DAYS")):
        raise InvalidRequest(_("一次最多统计 %(days)s 天。", days=setting("STATS_MAX_DAYS")))
    office = office_from_arg(request.args.get("office"), user)
    service = request.args.get("service") or None
    if service is not None and db.session.get(Service, service) is None:
        raise InvalidRequest(_("没有这个业务：%(value)s", value=service))
    grouping = request.args.get("group") or "office_service_date"
    if grouping not in stats.GROUPINGS:
        raise InvalidRequest(_("未知的分组方式：%(value)s", value=grouping))
    if office is not None:
        office_ids = (office.id,)
    else:
        scope_ids = office_scope(user)
        office_ids = tuple(scope_ids) if scope_ids is not None else None
    return stats.Scope(start, end, office_ids, service), office, grouping, service


def _daily_charts(scope: stats.Scope) -> list:
    by_day = stats.figures(scope, ("date",))
    if scope.days <= 62:
        labels = [(scope.start + timedelta(days=i)) for i in range(scope.days)]
        keys = [(d,) for d in labels]
        names = [f"{d.month}/{d.day}" for d in labels]
        groups = [by_day.get(k, stats.Figures()) for k in keys]
    else:  # a long period: one group per month (means stay exact, percentiles are left out)
        months: dict[tuple[int, int], stats.Figures] = {}
        for (day,), item in sorted(by_day.items()):
            months.setdefault((day.year, day.month), stats.Figures()).merge(item)
        names = [f"{y}-{m:02d}" for y, m in months]
        groups = list(months.values())
    volume = charts.bar_chart(
        _("每日办理量"), names,
        [(_("结婚等登记"), [g.registered for g in groups]),
         (_("不予登记"), [g.refused for g in groups]),
         (_("预约签到"), [g.checked_in for g in groups]),
         (_("现场取号"), [g.walk_ins for g in groups])], y_label=_("件"))
    waits = charts.line_chart(
        _("等候时间（分钟）"), names,
        [(_("平均"), [g.wait.mean_minutes for g in groups]),
         (_("90%分位"), [g.wait.p90_minutes for g in groups])], y_label=_("分钟"))
    return [volume, waits]


def _rating_chart(item: stats.Figures):
    return charts.bar_chart(_("评价分布"), [str(LEVEL_LABELS[level]) for level in (5, 4, 3, 2, 1)],
                            [(_("评价数"), [item.ratings.get(level, 0) for level in (5, 4, 3, 2, 1)])],
                            y_label=_("条"), height=220)


def _stats_context(user: User) -> dict:
    scope, office, grouping, service = stats_request(user)
    overall = stats.total(scope)
    return {
        "scope": scope, "office": office, "grouping": grouping, "service": service,
        "total": overall, "rows": stats.rows(scope, stats.GROUPINGS[grouping]),
        "peaks": stats.peak_comparison(scope), "charts": _daily_charts(scope),
        "rating_chart": _rating_chart(overall),
    }


def _common_context(user: User) -> dict:
    return {"offices": visible_offices(user),
            "services": list(db.session.scalars(select(Service).order_by(Service.code))),
            "levels": LEVEL_LABELS, "refusal_labels": stats.REFUSAL_LABELS,
            "reasons": REFUSAL_REASONS, "groupings": stats.GROUPINGS,
            "service_names": stats.service_names()}


@blueprint.get("/staff/stats")
@page_roles()
def stats_page():
    user = current_staff()
    try:
        context = _stats_context(user)
    except InvalidRequest as error:
        flash(error.detail, "error")
        return redirect(url_for(".stats_page"))
    return render_template("feedback/stats.html", args=request.args, **context,
                           **_common_context(user))


@blueprint.get("/staff/stats.csv")
@page_roles()
def stats_csv():
    user = current_staff()
    scope, office, grouping, _service = stats_request(user)
    body = "\ufeff" + stats.to_csv(scope, stats.GROUPINGS[grouping])  # BOM: Excel reads UTF-8
    name = f"xiyue-stats-{office.code if office else 'all'}-{scope.start}-{scope.end}.csv"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _month_arg() -> tuple[date, date]:
    raw = request.args.get("month", "")
    today = local_today()
    if not raw:
        first = today.replace(day=1)
    else:
        try:
            year, month = (int(part) for part in raw.split("-"))
            first = date(year, month, 1)
        except ValueError:
            raise InvalidRequest(_("月份格式应为 YYYY-MM：%(value)s", value=raw)) from None
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


@blueprint.get("/staff/stats/report")
@page_roles()
def monthly_report():
    user = current_staff()
    try:
        first, last = _month_arg()
    except InvalidRequest as error:
        flash(error.detail, "error")
        return redirect(url_for(".monthly_report"))
    office = office_from_arg(request.args.get("office"), user)
    scope_ids = (office.id,) if office else (
        tuple(office_scope(user)) if office_scope(user) is not None else None)
    scope = stats.Scope(first, last, scope_ids)
    today = local_today()
    overall = stats.total(scope)
    by_service = stats.rows(scope, ("service",))
    before_today = stats.Scope(first, min(last, today - timedelta(days=1)), scope_ids)
    backlog = stats.total(before_today).unserved if before_today.end >= first else 0
    suggestion_counts = stats.suggestion_counts(scope)
    refusals_with_reason = sum(n for reason, n in overall.refusals.items()
                               if reason in REFUSAL_REASONS)
    return render_template(
        "feedback/report.html", office=office, first=first, last=last, total=overall,
        by_service=by_service, peaks=stats.peak_comparison(scope),
        cases=stats.case_counts(scope, today), suggestions=suggestion_counts,
        backlog=backlog, refusals_with_reason=refusals_with_reason,
        rating_chart=_rating_chart(overall), charts=_daily_charts(scope),
        categories=CATEGORY_LABELS, **_common_context(user))


# --- audit log ----------------------------------------------------------------------------------

def audit_filters(user: User) -> tuple[auditlog.AuditFilter, int]:
    office = office_from_arg(request.args.get("office"), user)
    start = _parse_day("start", None) if request.args.get("start") else None
    end = _parse_day("end", None) if request.args.get("end") else None
    if start and end and end < start:
        raise InvalidRequest(_("结束日期不能早于开始日期。"))
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    return auditlog.AuditFilter(
        office_id=office.id if office else None,
        username=(request.args.get("user") or "").strip()[:64],
        action=(request.args.get("action") or "").strip()[:64], start=start, end=end), page


@blueprint.get("/staff/audit")
@page_roles()
def audit_page():
    user = current_staff()
    try:
        filters, page = audit_filters(user)
    except InvalidRequest as error:
        flash(error.detail, "error")
        return redirect(url_for(".audit_page"))
    scope_ids = office_scope(user)
    entries, total = auditlog.audit_page(filters, scope_ids, page)
    codes = {o.id: o.code for o in db.session.scalars(select(Office))}
    return render_template(
        "feedback/audit.html", entries=entries, total=total, page=page,
        pages=max(1, -(-total // auditlog.PAGE_SIZE)), filters=filters, args=request.args,
        actions=auditlog.known_actions(scope_ids), usernames=auditlog.known_usernames(scope_ids),
        offices=visible_offices(user), codes=codes)


@blueprint.get("/staff/audit.csv")
@page_roles()
def audit_csv():
    user = current_staff()
    filters, _page = audit_filters(user)
    body = "\ufeff" + auditlog.audit_csv(filters, office_scope(user))
    with write_transaction():
        record_audit(user, "audit.export", "audit", user.office_id,
                     office_filter=request.args.get("office", ""),
                     user_filter=filters.username, action_filter=filters.action,
                     start=str(filters.start or ""),
                     end=str(filters.end or ""))
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="xiyue-audit.csv"'})


# --- the rating tablets of an office -------------------------------------------------------------

@blueprint.get("/staff/feedback/<office>/tablets")
@page_roles("registrar", "desk")
def tablets(office: str):
    user = current_staff()
    office_row = office_from_arg(office, user)
    windows = db.session.scalars(
        select(Window).where(Window.office_id == office_row.id, Window.active.is_(True))
        .order_by(Window.position)).all()
    today = local_today(office_row.timezone)
    rated_today = db.session.scalar(
        select(func.count()).select_from(Rating).where(Rating.office_id == office_row.id,
                                                       Rating.date == today)) or 0
    return render_template("feedback/tablets.html", office=office_row, windows=windows,
                           rated_today=rated_today)
