"""Fixtures: an app, its database and a client, on SQLite and on PostgreSQL.

`--db sqlite|postgres|both` (or XIYUE_TEST_DB) picks the databases; by default every test
that uses `app` runs on both. Each test gets an empty database with the schema."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support import databases
from tests.support.live import live_server

pytest_plugins = ["tests.support.browser"]  # chromium, new_page: one Playwright per session

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OFFICES = PROJECT_ROOT / "config" / "offices.toml"
TEST_SECRET = "test-secret-key"


def pytest_addoption(parser):
    parser.addoption("--db", default=os.environ.get("XIYUE_TEST_DB", "both"),
                     choices=["sqlite", "postgres", "both"],
                     help="which database(s) the app fixtures use (default both)")


def pytest_generate_tests(metafunc):
    if "db_backend" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        backends = ["sqlite", "postgres"] if choice == "both" else [choice]
        metafunc.parametrize("db_backend", backends, indirect=True)


@pytest.fixture
def db_backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    yield from databases.private_pg_database()


_schema_ready: set[str] = set()


def _empty_all_tables(app) -> None:
    from core.extensions import db

    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE TABLE " + ", ".join(f'"{t}"' for t in tables)
                              + " RESTART IDENTITY CASCADE"))


@pytest.fixture
def database_url(db_backend, tmp_path, request) -> str:
    if db_backend == "postgres":
        databases.require_postgres()
        return request.getfixturevalue("pg_session_url")
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


def make_app(database_url: str, **overrides):
    from wsgi import create_app

    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": TEST_SECRET,
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
        "PUBLIC_BASE_URL": "http://localhost",
        "SMS_BACKEND": "console",
        "SQLITE_CHECK_DEFERRED_WRITES": True,
    }
    config.update(overrides)
    return create_app(config)


@contextmanager
def apps_with_offices(database_url: str) -> Iterator:
    """make(**overrides): a new app on `database_url` whose database has the schema and the
    default offices; every app made is disposed of at the end. For tests that need apps
    with different settings on one database."""
    from core.extensions import db
    from offices.loader import load_offices_file

    made = []

    def make(**overrides):
        app = make_app(database_url, **overrides)
        with app.app_context():
            db.create_all()
            load_offices_file(DEFAULT_OFFICES)
            db.session.commit()
            db.session.remove()
        made.append(app)
        return app

    try:
        yield make
    finally:
        for app in made:
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def app_overrides() -> dict:
    """Override in a test module to change the app's configuration."""
    return {}


@pytest.fixture
def app(database_url, app_overrides):
    """The app with an empty database that has the schema; an app context is pushed."""
    from core.extensions import db

    app = make_app(database_url, **app_overrides)
    with app.app_context():
        if database_url.startswith("sqlite") or database_url not in _schema_ready:
            db.create_all()
            _schema_ready.add(database_url)
        yield app
        db.session.remove()
    if database_url.startswith("postgresql"):
        _empty_all_tables(app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def offices(app) -> dict:
    """The default offices of config/offices.toml, by code."""
    from sqlalchemy import select

    from core.extensions import db
    from offices.loader import load_offices_file
    from offices.models import Office

    load_offices_file(DEFAULT_OFFICES)
    return {o.code: o for o in db.session.scalars(select(Office))}


@pytest.fixture
def set_now(app):
    """set_now("2026-05-10T10:00:00+08:00") pins the office clock for this app."""

    def pin(iso_timestamp: str | None) -> None:
        app.config["FROZEN_NOW"] = iso_timestamp

    return pin


@pytest.fixture
def staff_headers(app):
    """staff_headers("desk", office="chuanshan") -> {"Authorization": "Bearer …"}."""
    from core.auth import issue_token
    from core.extensions import db
    from staff.services import create_user

    made = {}

    def make(role: str, office: str | None = None) -> dict:
        key = (role, office)
        if key not in made:
            username = f"{role}-{office or 'all'}-{len(made)}"
            user = create_user(username, role, "password-123", office)
            token, _ = issue_token(user)
            db.session.commit()
            made[key] = {"Authorization": f"Bearer {token}"}
        return made[key]

    return make


@pytest.fixture
def live_server_for(database_url, tmp_path):
    """live_server_for(workers=4, env={...}) starts gunicorn against this test's database.
    Use inside the test after the data it needs is committed."""
    servers = []

    def start(workers: int = 4, env: dict | None = None, threads: int = 1):
        context = live_server(database_url, tmp_path, workers=workers, env=env,
                              threads=threads)
        server = context.__enter__()
        servers.append(context)
        return server

    yield start
    for context in reversed(servers):
        context.__exit__(None, None, None)
