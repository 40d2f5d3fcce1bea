#!/usr/bin/env bash
# `make node-secrets PROJECT=<client project> NODE=<node>`: on the `make dev` stack, `export` lines
# of the imported secrets granted to that node: what `job.secret(name)` reads on a platform node.
# `eval "$(make -s node-secrets PROJECT=bob-client NODE=fetcher)"` puts them in the shell.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
[ -n "${1:-}" ] && [ -n "${2:-}" ] || { echo "usage: make node-secrets PROJECT=<project> NODE=<node>" >&2; exit 2; }
export KEYGATE_STATE_DIR="$ROOT/.keygate/dev"
# Dev-only like `token`: loopback AWS endpoints only, the `make dev` stack's (.keygate/dev.env).
if [ -f "$ROOT/.keygate/dev.env" ]; then set -a; . "$ROOT/.keygate/dev.env"; set +a; fi
cargo build --quiet -p keygate-dev
devtool node-secrets "$1" "$2"
