"""The rule "a change that reads first goes through write_transaction" is checked on every
request the tests make on SQLite (SQLITE_CHECK_DEFERRED_WRITES): a write after a read in a
deferred transaction fails loudly here rather than rarely, as "database is locked", in a
busy office."""

import logging

import pytest
from sqlalchemy import func, select, update

from core.database import DeferredWriteAfterRead, checked_for_deferred_writes, write_transaction
from core.extensions import db
from offices.loader import load_offices_file
from offices.models import Office
from tests.conftest import DEFAULT_OFFICES, make_app


@pytest.fixture
def sqlite_app(tmp_path):
    """SQLite only: the check concerns its lock upgrade (PostgreSQL has no such failure)."""
    app = make_app(f"sqlite:///{tmp_path / 'deferred.sqlite3'}")

    def rename(name: str) -> None:
        db.session.execute(update(Office).where(Office.code == "chuanshan").values(name=name))

    @app.post("/test/read-then-write")
    def read_then_write():
        db.session.scalar(select(func.count()).select_from(Office))
        rename("先读后写")
        db.session.commit()
        return "written"

    @app.post("/test/in-a-write-transaction")
    def in_a_write_transaction():
        with write_transaction():
            db.session.scalar(select(func.count()).select_from(Office))
            rename("写事务中")
        return "written"

    with app.app_context():
        db.create_all()
        load_offices_file(DEFAULT_OFFICES)
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def _name(app) -> str:
    with app.app_context():
        return db.session.scalar(select(Office.name).where(Office.code == "chuanshan"))


def test_a_write_after_a_read_outside_write_transaction_is_refused(sqlite_app, caplog):
    with caplog.at_level(logging.ERROR):
        answer = sqlite_app.test_client().post("/test/read-then-write")
    assert answer.status_code == 500
    assert "POST /test/read-then-write: UPDATE offices" in caplog.text
    assert "use write_transaction()" in caplog.text
    assert _name(sqlite_app) == "遂宁市船山区婚姻登记处"  # nothing written


def test_the_same_change_in_write_transaction_passes(sqlite_app):
    answer = sqlite_app.test_client().post("/test/in-a-write-transaction")
    assert answer.status_code == 200
    assert _name(sqlite_app) == "写事务中"


def test_a_job_run_is_checked_like_a_request(sqlite_app):
    """scheduler.runner runs each job inside checked_for_deferred_writes."""
    with sqlite_app.app_context():
        with pytest.raises(DeferredWriteAfterRead, match="job sample: UPDATE offices"):
            with checked_for_deferred_writes("job sample"):
                db.session.scalar(select(func.count()).select_from(Office))
                db.session.execute(update(Office).values(name="x"))
        db.session.rollback()
        # outside a request or a checked run (a test's own set-up, a maintenance shell)
        db.session.scalar(select(func.count()).select_from(Office))
        db.session.execute(update(Office).values(name="x"))
        db.session.rollback()
