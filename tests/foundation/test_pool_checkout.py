"""PostgreSQL: a pooled connection is checked at checkout without a round trip (no
pool_pre_ping SELECT 1): one the server closed while it sat in the pool is replaced there,
and the request that took it never sees the failure (core.database)."""

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DisconnectionError

from core.extensions import db
from tests.conftest import apps_with_offices
from tests.support import databases

# Killing a backend, and the pool options at stake, are PostgreSQL's.
pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url():
    yield from databases.private_pg_database()


@pytest.fixture
def pg_app(database_url):
    """pg_app(**settings): an app with the default offices and GET /api/test/backend, which
    answers the server process id of the connection that served it."""
    with apps_with_offices(database_url) as new_app:

        def make(**overrides):
            app = new_app(**overrides)

            @app.get("/api/test/backend")
            def backend():
                return {"pid": db.session.execute(text("SELECT pg_backend_pid()")).scalar()}

            return app

        yield make


def _backend(client) -> int:
    answer = client.get("/api/test/backend")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["pid"]


def _count_pings(app, monkeypatch) -> list:
    """One entry per pool_pre_ping SELECT 1: the dialect's do_ping sends it on the raw DBAPI
    connection, where before_cursor_execute does not see it."""
    pings = []
    with app.app_context():
        dialect = db.engine.dialect
        ping = dialect.do_ping

        def counted(dbapi_connection):
            pings.append(dbapi_connection)
            return ping(dbapi_connection)

        monkeypatch.setattr(dialect, "do_ping", counted)
    return pings


def test_a_connection_killed_while_pooled_is_replaced_at_checkout(pg_app, database_url):
    app = pg_app()
    client = app.test_client()
    killed = _backend(client)
    with app.app_context():
        engine = db.engine
        assert engine.pool.checkedin() == 1  # the next request takes this one
    replaced = []
    event.listen(engine, "invalidate", lambda _dbapi, _record, error: replaced.append(error))

    outside = create_engine(database_url)
    with outside.connect() as connection:  # waits until the backend has gone
        assert connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"),
                                  {"pid": killed}).scalar()
    outside.dispose()

    assert _backend(client) != killed  # served on a new connection, with no error
    assert len(replaced) == 1 and isinstance(replaced[0], DisconnectionError)
    page = client.get("/book/chuanshan")
    assert page.status_code == 200
    with app.app_context():
        assert engine.pool.checkedin() == 1


def test_no_statement_is_sent_at_checkout(pg_app, monkeypatch):
    app = pg_app()
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert "pool_pre_ping" not in options and options["pool_recycle"] == 1800
    pings = _count_pings(app, monkeypatch)
    sent = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda _c, _cur, statement, *_rest: sent.append(statement))
    client = app.test_client()
    pids = {_backend(client) for _ in range(5)}
    with app.app_context():
        for _ in range(3):
            db.session.execute(text("SELECT pg_backend_pid()"))
            db.session.remove()  # the connection goes back to the pool
    assert len(pids) == 1  # the same pooled connection each time: 8 checkouts
    assert pings == []
    assert sent == ["SELECT pg_backend_pid()"] * 8  # only what the code itself asked


def test_an_explicit_pool_pre_ping_is_kept(pg_app, monkeypatch):
    app = pg_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
                 DATABASE_POOL_RECYCLE_SECONDS=600)
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True,
                                                       "pool_recycle": 600}
    pings = _count_pings(app, monkeypatch)
    client = app.test_client()
    for _ in range(3):
        _backend(client)
    assert len(pings) == 3  # each checkout of the pooled (not new) connection
