"""The admin's view of the timed jobs: schedule, next and last run, and open warnings.

The page speaks the reader's language (Chinese, or English with ?lang=en), the jobs' results
included; `flask jobs list` keeps its own English lines (scheduler/cli.py)."""

from flask import Blueprint, render_template
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from core.auth import Role, page_roles
from core.extensions import db
from core.i18n import N_
from core.summaries import translate_summary
from scheduler import registry

blueprint = Blueprint("scheduler_pages", __name__)

RUN_STATUS_LABELS = {"ok": N_("成功"), "error": N_("出错"), "skipped": N_("跳过"),
                     "running": N_("运行中"), "interrupted": N_("中断")}


def lease_text() -> str:
    """Who runs the jobs, in the request's language (cli._lease_line is the English)."""
    from scheduler.cli import _local
    from scheduler.lease import current_lease

    try:
        state = current_lease(db.engine)
    except SQLAlchemyError as error:
        return _("调度进程：状态未知（%(error)s）", error=str(error).splitlines()[0])
    if state is None:
        return _("调度进程：从未启动过，定时任务都还没有自动运行。")
    if state.expired():
        return _("调度进程：没有在运行（上次由 %(holder)s 运行，%(expired)s 已过期）。",
                 holder=state.holder, expired=_local(state.expires_at))
    return _("调度进程：由 %(holder)s 运行，%(since)s 起；最近续期 %(renewed)s，"
             "%(expires)s 到期。", holder=state.holder, since=_local(state.acquired_at),
             renewed=_local(state.heartbeat_at), expires=_local(state.expires_at))


def page_rows() -> list[dict]:
    """cli.job_rows() with the page's own wording for the schedule, the notes and the last
    run's result (job_runs keeps the English; see core/summaries.py)."""
    from scheduler.cli import job_rows

    notes = {"overdue": _("已过时间仍未运行：调度进程是否在运行？"),
             "unscheduled": _("尚未排入计划：调度进程还没有启动。")}
    rows = []
    for row in job_rows():
        spec = row["spec"]
        rows.append(row | {
            "description": str(row["description"]),
            "schedule": (registry.describe(spec, translated=True) if spec is not None
                         else _("计划设置有误：%(error)s", error=row["schedule_error"])),
            "next_note": notes.get(row["next_state"], ""),
            "result": (translate_summary(row["last_run"].summary, row["last_run"].status)
                       if row["last_run"] else ""),
        })
    return rows


@blueprint.get("/staff/jobs")
@page_roles(Role.ADMIN)
def jobs():
    from scheduler.cli import _local
    from scheduler.notices import active_warnings

    return render_template("scheduler/jobs.html", rows=page_rows(), lease=lease_text(),
                           local=_local, warnings=active_warnings(),
                           status_labels=RUN_STATUS_LABELS)
