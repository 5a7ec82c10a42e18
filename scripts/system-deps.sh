#!/usr/bin/env bash
# Debian packages the tests need: Chromium for the browser tests, a Chinese font for
# readable screenshots (Liberation for Latin text), espeak-ng and sox for the hall's spoken calls.
set -euo pipefail
packages=(chromium fonts-liberation fonts-noto-cjk espeak-ng sox)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "!! missing Debian packages: ${missing[*]} (run as root: apt-get install ${missing[*]})" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "==> apt-get install ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
