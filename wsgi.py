"""Composition root: `create_app(overrides)` wires settings, extensions, features and the
CLI; `app` is built from the environment for `gunicorn wsgi:app`."""

import gc
import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import booking
import feedback
import hallqueue
import hours
import notify
import offices
import scheduler
import staff
from core import notices, openapi  # noqa: F401  (notices: registers its table)
from core.auth import ROLE_NAMES
from core.converters import register_converters
from core.database import configure_engine, init_database
from core.errors import register_error_handlers
from core.extensions import csrf, db, limiter, login_manager, migrate
from core.i18n import init_i18n
from core.nav import public_office_links
from core.requests import register_input_guards
from core.security import init_security
from core.settings import load_settings

FEATURES = (offices, staff, hours, booking, hallqueue, notify, feedback, scheduler)


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    register_converters(app)  # bounded <int:…>, <token:…>, <day:…> for every blueprint
    load_settings(app, overrides)
    configure_logging(app)
    configure_engine(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"),
                     render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    login_manager.login_view = "staff.login"
    login_manager.login_message = None
    csrf.init_app(app)
    limiter.init_app(app)
    init_i18n(app)
    init_security(app)
    register_error_handlers(app)
    register_input_guards(app)
    app.register_blueprint(openapi.blueprint)
    for feature in FEATURES:
        feature.init_app(app)
    init_database(app)
    if app.config["PROXY_FIX_HOPS"]:
        # behind nginx (docs/deploy.md): the client's address and scheme come from the
        # X-Forwarded-* headers of that many trusted proxies (rate limits, secure cookies)
        hops = int(app.config["PROXY_FIX_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    app.jinja_env.globals.update(role_names=ROLE_NAMES,
                                 public_office_links=lambda: public_office_links(app))
    return app


def configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")


app = create_app()

# What is made so far (the modules, the app, its caches and tables) lives as long as the
# process. Frozen, it is out of the collector's sight: a full collection then walks only
# what requests made since, instead of pausing a worker for 100-200 ms (measured: a pause
# inside a call's turn held up every window of the office; bench/analysis.md).
gc.freeze()
