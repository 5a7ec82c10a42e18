"""Database wiring: SQLite pragmas and IMMEDIATE write transactions; one write-transaction
helper that every service uses for a change that must be atomic."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from core.extensions import db

log = logging.getLogger(__name__)

IMMEDIATE = "xiyue_immediate"


def configure_engine(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})  # never the shared default
    if uri.startswith("sqlite"):
        connect_args = dict(options.get("connect_args", {}))
        connect_args.setdefault("timeout", app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000)
        options["connect_args"] = connect_args
    else:
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        immediate = connection.get_execution_options().get(IMMEDIATE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        connection.info[_TRANSACTION] = {"immediate": bool(immediate), "read": False}


_TRANSACTION = "xiyue_transaction"
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class DeferredWriteAfterRead(RuntimeError):
    """A request or job run wrote in a transaction that began with a plain BEGIN after
    reading in it: on SQLite such a write fails at once ("database is locked") when another
    connection committed meanwhile. The change belongs in `with write_transaction():`."""


_checked_work: ContextVar[str | None] = ContextVar("xiyue_checked_work", default=None)


@contextmanager
def checked_for_deferred_writes(label: str) -> Iterator[None]:
    """Work outside a request that the check below covers as it covers requests (the
    scheduler's job runs): `label` names it in the error."""
    token = _checked_work.set(label)
    try:
        yield
    finally:
        _checked_work.reset(token)


def _check_deferred_writes(engine: Engine) -> None:
    """Tests (SQLITE_CHECK_DEFERRED_WRITES): refuse, during a request or a job run, a write
    that follows a read in a deferred transaction, naming the statement, so the rule "a
    change that reads first goes through write_transaction" is checked by every test that
    goes through a view or the job runner, not only by the rare race that breaks it."""

    @event.listens_for(engine, "before_cursor_execute")
    def on_statement(connection, _cursor, statement, _parameters, _context, _many):
        transaction = connection.info.get(_TRANSACTION)
        if transaction is None or transaction["immediate"]:
            return
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if verb in ("SELECT", "WITH"):
            transaction["read"] = True
        elif verb in _WRITES and transaction["read"]:
            where = (f"{request.method} {request.path}" if has_request_context()
                     else _checked_work.get())
            if where:
                raise DeferredWriteAfterRead(
                    f"{where}: {statement.split(chr(10))[0][:120]} "
                    "after a read in a deferred transaction; use write_transaction()")

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def on_end(connection):
        connection.info.pop(_TRANSACTION, None)


def _end_session(_error: BaseException | None) -> None:
    """End the request's session (rolling back what was not committed) before
    Flask-SQLAlchemy's own teardown finds nothing left to do. If the database went away after
    the view made its answer, that rollback fails; the answer is still sent rather than
    turned into a bare 500 by the WSGI server, and the pool replaces the dead connection."""
    try:
        db.session.remove()
    except DBAPIError as error:
        log.warning("the database connection was lost as a request ended (%s); "
                    "the pool replaces it", type(error.orig).__name__)
        try:
            db.session().invalidate()
        finally:
            db.session.registry.clear()


def init_database(app: Flask) -> None:
    """Called after db.init_app: teardown functions run last-registered first, so
    _end_session runs before Flask-SQLAlchemy's."""
    app.teardown_appcontext(_end_session)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _sqlite_pragmas(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
            if app.config.get("SQLITE_CHECK_DEFERRED_WRITES"):
                _check_deferred_writes(engine)


@contextmanager
def write_transaction() -> Iterator:
    """A transaction that takes the write lock at its start on SQLite (BEGIN IMMEDIATE), so
    that a read-then-write never fails half way; PostgreSQL runs it as usual. Commits on
    success and rolls back on any exception."""
    session = db.session()  # the scoped session proxies neither in_transaction nor connection options
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={IMMEDIATE: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"
