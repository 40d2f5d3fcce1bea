#!/usr/bin/env bash
# `make bench`: a local stack of its own on free loopback ports, then the key-flow benchmark
# (`tests/src/bin/keygate-bench.rs`), which prints latencies and their ratios from one run, and
# the decision benchmark (`tests/src/bin/keygate-decision-bench.rs`, release build).
# BENCH_N sets the rounds (default 40). Stops what it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

STATE="$ROOT/.keygate/bench"
bash scripts/install-tools.sh
rm -rf "$STATE"
MOTO_PORT=$(free_port)
PORT=$(free_port)
stack_env "$STATE" "$MOTO_PORT" keygate-bench "$PORT"
trap stop_all EXIT
trap 'exit 130' INT TERM

cargo build --workspace --quiet
start_moto "$MOTO_PORT"
start_mail_moto "$(free_port)"
devtool setup >/dev/null
start_watch "$PORT" --ignore-changes
export KEYGATE_URL="http://127.0.0.1:$PORT"
"$ROOT/target/debug/keygate-bench"
echo
# The decision is CPU work measured against signature verification: release build.
cargo build --release --quiet -p keygate-e2e --bin keygate-decision-bench
"$ROOT/target/release/keygate-decision-bench"
