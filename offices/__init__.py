"""Offices, their services, windows and peak-day rules, and loading them from TOML."""

from offices import models  # noqa: F401  (registers the tables)


def init_app(app) -> None:
    from core.extensions import csrf
    from core.openapi import add_paths
    from offices import api, cli, pages

    app.register_blueprint(api.blueprint)
    csrf.exempt(api.blueprint)
    app.register_blueprint(pages.blueprint)
    app.cli.add_command(cli.offices_cli)
    add_paths(app, api.OPENAPI_PATHS)
