#!/usr/bin/env bash
# Create .venv and install the locked dependencies. Usage: scripts/bootstrap.sh [runtime|dev]
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-runtime}"
lock=requirements.lock
[ "$kind" = dev ] && lock=requirements-dev.lock
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
fi
stamp=".venv/.installed-$kind"
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
  echo "==> installing $lock"
  .venv/bin/uv pip sync --quiet --python .venv/bin/python "$lock"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
