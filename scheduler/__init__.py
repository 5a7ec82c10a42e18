"""The one APScheduler process (`flask scheduler run`), the job registry (`flask jobs`), the
lease that keeps a second scheduler idle, job runs and system notices. Job functions live
with their feature (hallqueue/extensions.py, hallqueue/jobs.py, booking/retention.py …); the scheduler
imports them.

Web processes never start the scheduler: it exists only as a CLI command."""

from scheduler import models  # noqa: F401  (registers the tables)


def init_app(app) -> None:
    from core.auth import Role
    from core.i18n import N_
    from core.nav import StaffLink, add_staff_link
    from scheduler import cli, pages
    from scheduler.notices import active_warnings

    app.cli.add_command(cli.scheduler_cli)
    app.cli.add_command(cli.jobs_cli)
    app.register_blueprint(pages.blueprint)
    add_staff_link(app, StaffLink(
        "scheduler_pages.jobs", N_("定时任务"), (Role.ADMIN,),
        description=N_("延时服务、每日重置、节假日数据检查等任务的运行情况")))
    # the staff home page shows these: {% include "scheduler/_warnings.html" %}
    app.jinja_env.globals["system_warnings"] = active_warnings
