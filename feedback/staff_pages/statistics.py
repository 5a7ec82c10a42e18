"""Statistics: the page with its charts, the CSV export, and the monthly report."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from core.auth import User, current_staff, page_roles
from core.clock import local_today
from core.errors import InvalidRequest
from core.extensions import db
from core.requests import iso_month
from feedback import charts, stats
from feedback.ratings import LEVEL_LABELS
from feedback.settings import setting
from feedback.staff_pages.common import blueprint, office_arg, parse_day
from feedback.suggestions import CATEGORY_LABELS
from hallqueue.models import REFUSAL_REASONS
from offices.models import Office, Service
from offices.queries import office_scope, offices_for


def stats_request(user: User) -> tuple[stats.Scope, Office | None, str, str | None]:
    """(scope, office, grouping, service) from the query string; bad input is InvalidRequest."""
    today = local_today()
    start = parse_day("start", today.replace(day=1))
    end = parse_day("end", today)
    if end < start:
        raise InvalidRequest(_("结束日期不能早于开始日期。"))
    if (end - start).days + 1 > int(setting("STATS_MAX_DAYS")):
        raise InvalidRequest(_("一次最多统计 %(days)s 天。", days=setting("STATS_MAX_DAYS")))
    office = office_arg()
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
    return {"offices": offices_for(user, active_only=False),
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


# --- the monthly report ---------------------------------------------------------------------------

def _month_arg() -> tuple[date, date]:
    raw = request.args.get("month", "")
    today = local_today()
    if not raw:
        first = today.replace(day=1)
    else:
        try:
            first = iso_month(raw)  # YYYY-MM, years 2000-2100
        except ValueError:
            raise InvalidRequest(_("月份格式应为 YYYY-MM：%(value)s", value=raw[:20])) from None
    return _month_bounds(first)


def _month_bounds(first: date) -> tuple[date, date]:
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


@blueprint.get("/staff/stats/report")
@page_roles()
def monthly_report():
    user = current_staff()
    answer = 200
    try:
        first, last = _month_arg()
    except InvalidRequest as error:  # this month's report, and the message saying why
        flash(error.detail, "error")
        first, last = _month_bounds(local_today().replace(day=1))
        answer = 400
    office = office_arg()
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
        categories=CATEGORY_LABELS, **_common_context(user)), answer
