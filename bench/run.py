"""Run the benchmarks and write bench/RESULTS.md (`scripts/bench.sh`, or
`python -m bench.run [--quick] [--db both|postgres|sqlite]`).

Each database gets a fresh benchmark database, gunicorn with `--workers` sync workers and
the server clock pinned (XIYUE_FROZEN_NOW) at the moment the 30th day ahead opens for
booking. Rate limits are off in the benchmark servers: every simulated couple comes from
127.0.0.1, which a real deployment would see as many addresses (docs/deploy.md)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from bench import cpu, database, report, scenarios
from bench.client import Run, percentiles
from bench.servers import PROJECT_ROOT, gunicorn

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
NOW = "2026-04-20T00:00:05+08:00"  # 00:00 on 20 April: 20 May (5·20) opens for booking
RUSH_DAY = "2026-05-20"
SCALE_RUSH_DAY = "2026-05-19"
PROFILE_DAY = "2026-05-10"
HALL_NOW = f"{RUSH_DAY}T09:00:00+08:00"
WINDOWS = ["1", "2", "3", "4", "5", "6"]


@dataclass
class Plan:
    couples: int  # the release rush
    concurrency: int
    levels: list[int]  # the latency-against-concurrency sweep
    per_level: int  # couples per level: max(this, per_client × concurrency)
    per_client: int
    ceiling_requests: int
    checkins: int
    reads: int
    calendar_reads: int
    sms_messages: int
    sms_paced_messages: int
    history: int  # past appointments for the scale figures
    scale_couples: int
    profile_bookings: int
    stats_reads: int
    open_rates: list[float]  # open loop: couples arriving per second, one level each
    open_seconds: float  # how long each open-loop level lasts


# Sized for about ten minutes on the 2-core machine (bench/RESULTS.md says what it did).
FULL = Plan(couples=2000, concurrency=100, levels=[1, 10, 25, 50, 100, 200], per_level=100,
            per_client=4, ceiling_requests=2000, checkins=400, reads=100, calendar_reads=10,
            sms_messages=600, sms_paced_messages=50, history=1_000_000, scale_couples=2000,
            profile_bookings=150, stats_reads=5, open_rates=[50, 100, 200], open_seconds=8)
QUICK = Plan(couples=300, concurrency=50, levels=[1, 10, 50], per_level=40, per_client=4,
             ceiling_requests=300, checkins=60, reads=10, calendar_reads=3, sms_messages=60,
             sms_paced_messages=10, history=20_000, scale_couples=200, profile_bookings=20,
             stats_reads=2, open_rates=[25, 50], open_seconds=4)


def day_after(iso: str, days: int) -> str:
    return (date.fromisoformat(iso) + timedelta(days=days)).isoformat()


def rush_figures(result: scenarios.RushResult) -> dict:
    run = result.run
    return {
        "couples": result.couples, "day": result.day, "seats": result.seats,
        "concurrency": run.concurrency,
        "requests": len(run.samples), "wall_seconds": round(run.wall_seconds, 2),
        "bookings": len(result.booked),
        "bookings_per_second": round(len(result.booked) / run.wall_seconds, 1),
        "requests_per_second": round(run.per_second(), 1),
        "latency_ms": run.latency_ms(), "latency_ms_201": run.latency_ms("201"),
        "answers": run.codes(), "server_errors": run.server_errors(),
        "couples_without_a_seat": result.gave_up,
    }


def _pg_name(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    return make_url(url).database if url.startswith("postgresql") else None


def cpu_figures(meter: cpu.CpuMeter, result: scenarios.RushResult) -> dict:
    return {"cpu_seconds": meter.seconds,
            "cpu_ms_per_answer": cpu.per_booking(meter.seconds, len(result.booked),
                                                 len(result.run.samples))}


def measured_rush(server, url: str, client_kind: str, day: str, first_person: int,
                  couples: int, concurrency: int) -> tuple[scenarios.RushResult, dict]:
    """The release rush against `server`, and its figures: the answers, the CPU each
    answer cost, and the database's integrity check afterwards."""
    with cpu.CpuMeter(server.worker_pids(), _pg_name(url)) as meter:
        rush = scenarios.rush(server.url, client_kind, day, first_person, couples,
                              concurrency)
    figures = rush_figures(rush) | cpu_figures(meter, rush)
    figures["integrity"] = database.integrity(url, list(rush.booked))
    return rush, figures


def open_figures(result: scenarios.RushResult) -> dict:
    run = result.run
    return rush_figures(result) | {
        "rate": run.rate, "seconds_planned": round(result.couples / run.rate, 1),
        "max_in_flight": run.max_in_flight,
        "start_lag_ms": percentiles(run.start_lag_s)}


