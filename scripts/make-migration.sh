#!/usr/bin/env bash
# Until the first release the schema is one initial migration: regenerate it from the models.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
export FLASK_APP=wsgi SECRET_KEY=migration DATABASE_URL="sqlite:///$tmp/m.sqlite3"
rm -f migrations/versions/*.py
.venv/bin/flask db migrate -m "initial schema"
.venv/bin/flask db upgrade
.venv/bin/flask db check
rm -rf "$tmp"
