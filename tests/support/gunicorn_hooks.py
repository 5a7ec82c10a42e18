"""gunicorn configuration for the tests' live servers.

- Each worker, once it has loaded the application, leaves a file named by its pid in
  XIYUE_TEST_READY_DIR, so that a test starts its clock only when every worker can answer
  (a worker still importing the app would otherwise add its boot time to the first request
  it takes).
- While a worker serves a request, a file named by its pid stands in XIYUE_TEST_BUSY_DIR,
  so that a fault test can kill a worker that is inside a request rather than one between
  two (LiveServer.busy_worker_pids; meaningful for sync workers, one request at a time)."""

import os
from pathlib import Path


def _marker(variable: str) -> Path | None:
    directory = os.environ.get(variable)
    return Path(directory) / str(os.getpid()) if directory else None


def post_worker_init(worker):
    ready = _marker("XIYUE_TEST_READY_DIR")
    if ready:
        ready.touch()


def pre_request(worker, request):
    busy = _marker("XIYUE_TEST_BUSY_DIR")
    if busy:
        busy.touch()


def post_request(worker, request, environ, response):
    busy = _marker("XIYUE_TEST_BUSY_DIR")
    if busy:
        busy.unlink(missing_ok=True)
