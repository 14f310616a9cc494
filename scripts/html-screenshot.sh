#!/usr/bin/env bash
# Renders a kmsconform HTML report in headless Chromium with networking off, and checks
# that a non-empty screenshot came out. Not part of `cargo test` (needs chromium:
# `apt-get install -y chromium`).
#   scripts/html-screenshot.sh [report.html] [out.png]
# Without arguments, produces a report from a run with a fault (so it has findings and diffs).
set -euo pipefail
cd "$(dirname "$0")/.."
html=${1:-}
png=${2:-${TMPDIR:-/tmp}/kmsconform-report.png}
if [[ -z "$html" ]]; then
  dir=$(mktemp -d)
  cargo run -q -- run --cases 1 --versions 1.3 --fault wrong-field-type \
    --report-dir "$dir" --format html >/dev/null || true
  html="$dir/report.html"
fi
[[ -s "$html" ]] || { echo "no report at $html" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[[ -n "$browser" ]] || { echo "chromium not installed (apt-get install -y chromium)" >&2; exit 1; }
rm -f "$png"
# --proxy-server to a closed port: any request to another host would fail, not leak.
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --proxy-server=127.0.0.1:9 --window-size=1280,2000 \
  --screenshot="$png" "file://$(realpath "$html")" >/dev/null 2>&1
size=$(stat -c %s "$png" 2>/dev/null || echo 0)
[[ "$size" -gt 10000 ]] || { echo "screenshot missing or blank ($size bytes)" >&2; exit 1; }
echo "rendered $html -> $png ($size bytes)"
