"""Service quality: 好差评 ratings and follow-up cases, the suggestion box, public
disclosure pages (办事指南), statistics and the audit log page.

Feedback listens to the hall: a completed ticket (hallqueue.signals.ticket_completed) gets
the "rate our service" SMS, queued in the transaction that completes it."""

from feedback import models, tablets  # noqa: F401  (registers the tables)


def N_(text: str) -> str:
    """Marks a message id for extraction (babel knows N_); it is translated when shown."""
    return text


def init_app(app) -> None:
    from core.extensions import csrf
    from core.nav import StaffLink, add_public_office_link, add_staff_link
    from feedback import api, public, staff_pages, tablet_pages
    from feedback.ratings import queue_rating_sms
    from hallqueue.signals import ticket_completed

    app.register_blueprint(public.blueprint)
    app.register_blueprint(staff_pages.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(tablet_pages.blueprint)
    csrf.exempt(api.blueprint)
    ticket_completed.connect(queue_rating_sms)
    add_public_office_link(app, "feedback_public.office_info", N_("办事指南"))
    add_public_office_link(app, "feedback_public.suggestion_box", N_("意见箱"))
    for endpoint, label, description in (
            ("feedback_staff.dashboard", N_("服务质量"), N_("好差评、回访工单和意见箱概况")),
            ("feedback_staff.case_list", N_("差评回访"), N_("不满意评价的回访整改工单")),
            ("feedback_staff.suggestion_list", N_("意见箱"), N_("受理、答复和办结群众意见")),
            ("feedback_staff.stats_page", N_("统计分析"), N_("办理量、等候时间、满意率，可导出 CSV 和月报")),
            ("feedback_staff.registrar_list", N_("登记员公示"), N_("上传登记员照片、工号")),
            ("feedback_staff.audit_page", N_("审计日志"), N_("工作人员操作记录"))):
        add_staff_link(app, StaffLink(endpoint, label, ("admin",), description=description))
    add_staff_link(app, StaffLink("feedback_staff.tablets", N_("评价平板"),
                                  ("registrar", "desk"), per_office=True,
                                  description=N_("各窗口的好差评平板页面")))
    add_staff_link(app, StaffLink("feedback_tablets.pairing", N_("评价平板配对"), ("desk",),
                                  per_office=True,
                                  description=N_("将设备配对为窗口的评价平板，或取消配对")))
