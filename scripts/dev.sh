#!/usr/bin/env bash
# `make dev`: installs what is missing, starts the emulator and `cargo lambda watch` on loopback,
# creates the table, mail identity and dev issuer, seeds the demo, prints how to call it.
# Ctrl-C stops everything it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

MOTO_PORT=${MOTO_PORT:-4566}
PORT=${PORT:-9000}
STATE="$ROOT/.keygate/dev"

bash scripts/install-tools.sh
stack_env "$STATE" "$MOTO_PORT" keygate
trap stop_all EXIT
trap 'exit 130' INT TERM

log "building the workspace"
cargo build --workspace --quiet
log "starting the emulator on 127.0.0.1:$MOTO_PORT"
start_moto "$MOTO_PORT"
devtool setup
devtool seed
cat >"$ROOT/.keygate/dev.env" <<ENV
KEYGATE_URL=http://127.0.0.1:$PORT
AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL
AWS_REGION=$AWS_REGION
TABLE_NAME=$TABLE_NAME
ENV
log "starting cargo lambda watch on 127.0.0.1:$PORT"
start_watch "$PORT"
ALICE=$(devtool token alice alice@example.com)
BOB=$(devtool token bob bob@example.com)
cat <<TXT

keygate is running at http://127.0.0.1:$PORT   (settings in .keygate/dev.env, logs in .keygate/dev/)

alice (owner of project "server"):   $ALICE
bob (member of "server", owner of "bob-client"):   $BOB

Try:
  curl -s http://127.0.0.1:$PORT/v1/projects/server -H "Authorization: Bearer $ALICE"
  curl -s http://127.0.0.1:$PORT/v1/projects/server/templates -H "Authorization: Bearer $BOB"

More tokens: make token USER=carol EMAIL=carol@example.com      Stop: Ctrl-C
TXT
wait "${PIDS[@]}"
