"""Database wiring: SQLite pragmas, IMMEDIATE write transactions and the queue their writers
wait in; PostgreSQL's check of pooled connections at checkout; one write-transaction helper
that every service uses for a change that must be atomic."""

import fcntl
import itertools
import logging
import os
import select
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import unquote, urlsplit

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

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
        # No pool_pre_ping (a SELECT 1 round trip at every checkout): connections are
        # replaced before the server or a firewall drops them, and one it closed meanwhile is
        # noticed at checkout without a round trip (_replace_dead_connections_at_checkout).
        # An explicit pool_pre_ping in SQLALCHEMY_ENGINE_OPTIONS still applies.
        options.setdefault("pool_recycle", app.config["DATABASE_POOL_RECYCLE_SECONDS"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


# --- SQLite: the writers' queue ---------------------------------------------------------
# BEGIN IMMEDIATE that finds the write lock taken sleeps in SQLite's busy handler, which
# polls with growing sleeps (up to 100 ms): the lock is often free long before the writer
# looks again, so under contention the slowest writers wait far longer than the work takes.
# Instead, each IMMEDIATE writer first takes an exclusive flock() on a file beside the
# database and keeps it until its transaction has ended: the kernel queues the waiters and
# wakes one the moment the holder lets go, across threads and processes alike (a flock
# belongs to an open file description, and each DBAPI connection opens its own).

WRITER_LOCK = "xiyue_writer_lock"  # the connection record's info key of its WriterLock

# The WriterLock holding each lock file in this process, by path (at most one can: the
# flock is exclusive). Weak: a lock dropped with its connection is no holder any more.
_holders: "weakref.WeakValueDictionary[str, WriterLock]" = weakref.WeakValueDictionary()


def _writer_lock_path(url: URL) -> str | None:
    """`<database file>-writer.lock`; None for an in-memory database (nothing to share)."""
    database = url.database or ""
    if url.query.get("mode") == "memory" or "mode=memory" in database:
        return None
    if database.startswith("file:"):  # an SQLite URI filename (?uri=true)
        database = unquote(urlsplit(database).path)
    if database in ("", ":memory:"):
        return None
    return os.path.realpath(database) + "-writer.lock"


class WriterLockTimeout(OperationalError):
    """The write lock stayed taken for the whole busy timeout. An OperationalError like the
    busy handler's "database is locked", so that the app answers it the same way (503)."""


class WriterLock:
    """One DBAPI connection's handle on the lock file: its own open file description."""

    def __init__(self, path: str):
        self.path = path
        self.fd: int | None = self._open()
        self.held = False
        self.owner: int | None = None  # the thread that holds it
        self.ticket = 0  # counts acquisitions: a late release of an earlier one does nothing

    def _open(self) -> int:
        # read-only is enough for flock(); O_CLOEXEC keeps it out of child processes
        return os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)

    def acquire(self, timeout: float) -> int | None:
        """Wait (at most `timeout` seconds) for the lock; the ticket to release it with, or
        None when this connection does not queue (see below)."""
        if self.fd is None:  # closed (a detached connection): SQLite's busy handler alone
            return None
        me = threading.get_ident()
        holder = _holders.get(self.path)
        if holder is not None and holder is not self and holder.owner == me:
            # This thread is inside a write transaction on another connection to the same
            # database: waiting for its own lock would hang forever. Go straight to BEGIN
            # IMMEDIATE, whose busy handler fails after the busy timeout, as before.
            return None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: one syscall
        except BlockingIOError:
            self._wait(timeout)
        self.held, self.owner = True, me
        self.ticket += 1
        _holders[self.path] = self
        return self.ticket

    def _wait(self, timeout: float) -> None:
        """A blocking flock() has no timeout: a helper thread makes it while this one waits
        at most `timeout` for it. When time is up, the helper keeps that descriptor and
        closes it once it gets the lock (which lets go of it at once), and this connection
        opens a new one."""
        fd, got, guard = self.fd, threading.Event(), threading.Lock()
        state = {"abandoned": False, "error": None}

        def wait() -> None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as error:
                state["error"] = error
            with guard:
                if state["abandoned"]:
                    os.close(fd)
                else:
                    got.set()

        threading.Thread(target=wait, name="sqlite-writer-wait", daemon=True).start()
        got.wait(timeout)
        with guard:
            if not got.is_set():  # the helper may still win the lock: it lets go of it then
                state["abandoned"] = True
                self.fd = self._open()
                log.warning("waited %g s for the SQLite write lock %s; giving up",
                            timeout, self.path)
                raise WriterLockTimeout(
                    "BEGIN IMMEDIATE", None, sqlite3.OperationalError(
                        f"database is locked: waited {timeout:g} s for the write lock"))
        if state["error"] is not None:
            raise state["error"]

    def release(self, ticket: int | None = None) -> None:
        """Let the next writer in; with a ticket, only if that acquisition still holds it."""
        if not self.held or (ticket is not None and ticket != self.ticket):
            return
        self.held, self.owner = False, None
        if _holders.get(self.path) is self:
            del _holders[self.path]
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self.release()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self) -> None:
        # a connection dropped without the pool's close event: closing the descriptor
        # releases a lock still held
        fd = getattr(self, "fd", None)  # None too when __init__ could not open the file
        if fd is not None:
            os.close(fd)


