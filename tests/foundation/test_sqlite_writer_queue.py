"""SQLite writers queue for the write lock (core.database, SQLITE_WRITER_QUEUE): a
write_transaction() that finds another one under way waits on an flock() of
`<database>-writer.lock` and goes in when that one has ended, across threads and processes,
instead of polling in SQLite's busy handler. SQLite only, like test_write_transactions.py:
PostgreSQL has neither the lock nor the busy handler.

No assertion here depends on speed: events say when a writer waits, and HANG_GUARD is only
ever reached when something hangs."""

import fcntl
import os
import queue
import subprocess
import sys
import threading

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from core.database import IMMEDIATE, WRITER_LOCK, WriterLock, _writer_lock_path, write_transaction
from core.extensions import db
from offices.models import Office
from tests.conftest import PROJECT_ROOT, apps_with_offices

HANG_GUARD = 60  # seconds


@pytest.fixture
def database_file(tmp_path) -> str:
    return str(tmp_path / "queue.sqlite3")


@pytest.fixture
def lock_path(database_file) -> str:
    return os.path.realpath(database_file) + "-writer.lock"


@pytest.fixture
def sqlite_app(database_file):
    """sqlite_app(**settings): an app on this test's SQLite file with the default offices and
    two API routes that rename an office inside write_transaction()."""
    with apps_with_offices(f"sqlite:///{database_file}") as new_app:

        def make(**overrides):
            app = new_app(**overrides)

            @app.post("/api/test/rename")
            def rename_route():
                with write_transaction():
                    _rename("renamed")
                return "written"

            @app.post("/api/test/nested-write")
            def nested_write_route():
                with write_transaction():
                    _rename("outer")
                    with app.app_context():  # a second session, so a second connection
                        with write_transaction():
                            _rename("inner")
                return "written"

            return app

        yield make


def _rename(name: str) -> None:
    db.session.execute(update(Office).where(Office.code == "chuanshan").values(name=name))


def _name() -> str:
    return db.session.scalar(select(Office.name).where(Office.code == "chuanshan"))


