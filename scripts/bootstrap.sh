#!/usr/bin/env bash
# Create .venv and install the locked dependencies. Usage: scripts/bootstrap.sh [runtime|dev]
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-runtime}"
lock=requirements.lock
[ "$kind" = dev ] && lock=requirements-dev.lock
# The interpreter: $PYTHON if set, else the distribution's python3 when it is 3.11 or newer
# and can make a virtualenv, else the first python3 on PATH. A distribution's build (Debian,
# Ubuntu, Fedora) is compiled with profile-guided and link-time optimisation; one compiled
# locally (pyenv, asdf) usually is not, and costs about a tenth more CPU per booking
# (bench/analysis.md). Production hosts get the distribution's too (docs/deploy.md).
system_python=/usr/bin/python3
if [ -z "${PYTHON:-}" ] && [ -x "$system_python" ] && "$system_python" -c \
    'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  PYTHON="$system_python"
fi
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $("$PYTHON" --version) ($(command -v "$PYTHON"))"
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
