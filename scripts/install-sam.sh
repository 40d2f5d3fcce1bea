#!/usr/bin/env bash
# Installs the pinned AWS SAM CLI into its own venv (.keygate/sam: its cfn-lint pin must not
# fight the emulator's). Used by `make validate` and `make deploy` only; does nothing when present.
set -euo pipefail
cd "$(dirname "$0")/.."

SAM_VERSION=1.170.0
VENV=.keygate/sam

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -m pip freeze 2>/dev/null | grep -qx "aws-sam-cli==$SAM_VERSION"; then
  echo "==> installing aws-sam-cli $SAM_VERSION into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_VERSION"
fi
echo "==> SAM CLI ready: $("$VENV/bin/sam" --version)"
