#!/usr/bin/env bash
# Set up and run every test: Python packages, Chromium and fonts, axe-core (npm), then pytest on SQLite and
# PostgreSQL. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
scripts/system-deps.sh
scripts/test-tools.sh
export PYTHONDONTWRITEBYTECODE=1
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