def run_figures(run: Run) -> dict:
    return {"requests": len(run.samples), "concurrency": run.concurrency,
            "wall_seconds": round(run.wall_seconds, 2),
            "requests_per_second": round(run.per_second(), 1), "latency_ms": run.latency_ms(),
            "answers": run.codes(), "server_errors": run.server_errors()}


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def bench_database(kind: str, plan: Plan, args, work: Path, index: list[int]) -> dict:
    """Everything measured on one database kind; `index` hands out couple numbers."""
    out: dict = {}
    url = (database.create_pg_database() if kind == "postgres"
           else f"sqlite:///{work / 'bench.sqlite3'}")
    try:
        setup = database.prepare(url)
        tokens = setup["tokens"]
        env = database.server_env(url, NOW)
        with gunicorn("wsgi:app", args.workers, work / f"logs-{kind}", env) as server, \
                gunicorn("bench.ceiling_app:app", args.workers, work / f"logs-bare-{kind}",
                         {}) as bare:
            log(f"{kind}: release rush, {plan.couples} couples, {plan.concurrency} clients")
            before = bare_flask(bare, args.client, plan)
            rush, out["rush"] = measured_rush(server, url, args.client, RUSH_DAY,
                                              next_block(index), plan.couples,
                                              plan.concurrency)
            out["rush"]["ceiling_beside"] = beside(before, bare_flask(bare, args.client, plan))
            log(f"{kind}: rush {out['rush']['bookings_per_second']} bookings/s, "
                f"p99 {out['rush']['latency_ms']['p99']} ms, answers {out['rush']['answers']}")

            out["sweep"] = []
            for n, level in enumerate(plan.levels):
                count = max(plan.per_level, plan.per_client * level)
                result = scenarios.rush(server.url, args.client, day_after(NOW[:10], 2 + n),
                                        next_block(index), count, level, seed=level)
                figures = rush_figures(result)
                out["sweep"].append(figures)
                log(f"{kind}: {level} clients: {figures['requests_per_second']} req/s, "
                    f"p50 {figures['latency_ms']['p50']} p99 {figures['latency_ms']['p99']} ms")
            out["open_loop"] = []
            for n, rate in enumerate(plan.open_rates):
                couples = int(rate * plan.open_seconds)
                result = scenarios.open_rush(server.url, args.client,
                                             day_after(NOW[:10], 10 + n), next_block(index),
                                             couples, rate, seed=int(rate))
                figures = open_figures(result)
                out["open_loop"].append(figures)
                log(f"{kind}: open loop {rate}/s: {figures['requests_per_second']} answers/s, "
                    f"p50 {figures['latency_ms']['p50']} p99 {figures['latency_ms']['p99']} ms,"
                    f" at most {figures['max_in_flight']} in flight")
            out["sweep_integrity"] = database.integrity(url)

            out["reads"] = measure_reads(server, args.client, plan)
            log(f"{kind}: availability 30 days server p50 "
                f"{out['reads']['availability_30_days']['server_ms']['p50']} ms")

        with gunicorn("wsgi:app", args.workers, work / f"logs-{kind}-hall",
                      database.server_env(url, HALL_NOW)) as server:
            chosen = dict(list(rush.booked.items())[:plan.checkins])
            log(f"{kind}: hall, {len(chosen)} check-ins, {len(WINDOWS)} windows")
            hall = scenarios.hall(server.url, args.client, tokens, chosen, WINDOWS)
            out["hall"] = hall_figures(hall, url)
            log(f"{kind}: call-next {out['hall']['call_next']['requests_per_second']}/s, "
                f"display p95 {out['hall']['call_to_display_ms']['p95']} ms")

        if kind == "postgres":
            out["sms"] = measure_sms(url, plan)
            out["profile"] = profile(url, plan, index)
            if not args.skip_scale:
                out["scale"] = scale(url, plan, args, work, index, tokens)
        else:
            out["profile"] = profile(url, plan, index)
    finally:
        if kind == "postgres" and not args.keep:
            database.drop_pg_database(url)
    return out


def next_block(index: list[int], size: int = 100_000) -> int:
    """A fresh range of couple numbers for the next phase."""
    index[0] += size
    return index[0]


def measure_reads(server, client_kind: str, plan: Plan) -> dict:
    out = {}
    first = day_after(NOW[:10], 1)
    cases = {
        "availability_30_days": ("/api/v1/offices/bench/availability",
                                 {"service": "marriage", "from": first, "days": 30},
                                 r"/api/v1/offices/bench/availability", plan.reads),
        "calendar_366_days": ("/api/v1/offices/bench/calendar",
                              {"from": "2026-01-01", "days": 366},
                              r"/api/v1/offices/bench/calendar", plan.calendar_reads),
    }
    for name, (path, params, pattern, count) in cases.items():
        mark = server.access_mark()
        run = scenarios.reads(server.url, client_kind, path, params, count)
        time.sleep(0.3)  # the access log line is written after the answer
        out[name] = {"requests": count, "client_ms": run.latency_ms(), "answers": run.codes(),
                     "server_ms": percentiles(server.server_seconds(mark, pattern))}
    return out


