#!/usr/bin/env bash
# `make token USER=<id> EMAIL=<email>`: a dev console-user token for the `make dev` stack, on the
# last line of output.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
[ -n "${1:-}" ] && [ -n "${2:-}" ] || { echo "usage: make token USER=<id> EMAIL=<email>" >&2; exit 2; }
export KEYGATE_STATE_DIR="$ROOT/.keygate/dev"
# `keygate-dev token` is dev-only: it runs only with loopback AWS endpoints, the `make dev`
# stack's, which it wrote to .keygate/dev.env.
if [ -f "$ROOT/.keygate/dev.env" ]; then set -a; . "$ROOT/.keygate/dev.env"; set +a; fi
cargo build --quiet -p keygate-dev
devtool token "$1" "$2"
