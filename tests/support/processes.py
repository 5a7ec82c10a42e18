"""Real `flask scheduler run` processes for the tests that kill and replace them, and a
wait that shows their logs when it times out."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import TEST_SECRET

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SchedulerProcess:
    """`flask scheduler run` against `database_url` with the real clock, in a process group
    of its own; its output goes to scheduler-<name>.log in `log_dir`."""

    def __init__(self, name: str, database_url: str, log_dir: Path, env: dict | None = None):
        self.log_path = log_dir / f"scheduler-{name}.log"
        environment = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET,
                       **(env or {})}
        environment.pop("XIYUE_FROZEN_NOW", None)  # the real clock: every job is due
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"],
                cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def holder(self) -> str | None:
        """The holder id the process announced at its start."""
        found = re.search(r"scheduler (\S+) starting", self.log())
        return found.group(1) if found else None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (SIGKILL: no goodbye) and reap it."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=15)


def wait_for(predicate, timeout: float, what: str, processes=(), interval: float = 0.05):
    """predicate()'s first true value within `timeout` seconds; else fail with the logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    logs = "\n".join(f"--- {p.log_path.name}\n{p.log()[-3000:]}" for p in processes)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")
