"""Xiyue benchmarks: `scripts/bench.sh` (python -m bench.run) runs them and writes RESULTS.md."""
