"""notify: SMS — the outbox, message texts, the Twilio sender, the delivery webhooks and
the admins' outbox page. See docs/sms.md."""


from notify import models  # noqa: E402,F401  (registers the tables)


def init_app(app) -> None:
    from core.extensions import csrf
    from core.i18n import N_
    from core.nav import StaffLink, add_staff_link
    from notify import pages, webhooks

    app.register_blueprint(pages.blueprint)
    app.register_blueprint(webhooks.blueprint)
    csrf.exempt(webhooks.blueprint)  # Twilio signs its requests; it has no CSRF token
    add_staff_link(app, StaffLink(endpoint="notify.outbox", label=N_("短信发件箱"),
                                  roles=("admin",),
                                  description=N_("短信发送状态、失败原因与重发")))