def hall_figures(hall: scenarios.HallResult, url: str) -> dict:
    calls = hall.calls
    duplicates = len(hall.called_ids) - len(set(hall.called_ids))
    engine = database.engine_for(url)
    from sqlalchemy import text

    with engine.connect() as conn:
        statuses = dict(conn.execute(text(
            "SELECT status, count(*) FROM tickets WHERE date = :d GROUP BY status"),
            {"d": RUSH_DAY}).all())
    engine.dispose()
    return {
        "check_in": run_figures(hall.checkin),
        "call_next": run_figures(calls) | {"windows": len(WINDOWS)},
        "tickets_called_twice": duplicates,
        "tickets_by_status": {k: int(v) for k, v in statuses.items()},
        "calls_answered_200": len(hall.called_ids),
        "call_to_display_ms": percentiles(hall.display_latency_s),
        "paced_calls": hall.calls_paced, "paced_calls_seen_on_screens": hall.calls_seen,
        "screen_polls": run_figures(hall.screen_polls),
    }


def measure_sms(url: str, plan: Plan) -> dict:
    from bench import sms

    before = database.outbox_counts(url)
    log(f"postgres: SMS dispatch; outbox {before}")
    out = {"outbox_before": before, "runs": []}
    for threads, rate, delay, count in ((4, 0, 0.1, plan.sms_messages // 2),
                                         (16, 0, 0.1, plan.sms_messages // 2),
                                         (4, 10, 0.1, plan.sms_paced_messages)):
        # the real clock: every queued message (the hall's too) is due now
        figures = sms.dispatch(url, None, count, threads, rate, delay)
        out["runs"].append(figures)
        log(f"postgres: sms-dispatch threads {threads}, limit {rate}/s: "
            f"{figures['per_second']} messages/s")
    out["outbox_after"] = database.outbox_counts(url)
    return out


def profile(url: str, plan: Plan, index: list[int]) -> dict:
    from bench.profiling import profile_bookings, statements_per_booking, time_bookings

    log("profile: bookings in-process under cProfile")
    figures = profile_bookings(url, NOW, PROFILE_DAY, next_block(index), plan.profile_bookings)
    figures["ms_per_booking_unprofiled"] = time_bookings(
        url, NOW, day_after(PROFILE_DAY, 1), next_block(index), plan.profile_bookings)
    figures["statements_per_booking"] = statements_per_booking(
        url, NOW, day_after(PROFILE_DAY, 2), next_block(index))
    return figures


def scale(url: str, plan: Plan, args, work: Path, index: list[int], tokens: dict) -> dict:
    out = {}
    log(f"postgres: loading {plan.history:,} past appointments")
    started = time.perf_counter()
    out["history"] = database.load_history(url, plan.history, NOW[:10])
    out["history"]["total_seconds"] = round(time.perf_counter() - started, 1)
    log(f"postgres: loaded in {out['history']['total_seconds']} s: {out['history']['rows']}")
    with gunicorn("wsgi:app", args.workers, work / "logs-scale",
                  database.server_env(url, NOW)) as server:
        _, out["rush"] = measured_rush(server, url, args.client, SCALE_RUSH_DAY,
                                       next_block(index), plan.scale_couples,
                                       plan.concurrency)
        log(f"postgres+history: rush {out['rush']['bookings_per_second']} bookings/s, "
            f"p99 {out['rush']['latency_ms']['p99']} ms")
        out["reads"] = measure_reads(server, args.client, plan)
        out["stats"] = measure_stats(server, tokens, plan)
    return out


def measure_stats(server, tokens: dict, plan: Plan) -> dict:
    import requests

    out = {}
    month = NOW[:7]
    try:
        session = scenarios.staff_session(server.url, "bench-admin", database.STAFF_PASSWORD)
    except Exception as error:  # the page may not exist yet: say so in RESULTS.md
        return {"error": f"{type(error).__name__}: {error}"}
    pages = {
        "staff_stats_page_this_month": f"{server.url}/staff/stats",
        "staff_stats_monthly_report": f"{server.url}/staff/stats/report?month={month}",
        "staff_stats_last_month": (f"{server.url}/staff/stats?from=2026-03-01&to=2026-03-31"),
    }
    for name, page in pages.items():
        out[name] = scenarios.timed_gets(session, page, plan.stats_reads)
    out["api_stats_this_month"] = scenarios.timed_gets(
        requests.Session(), f"{server.url}/api/v1/stats", plan.stats_reads,
        {"Authorization": f"Bearer {tokens['admin']}"})
    return out


def bare_flask(server, client_kind: str, plan: Plan) -> dict:
    """The bare-Flask ceiling on `server`, once: req/s and CPU per answer."""
    with cpu.CpuMeter(server.worker_pids()) as meter:
        run = scenarios.ceiling(server.url, client_kind, plan.ceiling_requests,
                                plan.concurrency)
    return run_figures(run) | {
        "cpu_seconds": meter.seconds,
        "cpu_ms_per_answer": cpu.per_booking(meter.seconds, 0, len(run.samples))}


def beside(before: dict, after: dict) -> dict:
    """The ceiling measured just before and just after a rush, and their mean: what that
    rush's bookings/s are divided by. The machine's speed drifts by half within a run
    (bench/analysis.md), so a ceiling measured minutes earlier is no fair yardstick."""
    mean = round((before["requests_per_second"] + after["requests_per_second"]) / 2, 1)
    return {"before": before, "after": after, "requests_per_second": mean}


def ceiling(args, plan: Plan, work: Path) -> dict:
    out = {"levels": []}
    with gunicorn("bench.ceiling_app:app", args.workers, work / "logs-ceiling", {}) as server:
        log(f"ceiling: bare Flask, {plan.ceiling_requests} requests, {plan.concurrency} clients")
        out["main"] = bare_flask(server, args.client, plan)
        for level in plan.levels:
            run = scenarios.ceiling(server.url, args.client,
                                    max(plan.per_level, plan.per_client * level), level)
            out["levels"].append(run_figures(run))
    log(f"ceiling: {out['main']['requests_per_second']} req/s, "
        f"p99 {out['main']['latency_ms']['p99']} ms")
    return out


def machine() -> dict:
    def first_line(command: list[str]) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True,
                                  timeout=10).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory_gb = "?"
    try:
        kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
        memory_gb = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration):
        pass
    pg_version = "?"
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(database.PG_ADMIN_URL)
        with engine.connect() as conn:
            pg_version = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
    except Exception:  # no PostgreSQL: the report says "?"
        pass
    commit = first_line(["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short", "HEAD"])
    import gunicorn as gunicorn_package

    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gb": memory_gb,
        "kernel": platform.release(), "python": platform.python_version(),
        "postgresql": pg_version, "sqlite": sqlite3.sqlite_version,
        "gunicorn": gunicorn_package.__version__, "commit": commit,
        "load_average_before": os.getloadavg(), "uptime": first_line(["uptime"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small figures, for a try run")
    parser.add_argument("--db", choices=["both", "postgres", "sqlite"], default="both")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument("--skip-scale", action="store_true",
                        help="no million past appointments")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database and the server logs")
    parser.add_argument("--no-write", action="store_true",
                        help="print the figures; leave RESULTS.md alone")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite RESULTS.md and the charts from results/run.json")
    args = parser.parse_args(argv)
    if args.report_only:
        results = json.loads((RESULTS_DIR / "run.json").read_text())
        print(report.write(results, BENCH_DIR))
        return 0
    # the in-process parts (setup, profile) would log every booking: keep the output short
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    plan = QUICK if args.quick else FULL
    started = time.perf_counter()
    results: dict = {"command": "python -m bench.run " + shlex.join(argv or sys.argv[1:]),
                     "started_at": datetime.now().astimezone().isoformat(timespec="seconds"),
                     "machine": machine(), "plan": plan.__dict__, "workers": args.workers,
                     "client": args.client, "frozen_now": NOW, "rush_day": RUSH_DAY}
    log(f"machine: {results['machine']['uptime']}")
    index = [0]
    work = Path(tempfile.mkdtemp(prefix="xiyue-bench-"))
    try:
        results["ceiling"] = ceiling(args, plan, work)
        kinds = ["postgres", "sqlite"] if args.db == "both" else [args.db]
        for kind in kinds:
            results[kind] = bench_database(kind, plan, args, work, index)
    finally:
        if args.keep:
            log(f"server logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["display_latency_hall_engineer"] = _read_json(RESULTS_DIR / "display-latency.json")
    results["machine"]["load_average_after"] = os.getloadavg()
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    log(f"done in {results['total_seconds']} s")
    if args.no_write:
        print(json.dumps(results, indent=2, ensure_ascii=False, default=str))
        return 0
    # a quick run never overwrites the recorded figures
    out_dir = Path(tempfile.gettempdir()) / "xiyue-bench-quick" if args.quick else BENCH_DIR
    (out_dir / "results").mkdir(parents=True, exist_ok=True)
    (out_dir / "results" / "run.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
    path = report.write(results, out_dir, quick=args.quick)
    log(f"wrote {path}")
    return 0


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


if __name__ == "__main__":
    sys.exit(main())
