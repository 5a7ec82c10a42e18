#!/usr/bin/env bash
# Run the benchmarks (bench/run.py) and write bench/RESULTS.md with its charts.
# `scripts/bench.sh --quick` is a small try run written under $TMPDIR/xiyue-bench-quick.
# Needs PostgreSQL at 127.0.0.1:5432 (XIYUE_BENCH_PG_URL to change) for the PostgreSQL figures.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/bootstrap.sh dev
echo "load before the run: $(uptime)"
exec .venv/bin/python -m bench.run "$@"