def _held_writer_lock(connection) -> tuple[WriterLock, int] | None:
    """The WriterLock this connection's transaction took, and its ticket."""
    lock = connection.info.get(WRITER_LOCK)
    if lock is None or not lock.held or lock.owner != threading.get_ident():
        return None
    return lock, lock.ticket


def _sqlite_writer_queue(engine: Engine, lock_path: str) -> None:
    """Open each connection's WriterLock, and let go of it whenever a connection leaves
    use with it still held. SQLAlchemy's commit and rollback events come BEFORE the DBAPI
    commit or rollback: letting the next writer in there would send it into the busy
    handler. write_transaction() lets go once session.commit()/rollback() has returned; the
    pool events below are the safety net for connections that end otherwise."""

    @event.listens_for(engine, "connect")
    def open_lock(_dbapi_connection, record):
        try:
            record.info[WRITER_LOCK] = WriterLock(lock_path)
        except OSError as error:  # a read-only directory, say: SQLite's busy handler alone
            log.warning("cannot open the SQLite writer lock %s (%s); writers will not queue",
                        lock_path, error)

    @event.listens_for(engine, "checkin")
    def release_lock(_dbapi_connection, record):
        # checkin comes after the pool's reset (its rollback), unlike the reset event
        lock = record.info.get(WRITER_LOCK)
        if lock is not None:
            lock.release()

    @event.listens_for(engine, "close")
    def close_lock(_dbapi_connection, record):
        # fires just before the DBAPI connection closes (invalidated, recycled, disposed)
        lock = record.info.pop(WRITER_LOCK, None)
        if lock is not None:
            lock.close()

    @event.listens_for(engine, "detach")
    def close_detached_lock(_dbapi_connection, record):
        # close_detached later gets only the sqlite3 connection, which can carry neither
        # attributes nor weak references to find its lock: let go of it now
        lock = record.info.pop(WRITER_LOCK, None)
        if lock is not None:
            lock.close()


# --- SQLite: WAL checkpoints outside the write lock ---------------------------------------
# SQLite's own auto-checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages,
# copying them into the database and syncing both files while the write lock (and our
# writers' queue) is still held: every writer in every worker waits for it. Instead,
# auto-checkpoint is off and a connection runs a PASSIVE checkpoint once it is back in the
# pool, its lock let go, after every SQLITE_CHECKPOINT_EVERY commits of this process. PASSIVE
# never waits for a lock nor blocks a writer: it copies what no reader still needs, and the
# next one copies the rest. A process's last connection to close checkpoints all that is left.

_COMMITTED = "xiyue_committed"  # the connection record's info key: a commit since checkout


def _sqlite_checkpoints(engine: Engine, every: int) -> None:
    commits = itertools.count(1)  # this process's commits; next() is atomic under the GIL

    @event.listens_for(engine, "commit")
    def note_commit(connection):
        connection.info[_COMMITTED] = True  # the pool record's info, seen again at checkin

    # registered after the writer queue's checkin listener, so it runs after that one has
    # let go of the lock
    @event.listens_for(engine, "checkin")
    def checkpoint(dbapi_connection, record):
        if not record.info.pop(_COMMITTED, False) or next(commits) % every:
            return
        if dbapi_connection is None:  # invalidated on its way back
            return
        try:
            dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
        except sqlite3.Error as error:  # the commit stands; the next checkpoint tries again
            log.warning("SQLite WAL checkpoint failed: %s", error)


