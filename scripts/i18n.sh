#!/usr/bin/env bash
# Message ids are the Chinese text; translations/en holds the English. Extract, update,
# fill from translations/pending-en.json, check, compile. Edit
# translations/en/LC_MESSAGES/messages.po (or `scripts/po_fill.py todo` / `apply`), then run
# this again. Fails on a compile error or a translation whose placeholders or tags differ.
set -euo pipefail
cd "$(dirname "$0")/.."
B=".venv/bin/pybabel -q"
PY=.venv/bin/python
$B extract -F babel.cfg -w 100 \
  -o translations/messages.pot --ignore-dirs=".venv tests bench migrations node_modules" .
if [ -f translations/en/LC_MESSAGES/messages.po ]; then
  $B update -i translations/messages.pot -d translations -l en --no-fuzzy-matching -w 100
else
  $B init -i translations/messages.pot -d translations -l en -w 100
fi
[ -f translations/pending-en.json ] && $PY scripts/po_fill.py pending
$PY scripts/po_fill.py check || echo "scripts/i18n.sh: fix the translations above" >&2
.venv/bin/pybabel compile -d translations -l en --statistics
$PY scripts/po_fill.py check >/dev/null
