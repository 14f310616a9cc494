#!/usr/bin/env bash
# Headless Chromium for rendering kmsconform's HTML report, with networking shut off.
#   scripts/chromium.sh install                         Debian's `chromium` package, if missing
#   scripts/chromium.sh screenshot REPORT.html OUT.png [WIDTH,HEIGHT]
#   scripts/chromium.sh dom REPORT.html[#fragment]      the DOM after its scripts ran, on stdout
# The screenshot runs with a fresh profile (--user-data-dir in a temporary directory, removed
# afterwards), no background services, and every request sent to a proxy on a closed port:
# a report that referred to another host would render without it instead of fetching it.
# tests/report_render.rs calls `screenshot` and `dom`; .ci/run calls `install` before
# `cargo test`.
set -euo pipefail

browser() {
  type -P chromium || type -P chromium-browser || type -P google-chrome || true
}

install() {
  [[ -n "$(browser)" ]] && return 0
  if ! apt-cache show chromium >/dev/null 2>&1; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  [[ -n "$(browser)" ]] || { echo "chromium: installed, but no chromium binary on PATH" >&2; exit 1; }
}

# run_browser ARGS... : runs the browser with the flags above and a throwaway profile.
run_browser() {
  local bin
  bin=$(browser)
  [[ -n "$bin" ]] || { echo "chromium not installed (scripts/chromium.sh install)" >&2; exit 1; }
  profile=$(mktemp -d "${TMPDIR:-/tmp}/kmsconform-chromium.XXXXXX")
  trap 'rm -rf "${profile:-}"' EXIT
  timeout 120 "$bin" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-quic --no-first-run --disable-component-update --disable-sync \
    --user-data-dir="$profile" --proxy-server=127.0.0.1:9 "$@" 2>"$profile/chromium.log" || {
    echo "chromium failed:" >&2
    tail -n 20 "$profile/chromium.log" >&2
    exit 1
  }
}

page() {
  local html=${1%%#*} fragment=""
  [[ "$1" == *"#"* ]] && fragment="#${1#*#}"
  [[ -s "$html" ]] || { echo "no report at $html" >&2; exit 1; }
  echo "file://$(realpath "$html")$fragment"
}

screenshot() {
  local url png=${2:?out.png} size=${3:-1280,1600}
  url=$(page "${1:?report.html}")
  rm -f "$png"
  run_browser --hide-scrollbars --window-size="$size" --screenshot="$png" "$url" >/dev/null
  [[ -s "$png" ]] || { echo "chromium wrote no screenshot" >&2; exit 1; }
}

dom() {
  local url
  url=$(page "${1:?report.html}")
  run_browser --dump-dom "$url"
}

case "${1:-}" in
  install) install ;;
  screenshot) shift; screenshot "$@" ;;
  dom) shift; dom "$@" ;;
  *) echo "usage: $0 install | screenshot REPORT.html OUT.png [WIDTH,HEIGHT] | dom REPORT.html[#filter=TEXT]" >&2; exit 2 ;;
esac
