"""The office calendar: state holidays and make-up days, peak days, 延时服务, and which
slots exist on a date with how many seats."""


from hours import models  # noqa: E402,F401  (registers the tables)


def init_app(app) -> None:
    from core.extensions import csrf
    from core.i18n import N_
    from core.nav import StaffLink, add_public_office_link, add_staff_link
    from hours import admin_pages, api, pages

    app.register_blueprint(api.blueprint)
    csrf.exempt(api.blueprint)  # public JSON, no cookies
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(admin_pages.blueprint)
    add_staff_link(app, StaffLink("hours_admin.index", N_("办公日历管理"), roles=(),
                                  description=N_("国家节假日、高峰日规则")))
    add_staff_link(app, StaffLink("hours_admin.overrides", N_("特殊安排（闭馆、调整时间）"),
                                  roles=(), per_office=True))
    add_public_office_link(app, "hours_pages.calendar", N_("办公日历"))
