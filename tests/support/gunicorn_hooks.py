"""gunicorn configuration for the tests' live servers: each worker, once it has loaded the
application, leaves a file named by its pid in XIYUE_TEST_READY_DIR, so that a test starts
its clock only when every worker can answer (a worker still importing the app would
otherwise add its boot time to the first request it takes)."""

import os
from pathlib import Path


def post_worker_init(worker):
    ready_dir = os.environ.get("XIYUE_TEST_READY_DIR")
    if ready_dir:
        (Path(ready_dir) / str(os.getpid())).touch()
