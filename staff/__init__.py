"""Staff: accounts, login, API tokens, and the staff home page that links every staff screen."""

from core import audit, auth  # noqa: F401  (registers the tables)
from core.i18n import N_
from staff import models  # noqa: F401  (registers the tables)


def init_app(app) -> None:
    from flask import request_started

    from core.auth import forget_loaded_user
    from core.extensions import csrf
    from core.nav import StaffLink, add_staff_link
    from staff import api, cli, pages

    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    csrf.exempt(api.blueprint)  # bearer tokens, no cookies
    app.cli.add_command(cli.users_cli)
    request_started.connect(forget_loaded_user, app)  # each request checks its session
    add_staff_link(app, StaffLink("staff.users", N_("账号与登录"), ("admin",),
                                  description=N_("锁定、解锁账号，结束登录会话")))