def _free(path: str) -> bool:
    """Whether another open file description can take the lock now (and lets go again)."""
    fd = os.open(path, os.O_RDONLY | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # releases it if taken
    return True


class Worker(threading.Thread):
    """A thread that keeps what its target raised, for the test to re-raise."""

    def __init__(self, target, name: str):
        super().__init__(name=name, daemon=True)
        self._work = target
        self.error: BaseException | None = None

    def run(self):
        try:
            self._work()
        except BaseException as error:  # re-raised in the test's thread by finish()
            self.error = error

    def finish(self) -> None:
        self.join(HANG_GUARD)
        assert not self.is_alive(), f"{self.name} hangs"
        if self.error is not None:
            raise self.error


def guarded(target):
    """Run target in a thread, so that a hang fails the test instead of stopping it."""
    worker = Worker(target, "guarded")
    worker.start()
    worker.finish()


@pytest.fixture
def waits(monkeypatch) -> threading.Event:
    """Set when a writer finds the lock taken and starts waiting for it."""
    waiting = threading.Event()
    wait = WriterLock._wait

    def signalled(self, timeout):
        waiting.set()
        return wait(self, timeout)

    monkeypatch.setattr(WriterLock, "_wait", signalled)
    return waiting


def _immediate_begins(app) -> list[str]:
    """The names of the threads that sent BEGIN IMMEDIATE, in order."""
    begun: list[str] = []
    with app.app_context():
        @event.listens_for(db.engine, "before_cursor_execute")
        def record(_conn, _cursor, statement, _parameters, _context, _many):
            if statement == "BEGIN IMMEDIATE":
                begun.append(threading.current_thread().name)
    return begun


def test_a_second_writer_waits_in_line_until_the_first_has_committed(sqlite_app, waits,
                                                                      lock_path):
    app = sqlite_app()
    begun = _immediate_begins(app)
    a_inside, a_may_finish = threading.Event(), threading.Event()
    seen_by_b = []

    def writer_a():
        with app.app_context():
            with write_transaction():
                _rename("A")
                a_inside.set()
                assert a_may_finish.wait(HANG_GUARD)

    def writer_b():
        with app.app_context():
            with write_transaction():
                seen_by_b.append(_name())
                _rename("B")

    a, b = Worker(writer_a, "A"), Worker(writer_b, "B")
    a.start()
    assert a_inside.wait(HANG_GUARD)
    assert not _free(lock_path)  # A holds the lock file for its whole transaction
    b.start()
    assert waits.wait(HANG_GUARD)  # B found it taken and waits for it
    assert begun == ["A"] and not seen_by_b  # …without having begun its transaction
    a_may_finish.set()
    a.finish()
    b.finish()
    assert begun == ["A", "B"]
    assert seen_by_b == ["A"]  # B's transaction began after A's commit
    assert _free(lock_path)
    with app.app_context():
        assert _name() == "B"


CHILD = """
import sys
sys.path.insert(0, {root!r})
from sqlalchemy import update
from core.database import write_transaction
from core.extensions import db
from offices.models import Office
from tests.conftest import make_app

app = make_app({url!r})
with app.app_context():
    with write_transaction():
        db.session.execute(update(Office).where(Office.code == "chuanshan").values(name="child"))
        print("inside", flush=True)
        sys.stdin.readline()
    print("committed", flush=True)
    db.engine.dispose()
"""


def test_writers_in_two_processes_wait_in_line(sqlite_app, waits, database_file, lock_path,
                                               tmp_path):
    app = sqlite_app()
    script = CHILD.format(root=str(PROJECT_ROOT), url=f"sqlite:///{database_file}")
    errors = tmp_path / "child.err"  # a file, not a pipe nobody reads while the child runs
    with errors.open("w") as stderr:
        child = subprocess.Popen([sys.executable, "-c", script], cwd=PROJECT_ROOT, text=True,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in child.stdout:
            lines.put(line.strip())
        lines.put(None)  # the child ended

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen = []

    def writer():
        with app.app_context():
            with write_transaction():
                seen.append(_name())
                _rename("parent")

    try:
        assert lines.get(timeout=HANG_GUARD) == "inside", errors.read_text()
        assert not _free(lock_path)
        parent = Worker(writer, "parent")
        parent.start()
        assert waits.wait(HANG_GUARD)  # the child holds the lock: the parent waits
        assert not seen
        child.stdin.write("\n")
        child.stdin.flush()
        parent.finish()
        assert lines.get(timeout=HANG_GUARD) == "committed"
        assert child.wait(HANG_GUARD) == 0, errors.read_text()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(HANG_GUARD)
        child.stdin.close()
        reader.join(HANG_GUARD)
        child.stdout.close()
    assert seen == ["child"]  # the parent began after the child's commit
    with app.app_context():
        assert _name() == "parent"


def test_the_lock_is_let_go_after_commit_and_after_rollback(sqlite_app, lock_path):
    app = sqlite_app()
    with app.app_context():
        with write_transaction():
            _rename("committed")
            assert not _free(lock_path)
        assert _free(lock_path)

        with pytest.raises(RuntimeError, match="changed my mind"):
            with write_transaction():
                _rename("rolled back")
                assert not _free(lock_path)
                raise RuntimeError("changed my mind")
        assert _free(lock_path)
        assert _name() == "committed"


def test_a_connection_leaving_use_with_the_lock_lets_go_of_it(sqlite_app, lock_path):
    """The pool's safety net, for a transaction that did not end in write_transaction()."""
    app = sqlite_app()
    with app.app_context():
        connection = db.engine.connect().execution_options(**{IMMEDIATE: True})
        connection.begin()
        assert not _free(lock_path)
        connection.close()  # back to the pool: rolled back, then checked in
        assert _free(lock_path)

        connection = db.engine.connect().execution_options(**{IMMEDIATE: True})
        connection.begin()
        assert not _free(lock_path)
        connection.invalidate()  # the DBAPI connection is closed
        assert _free(lock_path)
        connection.close()

        with write_transaction():  # and the pool's next connection queues as before
            _rename("after")
            assert not _free(lock_path)
        assert _free(lock_path)


def test_a_thread_writing_through_a_second_connection_fails_instead_of_hanging(sqlite_app,
                                                                              lock_path):
    """Waiting for the lock this thread holds through another connection would never end:
    the second connection goes to SQLite's busy handler, which gives up after the busy
    timeout, as it did before the queue."""
    app = sqlite_app(SQLITE_BUSY_TIMEOUT_MS=50)

    def write_twice():
        with app.app_context():
            with write_transaction():
                _rename("outer")
                with db.engine.connect() as other:
                    other = other.execution_options(**{IMMEDIATE: True})
                    with pytest.raises(OperationalError, match="database is locked"):
                        other.begin()
                assert not _free(lock_path)  # the outer transaction still holds it
        assert _free(lock_path)

    guarded(write_twice)

    answers = []
    guarded(lambda: answers.append(app.test_client().post("/api/test/nested-write")))
    assert answers[0].status_code == 503
    assert answers[0].headers["Retry-After"]
    assert answers[0].get_json()["code"] == "service_unavailable"
    assert _free(lock_path)
    with app.app_context():
        assert _name() == "outer"  # the first write_twice committed; the request did not


def test_a_writer_waits_at_most_the_busy_timeout_then_gets_a_503(sqlite_app, lock_path):
    app = sqlite_app(SQLITE_BUSY_TIMEOUT_MS=200)
    other = os.open(lock_path, os.O_RDONLY | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX)  # another process holds it and does not let go
    try:
        def write():
            with app.app_context():
                with pytest.raises(OperationalError,
                                   match="database is locked: waited 0.2 s for the write lock"):
                    with write_transaction():
                        _rename("never")
                assert _name() == "遂宁市船山区婚姻登记处"  # the session goes on, unchanged

        guarded(write)
        answers = []
        guarded(lambda: answers.append(app.test_client().post("/api/test/rename")))
        assert answers[0].status_code == 503
        assert answers[0].headers["Retry-After"]
        assert answers[0].mimetype == "application/problem+json"
        assert answers[0].get_json()["code"] == "service_unavailable"
    finally:
        os.close(other)

    # the waits given up on end as soon as the lock is free: their helpers let go of it
    for helper in [t for t in threading.enumerate() if t.name == "sqlite-writer-wait"]:
        helper.join(HANG_GUARD)
        assert not helper.is_alive()
    assert _free(lock_path)
    with app.app_context():  # the connections work, and queue, afterwards
        with write_transaction():
            _rename("after")
            assert not _free(lock_path)
        assert _name() == "after"
    assert _free(lock_path)


def test_the_queue_can_be_switched_off(sqlite_app, lock_path):
    app = sqlite_app(SQLITE_WRITER_QUEUE=False)
    with app.app_context():
        with write_transaction() as session:
            _rename("no queue")
            assert WRITER_LOCK not in session.connection().info
        assert _name() == "no queue"
    assert not os.path.exists(lock_path)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:",
                                 "sqlite:///file:shared?mode=memory&cache=shared&uri=true"])
