"""A fresh database migrates, loads the default offices, and matches the models."""

import pytest
from flask_migrate import check, downgrade, upgrade
from sqlalchemy import inspect, select

from core.extensions import db
from offices.loader import load_offices_file
from offices.models import Office
from tests.conftest import DEFAULT_OFFICES, make_app
from tests.support import databases


@pytest.fixture
def fresh_database_url(db_backend, tmp_path):
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    databases.require_postgres()
    url = databases.create_pg_database("xiyue_migrate")
    yield url
    databases.drop_pg_database(url)


def test_fresh_database_migrates_loads_offices_and_matches_models(fresh_database_url):
    app = make_app(fresh_database_url)
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        check()  # raises when the models and the migrations differ (flask db check)
        load_offices_file(DEFAULT_OFFICES)
        load_offices_file(DEFAULT_OFFICES)
        assert len(db.session.scalars(select(Office)).all()) == 6
        db.session.remove()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()
