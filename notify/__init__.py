"""notify: SMS — the outbox, message texts and their templates, the senders (console,
Twilio, Alibaba Cloud, Tencent Cloud), the delivery webhooks, `flask sms templates` and the
admins' outbox page. See docs/sms.md."""


from notify import models  # noqa: E402,F401  (registers the tables)


def init_app(app) -> None:
    from core.extensions import csrf
    from core.i18n import N_
    from core.nav import StaffLink, add_staff_link
    from notify import cli, pages, webhooks

    app.cli.add_command(cli.sms_cli)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(webhooks.blueprint)
    csrf.exempt(webhooks.blueprint)  # providers call them: no CSRF token (docs/sms.md)
    add_staff_link(app, StaffLink(endpoint="notify.outbox", label=N_("短信发件箱"),
                                  roles=("admin",),
                                  description=N_("短信发送状态、失败原因与重发")))