def test_an_in_memory_database_has_no_lock_file(url):
    assert _writer_lock_path(make_url(url)) is None


def test_the_lock_file_is_beside_the_database(tmp_path):
    database = tmp_path / "x.sqlite3"
    expected = os.path.realpath(database) + "-writer.lock"
    assert _writer_lock_path(make_url(f"sqlite:///{database}")) == expected
    assert _writer_lock_path(make_url(f"sqlite:///file:{database}?mode=rwc&uri=true")) == expected


def test_a_pooled_connection_runs_in_wal_mode_with_synchronous_normal(sqlite_app):
    """docs/deploy.md §8: WAL lets readers go on while one writer writes; synchronous=NORMAL
    in WAL mode may lose the last commits in a power cut but never corrupts the file."""
    app = sqlite_app()
    with app.app_context():
        with db.engine.connect() as connection:
            first = connection.connection.dbapi_connection
        with db.engine.connect() as connection:
            assert connection.connection.dbapi_connection is first  # from the pool
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == app.config["SQLITE_BUSY_TIMEOUT_MS"]


# --- WAL checkpoints, outside the lock ------------------------------------------------------

def _checkpoints(app, lock_path) -> list[bool]:
    """Whether the lock was free as each WAL checkpoint began, in order. Traced at the
    sqlite3 level, since the checkpoint is sent on the DBAPI connection as the pool takes
    it back, where SQLAlchemy's cursor events do not see it."""
    free_at: list[bool] = []

    def trace(statement):
        if statement.startswith("PRAGMA wal_checkpoint"):
            free_at.append(_free(lock_path))

    with app.app_context():
        db.engine.dispose()  # the connections made from now on are traced

        @event.listens_for(db.engine, "connect")
        def traced(dbapi_connection, _record):
            dbapi_connection.set_trace_callback(trace)
    return free_at


def test_the_wal_is_checkpointed_every_n_commits_after_the_lock_is_let_go(sqlite_app, lock_path):
    """SQLite's auto-checkpoint would copy the WAL into the database inside a COMMIT, the
    writers' lock held and every other writer waiting; here it runs after every
    SQLITE_CHECKPOINT_EVERY commits (counted from the app's start: loading the offices
    committed too), once the lock is free."""
    app = sqlite_app(SQLITE_CHECKPOINT_EVERY=3)
    checkpoints = _checkpoints(app, lock_path)
    commits = []
    with app.app_context():
        event.listen(db.engine, "commit", lambda _connection: commits.append(1))
    client = app.test_client()
    for _ in range(6):
        assert client.post("/api/test/rename").status_code == 200
    assert len(commits) == 6  # one per write transaction
    assert checkpoints == [True, True]
    with app.app_context():
        assert _name() == "renamed"


def test_a_rolled_back_transaction_does_not_count_towards_a_checkpoint(sqlite_app, lock_path):
    app = sqlite_app(SQLITE_CHECKPOINT_EVERY=1)
    checkpoints = _checkpoints(app, lock_path)
    with app.app_context():
        with pytest.raises(RuntimeError), write_transaction():
            _rename("never")
            raise RuntimeError("rolled back")
        assert checkpoints == []
        with write_transaction():
            _rename("kept")
        assert checkpoints == [True]
        assert _name() == "kept"


@pytest.mark.parametrize(("every", "autocheckpoint"), [(50, 0), (0, 1000)])
def test_sqlites_own_auto_checkpoint_is_off_unless_asked_for(sqlite_app, every, autocheckpoint):
    app = sqlite_app(SQLITE_CHECKPOINT_EVERY=every)
    with app.app_context():
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == autocheckpoint
