#!/usr/bin/env bash
# Installs the local tools keygate needs into the repo (gitignored .keygate/venv):
# the AWS emulator (moto server, which also brings cfn-lint), cargo-lambda and schemathesis (the
# API's OpenAPI document against the running stack: scripts/schemathesis.sh).
# Pinned versions; does nothing when they are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
CARGO_LAMBDA_VERSION=1.9.2
SCHEMATHESIS_VERSION=4.32.5
VENV=.keygate/venv

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  python3 -m venv "$VENV"
fi

want_moto="moto==$MOTO_VERSION"
want_cl="cargo-lambda==$CARGO_LAMBDA_VERSION"
want_st="schemathesis==$SCHEMATHESIS_VERSION"
have=$("$VENV/bin/python" -m pip freeze 2>/dev/null || true)
missing=()
grep -qx "$want_moto" <<<"$have" || missing+=("moto[server]==$MOTO_VERSION")
grep -qx "$want_cl" <<<"$have" || missing+=("$want_cl")
grep -qx "$want_st" <<<"$have" || missing+=("$want_st")

if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]} into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}"
fi
"$VENV/bin/cargo-lambda" lambda --version >/dev/null
"$VENV/bin/moto_server" --help >/dev/null
"$VENV/bin/schemathesis" --version >/dev/null
echo "==> tools ready: moto $MOTO_VERSION, cargo-lambda $CARGO_LAMBDA_VERSION, schemathesis $SCHEMATHESIS_VERSION"
