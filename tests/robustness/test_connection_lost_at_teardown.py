"""The database connection dies after a view has its answer but before the request ends (the
server is stopped at that moment: CI saw a 500 from gunicorn once). The answer the view made
is still sent; the pool replaces the dead connection and the next request is served."""

import pytest
from sqlalchemy import create_engine, text

from core.extensions import db
from tests.conftest import make_app
from tests.robustness.helpers import NOW, OFFICE_TOML
from tests.support import databases

# A connection killed from outside is a PostgreSQL server's doing; SQLite has no such thing.
pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url():
    yield from databases.private_pg_database()


@pytest.fixture
def postgres_app(database_url):
    from offices.loader import load_offices

    app = make_app(database_url, FROZEN_NOW=NOW)
    with app.app_context():
        db.create_all()
        load_offices(OFFICE_TOML)
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_a_finished_answer_survives_the_connection_dying_before_teardown(postgres_app,
                                                                          database_url):
    outside = create_engine(database_url)
    killed = []

    @postgres_app.after_request
    def kill_this_requests_connection(response):
        if not killed:
            pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
            with outside.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
            killed.append(pid)
        return response

    # No app context pushed around the client: each request has its own, so the session's
    # teardown runs at the end of the request, as under gunicorn.
    client = postgres_app.test_client()
    first = client.get("/book/robust")
    assert killed, "the hook did not run"
    assert first.status_code == 200
    assert "健壮性测试登记处" in first.get_data(as_text=True)

    second = client.get("/book/robust")
    assert second.status_code == 200
    with postgres_app.app_context():
        assert db.session.execute(text("SELECT pg_backend_pid()")).scalar() != killed[0]
    outside.dispose()
