#!/usr/bin/env bash
# Set up and run the whole system on SQLite: web (gunicorn) and the scheduler.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh runtime
export FLASK_APP=wsgi
PORT="${PORT:-5000}"
HOST="${HOST:-127.0.0.1}"
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://$HOST:$PORT}"
echo "==> migrating the database (${DATABASE_URL:-instance/xiyue.sqlite3})"
.venv/bin/flask db upgrade
echo "==> loading config/offices.toml"
.venv/bin/flask offices load config/offices.toml
if [ "${XIYUE_ENV_NAME:-}" != production ]; then .venv/bin/flask users demo; fi
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
# config/gunicorn.conf.py: the access log on standard output, the secrets of links masked
.venv/bin/gunicorn --config config/gunicorn.conf.py \
  --workers "${WEB_WORKERS:-2}" --worker-class gthread --threads 8 --bind "$HOST:$PORT" wsgi:app &
pids+=($!)
.venv/bin/flask scheduler run &
pids+=($!)
sleep 2
base="$PUBLIC_BASE_URL"
cat <<MSG

  喜约 Xiyue is running (Ctrl-C stops web and scheduler).
  Booking site      $base/
  Staff login       $base/staff/login
  Front desk        $base/desk/chuanshan
  Window 1          $base/window/chuanshan/1
  Hall display      $base/display/chuanshan
  Admin             $base/staff/
  API               $base/api/v1/openapi.json

MSG
wait -n "${pids[@]}"
