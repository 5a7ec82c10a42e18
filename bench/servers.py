"""Servers for the benchmarks: gunicorn with sync workers, as in production (docs/deploy.md),
with an access log that records each request's server time (`%(D)s`, microseconds)."""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from tests.support.live import LiveServer, listening_socket, start_gunicorn, stop

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ACCESS_FORMAT = '%(m)s %(U)s %(s)s %(D)s'


class Server(LiveServer):
    def __init__(self, url: str, process: subprocess.Popen, log_path: Path,
                 access_path: Path):
        super().__init__(url, process, log_path)
        self.access_path = access_path

    def access_mark(self) -> int:
        """A position in the access log; `server_ms` reads the lines after it."""
        return self.access_path.stat().st_size if self.access_path.exists() else 0

    def server_seconds(self, since: int, path_pattern: str, method: str = "GET",
                       status: str | None = None) -> list[float]:
        """Server times of the requests logged after `since` whose path matches."""
        pattern = re.compile(path_pattern)
        out = []
        with open(self.access_path, "rb") as log:
            log.seek(since)
            for line in log.read().decode(errors="replace").splitlines():
                parts = line.split()
                if len(parts) != 4 or parts[0] != method or not pattern.fullmatch(parts[1]):
                    continue
                if status is not None and parts[2] != status:
                    continue
                out.append(int(parts[3]) / 1_000_000)
        return out


@contextmanager
def gunicorn(app_module: str, workers: int, log_dir: Path, env: dict | None = None,
             probe: str = "/api/v1/services", backlog: int = 2048):
    """Serve `app_module` (e.g. "wsgi:app") with `workers` sync workers; yield a Server."""
    listener = listening_socket()
    port = listener.getsockname()[1]
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"gunicorn-{port}.log"
    access_path = log_dir / f"access-{port}.log"
    environment = {**os.environ, "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", **(env or {})}
    process = start_gunicorn(listener, [
        "--workers", str(workers), "--backlog", str(backlog), "--timeout", "120",
        "--graceful-timeout", "5", "--access-logfile", str(access_path),
        "--access-logformat", ACCESS_FORMAT, app_module], environment, log_path)
    server = Server(f"http://127.0.0.1:{port}", process, log_path, access_path)
    try:
        wait_until_up(server, probe)
        yield server
    finally:
        stop(process)


def wait_until_up(server: Server, probe: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early:\n{server.log()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + probe, timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not answer within {seconds} s:\n"
                               f"{server.log()[-3000:]}")
        time.sleep(0.2)
    # every worker imports the app before the first burst: probe a few more times
    for _ in range(8):
        try:
            urllib.request.urlopen(server.url + probe, timeout=5).read()
        except OSError:
            pass
    time.sleep(0.5)
