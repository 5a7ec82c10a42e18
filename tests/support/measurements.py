"""Where tests that measure write their figures. The recorded figures live in
bench/results/ (bench/RESULTS.md quotes them); an ordinary test run writes beside them in
the temporary directory, so `make test` leaves the checkout as it was. Set
XIYUE_RECORD_MEASUREMENTS=1 to record a run's figures in bench/results/."""

import json
import os
import tempfile
from pathlib import Path

RECORDED = Path(__file__).resolve().parents[2] / "bench" / "results"


def measurement_file(name: str) -> Path:
    if os.environ.get("XIYUE_RECORD_MEASUREMENTS") == "1":
        return RECORDED / name
    return Path(tempfile.gettempdir()) / "xiyue-measurements" / name


def record_measurement(name: str, key: str, figures: dict) -> Path:
    """Put `figures` under `key` in the JSON file `name`, keeping its other keys. An
    unreadable file (cut short by a killed run) starts afresh; the new file replaces the old
    in one step, so a reader never sees half of it."""
    path = measurement_file(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data[key] = figures
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.replace(partial, path)
    return path
