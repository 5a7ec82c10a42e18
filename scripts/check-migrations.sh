#!/usr/bin/env bash
# `flask db check` on a fresh SQLite database and a fresh PostgreSQL database: the
# migrations create exactly what the models describe.
set -euo pipefail
cd "$(dirname "$0")/.."
export FLASK_APP=wsgi SECRET_KEY=migration-check
tmp=$(mktemp -d)
DATABASE_URL="sqlite:///$tmp/check.sqlite3" .venv/bin/flask db upgrade >/dev/null 2>&1
DATABASE_URL="sqlite:///$tmp/check.sqlite3" .venv/bin/flask db check 2>&1 | tail -1
rm -rf "$tmp"
pg_admin="${XIYUE_CHECK_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
name="xiyue_check_$$"
if psql "$pg_admin" -qc "CREATE DATABASE $name" 2>/dev/null; then
  url="${pg_admin%/*}/$name"
  trap 'psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1' EXIT
  DATABASE_URL="$url" .venv/bin/flask db upgrade >/dev/null 2>&1
  DATABASE_URL="$url" .venv/bin/flask db check 2>&1 | tail -1
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is not reachable at $pg_admin" >&2; exit 1
else
  echo "PostgreSQL not reachable: checked SQLite only"
fi
