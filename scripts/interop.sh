#!/usr/bin/env bash
# Interoperability of the exported SCP KMS specs (specs/scp-kms/1.*.json, or the specs given
# as arguments) with common OpenAPI tools:
#
#   1. Spectral (npm @stoplight/spectral-cli) with a ruleset that only extends spectral:oas:
#      0 errors on every spec (warnings are counted and printed; README "Specs" lists those
#      left and why).
#   2. openapi-python-client (PyPI) generates a client for every version, with one endpoint
#      module per operation of the spec (api/**/*.py less __init__.py).
#
# Tools are pinned and installed once, outside the work tree, like the other install scripts:
#   ${KMSCONFORM_TOOLS:-$HOME/.cache/kmsconform}/interop/spectral-<version>/   npm prefix
#   ${KMSCONFORM_TOOLS:-$HOME/.cache/kmsconform}/interop/opc-<version>/        Python venv
# Generated clients and Spectral reports go to target/interop/ (rewritten on every run).
# Idempotent; a second run skips the installs. Any failure exits non-zero naming it.
set -euo pipefail
cd "$(dirname "$0")/.."

SPECTRAL_VERSION="6.15.0"
OPC_VERSION="0.29.1"
TOOLS="${KMSCONFORM_TOOLS:-$HOME/.cache/kmsconform}/interop"
SPECTRAL_DIR="$TOOLS/spectral-$SPECTRAL_VERSION"
SPECTRAL="$SPECTRAL_DIR/node_modules/.bin/spectral"
OPC_VENV="$TOOLS/opc-$OPC_VERSION"
OPC="$OPC_VENV/bin/openapi-python-client"
OUT="target/interop"
# The specs to check: the arguments, else every exported SCP KMS version.
if [ $# -gt 0 ]; then SPECS=("$@"); else SPECS=(specs/scp-kms/1.*.json); fi

fail() { echo "interop.sh: FAIL: $*" >&2; exit 1; }
say() { echo "interop.sh: $*"; }

for spec in "${SPECS[@]}"; do [ -f "$spec" ] || fail "no such spec: $spec"; done

# ---- install (skipped when the pinned versions are there) ----
if [ "$("$SPECTRAL" --version 2>/dev/null || true)" != "$SPECTRAL_VERSION" ]; then
    command -v npm >/dev/null || fail "npm is required for Spectral (Debian: apt-get install npm)"
    mkdir -p "$SPECTRAL_DIR" || fail "cannot create $SPECTRAL_DIR"
    say "installing @stoplight/spectral-cli@$SPECTRAL_VERSION into $SPECTRAL_DIR"
    npm install --prefix "$SPECTRAL_DIR" --no-audit --no-fund --loglevel=error \
        "@stoplight/spectral-cli@$SPECTRAL_VERSION" >/dev/null \
        || fail "npm install @stoplight/spectral-cli@$SPECTRAL_VERSION failed"
    got="$("$SPECTRAL" --version 2>/dev/null || true)"
    [ "$got" = "$SPECTRAL_VERSION" ] || fail "after install, spectral --version says '${got:-nothing}', expected $SPECTRAL_VERSION"
fi
opc_version() { "$OPC" --version 2>/dev/null | awk '{print $NF}'; }
if [ "$(opc_version || true)" != "$OPC_VERSION" ]; then
    command -v python3 >/dev/null || fail "python3 is required (Debian: apt-get install python3 python3-venv)"
    mkdir -p "$TOOLS" || fail "cannot create $TOOLS"
    if [ ! -x "$OPC_VENV/bin/python" ]; then
        python3 -m venv "$OPC_VENV" || fail "python3 -m venv $OPC_VENV failed (Debian: apt-get install python3-venv)"
    fi
    say "installing openapi-python-client==$OPC_VERSION into $OPC_VENV"
    "$OPC_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "openapi-python-client==$OPC_VERSION" \
        || fail "pip install openapi-python-client==$OPC_VERSION failed"
    got="$(opc_version || true)"
    [ "$got" = "$OPC_VERSION" ] || fail "after install, openapi-python-client says '${got:-nothing}', expected $OPC_VERSION"
fi
say "Spectral $SPECTRAL_VERSION, openapi-python-client $OPC_VERSION"

mkdir -p "$OUT"
RULESET="$OUT/spectral-oas.yaml"
printf 'extends: ["spectral:oas"]\n' > "$RULESET"
# openapi-python-client formats its output with ruff when it finds it; no post hooks here.
OPC_CONFIG="$OUT/opc-config.yaml"
printf 'post_hooks: []\n' > "$OPC_CONFIG"

failures=()

# ---- Spectral (one run over every spec: Node starts once) ----
report="$OUT/spectral.json"
# Exit 1 means "errors found"; anything else non-zero is Spectral failing to run.
set +e
"$SPECTRAL" lint --quiet --ruleset "$RULESET" --format json --output "$report" "${SPECS[@]}" >/dev/null 2>"$OUT/spectral.stderr"
rc=$?
set -e
if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
    cat "$OUT/spectral.stderr" >&2
    fail "spectral lint exited $rc"
fi
# One line per spec: "<errors> <warnings> <spec>", then the errors themselves (indented).
counts="$(python3 -c '
import json, os, sys
results = json.load(open(sys.argv[1]))
specs = {os.path.realpath(s) for s in sys.argv[2:]}
stray = {x["source"] for x in results if os.path.realpath(x["source"]) not in specs}
if stray:
    sys.exit("results for files that are not the specs checked: %s" % sorted(stray))
for spec in sys.argv[2:]:
    mine = [x for x in results if os.path.realpath(x["source"]) == os.path.realpath(spec)]
    errors = [x for x in mine if x["severity"] == 0]
    print(len(errors), sum(1 for x in mine if x["severity"] == 1), spec)
    for x in errors:
        print("    error %s at %s: %s" % (x["code"], "/".join(map(str, x["path"])), x["message"]))
' "$report" "${SPECS[@]}")" || fail "cannot read $report"
while IFS= read -r line; do
    case "$line" in
        "    "*) echo "$line" >&2 ;;
        *)
            read -r errors warnings spec <<<"$line"
            say "spectral:oas $spec: $errors errors, $warnings warnings"
            [ "$errors" -eq 0 ] || failures+=("Spectral: $errors errors in $spec (report $report)")
            ;;
    esac
