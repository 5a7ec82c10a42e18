"""Real servers for tests that race real requests: gunicorn with several worker processes,
against the test's own database."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HOOKS_MODULE = "tests.support.gunicorn_hooks"


def free_port() -> int:
    """A port free now (for a server that binds it itself: another process may take it
    first; a gunicorn takes listening_socket() instead)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_socket() -> socket.socket:
    """A TCP socket listening on a free port of 127.0.0.1, for start_gunicorn: no other
    process can take the port between its choice and the server's start."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # gunicorn listens again with its own backlog
    return sock


def start_gunicorn(listener: socket.socket, options: list[str], environment: dict,
                   log_path: Path) -> subprocess.Popen:
    """`python -m gunicorn OPTIONS` serving `listener` (inherited: `--bind fd://N`), in a
    process group of its own (see stop), its output in log_path. The listener is closed here:
    the server holds it now."""
    command = [sys.executable, "-m", "gunicorn", "--bind", f"fd://{listener.fileno()}",
               *options]
    with listener, open(log_path, "w") as log:
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                pass_fds=(listener.fileno(),))


class LiveServer:
    def __init__(self, url: str, process: subprocess.Popen, log_path: Path,
                 busy_dir: Path | None = None):
        self.url = url
        self.process = process
        self.log_path = log_path
        self.busy_dir = busy_dir

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def worker_pids(self) -> list[int]:
        """The master's live workers (a killed worker not yet reaped is a zombie: not listed)."""
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                             text=True).stdout
        return [int(pid) for pid in out.split() if _alive(int(pid))]

    def busy_worker_pids(self) -> list[int]:
        """Live workers inside a request now (between gunicorn's pre_request and post_request
        hooks, tests.support.gunicorn_hooks)."""
        workers = set(self.worker_pids())
        return [pid for pid in self.busy_pids_marked() if pid in workers]

    def busy_pids_marked(self) -> set[int]:
        """Pids whose last request began and never ended: busy now, or killed inside one."""
        if self.busy_dir is None:
            raise RuntimeError("this server was started without the tests' gunicorn hooks")
        return {int(path.name) for path in self.busy_dir.iterdir()}


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _answers(url: str) -> bool:
    try:
        return requests.get(url + "/api/v1/services", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def live_server(database_url: str, tmp_path: Path, workers: int = 4,
                env: dict | None = None, threads: int = 1):
    """Run `gunicorn wsgi:app` with `workers` processes; yield a LiveServer."""
    listener = listening_socket()
    port = listener.getsockname()[1]
    # a directory of its own: a server restarted in the same tmp_path may get the same port
    own_dir = Path(tempfile.mkdtemp(prefix=f"gunicorn-{port}-", dir=tmp_path))
    log_path = own_dir / "gunicorn.log"
    ready_dir = own_dir / "ready"
    busy_dir = own_dir / "busy"
    ready_dir.mkdir()
    busy_dir.mkdir()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "XIYUE_RATELIMIT_ENABLED": "false",
        "XIYUE_SQLITE_CHECK_DEFERRED_WRITES": "true",  # core.database: loud, not rare
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "XIYUE_TEST_READY_DIR": str(ready_dir),
        "XIYUE_TEST_BUSY_DIR": str(busy_dir),
        **(env or {}),
    }
    process = start_gunicorn(listener, [
        "--workers", str(workers), "--threads", str(threads), "--timeout", "60",
        "--graceful-timeout", "5", "--config", f"python:{HOOKS_MODULE}", "wsgi:app"],
        environment, log_path)
    url = f"http://127.0.0.1:{port}"
    server = LiveServer(url, process, log_path, busy_dir)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{server.log()}")
            if len(list(ready_dir.iterdir())) >= workers and _answers(url):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn's {workers} workers were not all up within "
                                   f"60 s:\n{server.log()}")
            time.sleep(0.1)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen, grace_seconds: float = 15) -> None:
    """SIGTERM to the server's process group, SIGKILL after `grace_seconds`."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
