"""Staff: accounts, login, API tokens, and the staff home page that links every staff screen."""

from core import audit, auth  # noqa: F401  (registers the tables)


def init_app(app) -> None:
    from core.extensions import csrf
    from staff import api, cli, pages

    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    csrf.exempt(api.blueprint)  # bearer tokens, no cookies
    app.cli.add_command(cli.users_cli)
