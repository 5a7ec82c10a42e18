"""Offices, their services, windows and peak-day rules, and loading them from TOML."""

from offices import models  # noqa: F401  (registers the tables)


def init_app(app) -> None:
    from core.extensions import csrf
    from core.summaries import set_office_namer
    from offices import api, cli, pages
    from offices.queries import office_display_name

    app.register_blueprint(api.blueprint)
    csrf.exempt(api.blueprint)
    app.register_blueprint(pages.blueprint)
    app.cli.add_command(cli.offices_cli)
    set_office_namer(office_display_name)  # job summaries name offices in the reader's language
