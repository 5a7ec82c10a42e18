#!/usr/bin/env bash
# A new Alembic revision for a model change: `scripts/make-migration.sh "what changed"`
# (or `make migration MSG="what changed"`). The schema is migrated, never regenerated: the
# revisions carry data conversions (personal data encrypted at rest) that deployed databases
# need. Review the generated file (and add any data conversion) before committing it.
set -euo pipefail
cd "$(dirname "$0")/.."
message="${1:?usage: scripts/make-migration.sh \"what changed\"}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export FLASK_APP=wsgi SECRET_KEY=migration DATABASE_URL="sqlite:///$tmp/m.sqlite3"
.venv/bin/flask db upgrade
.venv/bin/flask db migrate -m "$message"
.venv/bin/flask db upgrade
.venv/bin/flask db check
