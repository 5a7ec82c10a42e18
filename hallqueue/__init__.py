"""The hall: check-in and tickets, windows and call-next, the hall display, the kiosk and the
ticket status page. See hallqueue.calling (the atomic claim), hallqueue.numbering (gapless
daily numbers) and hallqueue.display (how calls reach every screen)."""


from hallqueue import models  # noqa: E402,F401  (registers the tables)


def init_app(app) -> None:
    from core.extensions import csrf
    from core.i18n import N_
    from core.nav import StaffLink, add_staff_link
    from hallqueue import api, pages

    app.register_blueprint(api.blueprint)
    csrf.exempt(api.blueprint)  # bearer tokens, no cookies
    app.register_blueprint(pages.blueprint)
    for link in (
        StaffLink("hallqueue_pages.desk", N_("导办台（核验取号）"), ("desk",), per_office=True,
                  description=N_("扫码核验预约、确认双方到场、现场取号")),
        StaffLink("hallqueue_pages.kiosk", N_("自助取号机"), ("desk",), per_office=True,
                  description=N_("在大厅取号机上打开")),
        StaffLink("hallqueue_pages.window_chooser", N_("登记窗口（叫号）"), ("registrar",),
                  per_office=True, description=N_("选择窗口后叫号、办结")),
        StaffLink("hallqueue_pages.display_page", N_("大厅显示屏"), ("desk", "registrar"),
                  per_office=True, description=N_("在大厅大屏上打开，自动叫号播报")),
    ):
        add_staff_link(app, link)
