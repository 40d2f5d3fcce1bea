#!/usr/bin/env bash
# `make test`: its own emulator and `cargo lambda watch` on free loopback ports, then every test:
# unit tests, library tests against the emulator, end-to-end tests over HTTP and `cargo lambda
# invoke` of every events/ file; then cfn-lint on the SAM template. Stops what it started, also
# when a test fails.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

STATE="$ROOT/.keygate/test"
bash scripts/install-tools.sh
rm -rf "$STATE"
MOTO_PORT=$(free_port)
PORT=$(free_port)
MAIL_PORT=$(free_port)
stack_env "$STATE" "$MOTO_PORT" keygate-test "$PORT"
trap stop_all EXIT
trap 'exit 130' INT TERM

log "checking formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
log "building the workspace and its tests"
cargo build --workspace
cargo test --workspace --no-run
log "starting the emulator on 127.0.0.1:$MOTO_PORT"
start_moto "$MOTO_PORT"
start_mail_moto "$MAIL_PORT"
devtool setup
log "starting cargo lambda watch on 127.0.0.1:$PORT"
start_watch "$PORT" --ignore-changes
# The first request to each function starts it; do it here rather than in a test's timeout.
for path in /v1/projects/warm-up /v1/projects/warm-up/templates /v1/projects/warm-up/secrets /v1/verify /v1/keys/warm-up/usage; do
  curl -s -o /dev/null -m 300 "http://127.0.0.1:$PORT$path" || true
done
curl -s -o /dev/null -m 300 -X POST -d '{}' \
  "http://127.0.0.1:$PORT/2015-03-31/functions/authorizer/invocations" || true
log "starting the stream pumps (table stream -> notifier, imports-sync)"
start_pumps "$PORT"

export KEYGATE_URL="http://127.0.0.1:$PORT" KEYGATE_INVOKE_PORT="$PORT"
log "running the tests"
cargo test --workspace --no-fail-fast
log "linting infra/template.yaml"
cfn-lint infra/template.yaml
log "all tests passed"
