#!/usr/bin/env bash
# `make bench`: a local stack of its own on free loopback ports, then the key-flow benchmark
# (`tests/src/bin/keygate-bench.rs`), which prints latencies and their ratios from one run, and
# the platform-call benchmark through the local gateway (`tests/src/bin/keygate-platform-bench.rs`),
# the decision benchmark (`tests/src/bin/keygate-decision-bench.rs`, release build), and the
# cold-start benchmark of every function's release binary (`tools/coldstart`), with the default
# (compiled-in) roots of trust and with the platform's store.
# BENCH_N sets the rounds (default 40), COLDSTART_RUNS the cold starts (default 11). Stops what
# it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

STATE="$ROOT/.keygate/bench"
bash scripts/install-tools.sh
rm -rf "$STATE"
MOTO_PORT=$(free_port)
PORT=$(free_port)
stack_env "$STATE" "$MOTO_PORT" keygate-bench "$PORT"
# The key-flow bench requests keys round after round as one user: lift the per-user hourly limit
# (tests/tests/limits.rs tests it) so that it measures latency, not the limit.
export REQUESTS_PER_HOUR=1000000
# The usage counts' batches at the deployed interval (the test stack's is 1 s), so that the load
# run's DynamoDB writes per 1,000 decisions are what a deployment writes.
export USAGE_FLUSH_SECONDS=10
trap stop_all EXIT
trap 'exit 130' INT TERM

cargo build --workspace --quiet
start_emulators "$MOTO_PORT" "$(free_port)"
devtool setup >/dev/null
start_watch "$PORT" --ignore-changes
export KEYGATE_URL="http://127.0.0.1:$PORT"
"$TARGET/debug/keygate-bench"
echo
# The platform call through the local gateway vs straight to the demo platform, then a bounded
# load run of client scripts (LOAD_CLIENTS, default 20, for LOAD_SECONDS, default 60).
start_platform "$PORT"
"$TARGET/debug/keygate-platform-bench"
echo
# The decision is CPU work measured against signature verification: release build.
AWS_LC_SYS_NO_JITTER_ENTROPY=1 cargo build --release --quiet -p keygate-e2e --bin keygate-decision-bench
"$TARGET/release/keygate-decision-bench"
echo
# Cold starts: each function's release binary (as `make release` builds it: the release profile,
# AWS_LC_SYS_NO_JITTER_ENTROPY=1) started COLDSTART_RUNS times (default 11) on a loopback Lambda
# Runtime API beside a minimal lambda_runtime function (`tools/coldstart`), with this stack's
# environment, so what the functions do at init and on their first call runs against this
# emulator. The events' user tokens are a real dev token; the functions' output goes to
# $KEYGATE_STATE_DIR/coldstart/. Without tools/openapi, whose `openapi` feature of keygate would
# otherwise be on in the functions measured (a release build of a function never has it).
AWS_LC_SYS_NO_JITTER_ENTROPY=1 cargo build --release --quiet --workspace --exclude keygate-openapi --bins
# A table of its own: the emulator's queries scan the whole table, so on the key-flow bench's
# table the functions' calls would time the emulator's scan of that bench's data.
export TABLE_NAME=keygate-bench-coldstart
devtool setup >/dev/null
# A plain assignment, so that `set -e` stops here if the token cannot be made.
COLDSTART_USER_TOKEN=$(devtool token coldstart-bench coldstart-bench@example.com | tail -n 1)
export COLDSTART_USER_TOKEN
echo "==> cold starts (TLS_ROOTS=amazon, the default: the compiled-in Amazon roots)"
TLS_ROOTS=amazon "$TARGET/release/keygate-coldstart" --bin-dir "$TARGET/release"
# Again trusting the platform's store instead (TLS_ROOTS=system): the SDK then reads this
# machine's certificates at init, which is what the default avoids (on a Debian-like machine a
# directory of hundreds of hashed files; on Lambda's AL2023 one bundle file).
echo
echo "==> cold starts with TLS_ROOTS=system (this machine's trust store, read at init)"
TLS_ROOTS=system "$TARGET/release/keygate-coldstart" --bin-dir "$TARGET/release"
