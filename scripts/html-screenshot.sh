#!/usr/bin/env bash
# Renders a kmsconform HTML report in headless Chromium with networking off
# (scripts/chromium.sh screenshot) and checks that a non-empty screenshot came out.
# tests/report_render.rs does the same inside `cargo test`, with a pixel check.
#   scripts/html-screenshot.sh [report.html] [out.png]
# Without arguments, produces a report from a run with faults (so it has failures,
# advisories and diffs). Chromium: scripts/chromium.sh install.
set -euo pipefail
cd "$(dirname "$0")/.."
html=${1:-}
png=${2:-${TMPDIR:-/tmp}/kmsconform-report.png}
if [[ -z "$html" ]]; then
  dir=$(mktemp -d)
  cargo run -q -- run --cases 1 --versions 1.3 --fault wrong-field-type \
    --fault count-is-page-length --report-dir "$dir" --format html >/dev/null || true
  html="$dir/report.html"
fi
scripts/chromium.sh screenshot "$html" "$png" 1280,2000
size=$(stat -c %s "$png" 2>/dev/null || echo 0)
[[ "$size" -gt 10000 ]] || { echo "screenshot missing or blank ($size bytes)" >&2; exit 1; }
echo "rendered $html -> $png ($size bytes)"