def _sqlite_pragmas(engine: Engine, busy_timeout_ms: int, writer_queue: bool,
                    checkpoint_every: int) -> None:
    lock_path = _writer_lock_path(engine.url)  # None: an in-memory database
    checkpoint_outside_lock = lock_path is not None and checkpoint_every > 0

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        # WAL: readers never wait for the writer. synchronous=NORMAL: a commit is not synced
        # to disk by itself (WAL checkpoints are); a power cut may lose the last commits,
        # but never corrupts the database (docs/deploy.md §8).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if checkpoint_outside_lock:
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # _sqlite_checkpoints instead
        cursor.close()

    if writer_queue and lock_path is not None:
        _sqlite_writer_queue(engine, lock_path)
    if checkpoint_outside_lock:
        _sqlite_checkpoints(engine, checkpoint_every)

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        immediate = connection.get_execution_options().get(IMMEDIATE)
        lock = connection.info.get(WRITER_LOCK) if immediate else None
        ticket = lock.acquire(busy_timeout_ms / 1000) if lock is not None else None
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        except BaseException:
            if ticket is not None:
                lock.release(ticket)
            raise
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
        if not connection.invalidated:  # its info went with the DBAPI connection
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


# --- PostgreSQL: dead connections replaced at checkout ------------------------------------
_RETURNED = "xiyue_returned"  # the connection record's info key: it has been used and returned


def _socket_readable(fd: int) -> bool:
    if hasattr(select, "poll"):  # no FD_SETSIZE limit
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


def _replace_dead_connections_at_checkout(engine: Engine) -> None:
    """Pessimistic disconnect handling without pool_pre_ping's round trip: an idle
    connection, outside any transaction, has nothing to read unless the server hung up or
    announced that it is terminating the session (pg_terminate_backend, a restart,
    idle_session_timeout). Such a connection raises DisconnectionError at checkout: the
    pool then replaces it with a new connection and runs this check again on that one
    (twice in all, then the checkout fails). A server that vanished without a word (a host
    lost, a network cut) is not seen here; the statement fails and the app answers 503."""

    @event.listens_for(engine, "checkin")
    def mark_returned(_dbapi_connection, record):
        record.info[_RETURNED] = True  # the info dict is emptied when the connection is replaced

    @event.listens_for(engine, "checkout")
    def check(dbapi_connection, record, _proxy):
        if dbapi_connection.closed or dbapi_connection.broken:
            raise DisconnectionError("the connection was closed or broken while pooled")
        # a connection just made is not checked (as pool_pre_ping skips it): nothing could
        # have happened to it yet, and its socket may still hold the end of the handshake
        if record.info.get(_RETURNED) and _socket_readable(dbapi_connection.fileno()):
            raise DisconnectionError("the server closed the connection while it was pooled")


def init_database(app: Flask) -> None:
    """Called after db.init_app: teardown functions run last-registered first, so
    _end_session runs before Flask-SQLAlchemy's."""
    app.teardown_appcontext(_end_session)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _sqlite_pragmas(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"],
                            app.config["SQLITE_WRITER_QUEUE"],
                            app.config["SQLITE_CHECKPOINT_EVERY"])
            if app.config.get("SQLITE_CHECK_DEFERRED_WRITES"):
                _check_deferred_writes(engine)
        elif engine.dialect.name == "postgresql":
            _replace_dead_connections_at_checkout(engine)


@contextmanager
def write_transaction() -> Iterator:
    """A transaction that takes the write lock at its start on SQLite (BEGIN IMMEDIATE), so
    that a read-then-write never fails half way; PostgreSQL runs it as usual. Commits on
    success and rolls back on any exception. On SQLite its writers queue for the lock
    (SQLITE_WRITER_QUEUE); the next one is let in once the commit or rollback is done.

    Everything loaded before it is expired as it begins, so that what it reads, it reads
    under its lock. Its own commit expires nothing: what it read and wrote is current as of
    that commit, and the answer built from those objects next needs no reloading (a call
    at a window saved two round trips that way)."""
    session = db.session()  # the scoped session proxies neither in_transaction nor connection options
    if session.in_transaction():
        session.commit()
    else:
        session.expire_all()
    held = _held_writer_lock(session.connection(execution_options={IMMEDIATE: True}))
    try:
        yield session
        _commit_keeping_loaded(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        if held is not None:  # usually released already, as the session returned the connection
            held[0].release(held[1])


def _commit_keeping_loaded(session) -> None:
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"
