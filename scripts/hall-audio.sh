#!/usr/bin/env bash
# Build the hall display's offline voice: short clips that the display page plays in
# sequence ("请" "J" "零" "零" "一" "号到" "三" "号窗口办理") when the browser has no local
# zh-CN speech voice. Needs espeak-ng (voice cmn) and sox; writes 16 kHz mono Ogg Vorbis
# clips, trimmed of silence, to static/hallqueue/audio/. The clips are committed, so this
# runs only when the wording changes:  scripts/hall-audio.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=static/hallqueue/audio
mkdir -p "$OUT"
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "!! $tool is missing: apt-get install espeak-ng sox" >&2; exit 1; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# speak VOICE NAME TEXT: one clip, silence trimmed at both ends, peak-normalised.
speak() {
  local voice=$1 name=$2 text=$3
  espeak-ng -v "$voice" -s 150 -p 45 -w "$TMP/$name.wav" "$text" 2>/dev/null
  sox "$TMP/$name.wav" -r 16000 -c 1 -C 3 "$OUT/$name.ogg" \
    silence 1 0.01 -45d reverse silence 1 0.01 -45d reverse gain -n -2 pad 0 0.04
}

digits=(零 一 二 三 四 五 六 七 八 九)
for i in "${!digits[@]}"; do speak cmn "digit-$i" "${digits[$i]}"; done
speak cmn ten "十"
for letter in J L F B; do speak en "letter-${letter,,}" "$letter"; done
speak cmn qing "请"
speak cmn hao-dao "号到"
speak cmn window-banli "号窗口办理"

# The chime: a soft two-tone "ding-dong" (E6 then C6), made with sox alone.
sox -n -r 16000 -c 1 "$TMP/ding.wav" synth 0.45 sine 1319 fade q 0.005 0.45 0.40 vol 0.5
sox -n -r 16000 -c 1 "$TMP/dong.wav" synth 0.75 sine 1047 fade q 0.005 0.75 0.70 vol 0.5
sox "$TMP/ding.wav" "$TMP/dong.wav" -C 3 "$OUT/chime.ogg" pad 0 0.15

ls -l "$OUT"
du -ch "$OUT"/*.ogg | tail -1
