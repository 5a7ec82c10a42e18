"""Where the machine's CPU went during a run: the gunicorn workers, the PostgreSQL backends
serving the benchmark's database, and the load generator itself (this process), from
/proc/<pid>/stat (user + system time). On a 2-core machine shared by all three, CPU per
booking bounds bookings per second: at most cores ÷ (CPU seconds per booking)."""

from __future__ import annotations

import os
import resource
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def postgres_backends(database: str) -> list[int]:
    """PostgreSQL backends connected to `database` (their command line names it)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:
            continue
        if cmdline.startswith("postgres: ") and f" {database} " in cmdline:
            out.append(int(entry.name))
    return out


def _self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """`with CpuMeter(workers, database) as meter: …` then `meter.seconds`: CPU seconds of
    the workers, the database's backends (None for SQLite) and the load generator."""

    def __init__(self, worker_pids: list[int], pg_database: str | None = None):
        self.worker_pids = worker_pids
        self.pg_database = pg_database
        self.seconds: dict[str, float] = {}

    def _sample(self) -> dict[str, dict[int, float]]:
        groups = {"gunicorn workers": self.worker_pids}
        if self.pg_database:
            groups["PostgreSQL backends"] = postgres_backends(self.pg_database)
        return {name: {pid: cpu for pid in pids if (cpu := _cpu(pid)) is not None}
                for name, pids in groups.items()}

    def __enter__(self) -> CpuMeter:
        self._before = self._sample()
        self._self_before = _self()
        return self

    def __exit__(self, *exc) -> None:
        after = self._sample()
        for name, pids in after.items():
            before = self._before.get(name, {})
            # a backend that started during the run started from nothing
            self.seconds[name] = round(sum(cpu - before.get(pid, 0.0)
                                           for pid, cpu in pids.items()), 2)
        self.seconds["load generator"] = round(_self() - self._self_before, 2)


def per_booking(seconds: dict[str, float], bookings: int, answers: int) -> dict:
    """Milliseconds of CPU per answered request, by process group and in all."""
    if not answers:
        return {}
    out = {name: round(value / answers * 1000, 2) for name, value in seconds.items()}
    out["total"] = round(sum(seconds.values()) / answers * 1000, 2)
    out["answers"] = answers
    out["bookings"] = bookings
    return out
