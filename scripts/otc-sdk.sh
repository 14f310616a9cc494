#!/usr/bin/env bash
# Installs the official Huawei Cloud / Open Telekom Cloud Python SDK core (huaweicloudsdkcore,
# from PyPI) into a virtual environment, for the SDK-HMAC-SHA256 signer oracle
# (scripts/otc_sign.py, tests/otc_signer_oracle.rs).
#
#   ${KMSCONFORM_TOOLS:-$HOME/.cache/kmsconform}/otc-sdk   the venv
#
# Idempotent: a venv that already imports the pinned version is left alone. Any failure is
# loud (non-zero exit, message on stderr); nothing here is optional for the tests.
set -euo pipefail

SDK_VERSION="3.1.219"
TOOLS="${KMSCONFORM_TOOLS:-$HOME/.cache/kmsconform}"
VENV="$TOOLS/otc-sdk"
PY="$VENV/bin/python"

fail() { echo "otc-sdk.sh: $*" >&2; exit 1; }

installed_version() {
    [ -x "$PY" ] && "$PY" -c 'import importlib.metadata as m, huaweicloudsdkcore.signer.signer as s; print(m.version("huaweicloudsdkcore"))' 2>/dev/null
}

if [ "$(installed_version || true)" = "$SDK_VERSION" ]; then
    echo "otc-sdk.sh: huaweicloudsdkcore $SDK_VERSION already in $VENV"
    exit 0
fi

command -v python3 >/dev/null || fail "python3 is required (Debian: apt-get install python3 python3-venv)"
mkdir -p "$TOOLS" || fail "cannot create $TOOLS"
if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV" || fail "python3 -m venv $VENV failed (Debian: apt-get install python3-venv)"
fi
"$PY" -m pip install --quiet --disable-pip-version-check "huaweicloudsdkcore==$SDK_VERSION" \
    || fail "pip install huaweicloudsdkcore==$SDK_VERSION into $VENV failed"
got="$(installed_version || true)"
[ "$got" = "$SDK_VERSION" ] || fail "after install, huaweicloudsdkcore imports as '${got:-nothing}', expected $SDK_VERSION"
echo "otc-sdk.sh: huaweicloudsdkcore $SDK_VERSION installed in $VENV"
