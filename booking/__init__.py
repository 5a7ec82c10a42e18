"""booking: online appointments — identity documents, eligibility, seats that never
over-book, divorce cases, no-shows; the public API and pages, and the staff's lists."""


from booking import models  # noqa: E402,F401  (registers the tables)


def init_app(app) -> None:
    from booking import admin, api, cli, divorce_pages, pages
    from core.extensions import csrf
    from core.i18n import N_
    from core.nav import StaffLink, add_public_office_link, add_staff_link

    app.register_blueprint(api.blueprint)
    csrf.exempt(api.blueprint)  # JSON and bearer tokens, no cookies
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(divorce_pages.blueprint)
    app.cli.add_command(cli.privacy_cli)
    add_public_office_link(app, "booking.office_page", N_("预约办理"))
    add_staff_link(app, StaffLink("booking_admin.day", N_("预约管理"), roles=("desk",),
                                  per_office=True,
                                  description=N_("按日查看预约、按预约码或证件号码查询、代为取消、导出")))
    add_staff_link(app, StaffLink("divorce_pages.lookup", N_("离婚登记申请"),
                                  roles=("desk", "registrar"), per_office=True,
                                  description=N_("按当事人证件号码查询、冷静期内撤回、打印撤回确认单")))
    add_staff_link(app, StaffLink("booking_admin.book_for_couple", N_("电话/现场代约"),
                                  roles=("desk",), per_office=True,
                                  description=N_("为来电或没有智能手机的群众预约、改约、取消")))