done <<<"$counts"

# ---- openapi-python-client ----
for spec in "${SPECS[@]}"; do
    name="$(basename "$spec" .json)"
    dest="$OUT/python-client-$name"
    rm -rf "$dest"
    set +e
    "$OPC" generate --path "$spec" --output-path "$dest" --config "$OPC_CONFIG" >"$OUT/python-client-$name.log" 2>&1
    rc=$?
    set -e
    operations="$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
m = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
print(sum(1 for item in d.get("paths", {}).values() for k in item if k in m))
' "$spec")" || fail "cannot count the operations of $spec"
    endpoints=0
    if [ -d "$dest" ]; then
        endpoints="$(find "$dest" -path '*/api/*' -name '*.py' ! -name '__init__.py' | wc -l)"
    fi
    say "openapi-python-client $spec: $endpoints endpoint modules for $operations operations (exit $rc)"
    if [ "$rc" -ne 0 ] || [ "$endpoints" -ne "$operations" ]; then
        sed -n '1,40p' "$OUT/python-client-$name.log" >&2
        failures+=("openapi-python-client: $spec gave $endpoints endpoint modules for $operations operations (exit $rc; log $OUT/python-client-$name.log)")
    elif grep -q 'WARNING\|Unable to' "$OUT/python-client-$name.log"; then
        grep -B1 -A3 'WARNING\|Unable to' "$OUT/python-client-$name.log" | sed -n '1,40p' >&2
        failures+=("openapi-python-client: warnings while generating from $spec (log $OUT/python-client-$name.log)")
    fi
done

if [ ${#failures[@]} -ne 0 ]; then
    for f in "${failures[@]}"; do echo "interop.sh: FAIL: $f" >&2; done
    exit 1
fi
say "ok: ${#SPECS[@]} specs, 0 Spectral errors, every operation generated"
