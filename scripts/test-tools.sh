#!/usr/bin/env bash
# Test tools from npm, pinned by package.json and package-lock.json: axe-core, which
# tests/browser/test_accessibility.py injects into every screen. Not part of the product (no
# CDN, nothing served from node_modules/). Installs again only when the lock file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null; then
  echo "!! npm missing (Node.js 18 or later): apt-get install nodejs npm" >&2
  exit 1
fi
installed=node_modules/.package-lock.json  # npm writes it on each install
if [ -f "$installed" ] && [ "$installed" -nt package-lock.json ]; then
  exit 0
fi
echo "==> npm ci (axe-core for the accessibility test)"
npm ci --no-audit --no-fund --loglevel=error
