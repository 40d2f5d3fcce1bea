# Shared by the stack scripts (sourced): paths, the local AWS environment, free ports, and
# starting/stopping the emulator and `cargo lambda watch` in their own process groups.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.keygate/venv"
# Where cargo builds (CI may point CARGO_TARGET_DIR at a cache outside the clone).
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
export PATH="$VENV/bin:$PATH"
PIDS=()

log() { printf '==> %s\n' "$*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT NAME SECONDS [PID]: waits until 127.0.0.1:PORT accepts connections.
wait_port() {
  local port=$1 name=$2 secs=$3 pid=${4:-} i
  for ((i = 0; i < secs * 5; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited before listening on $port"; return 1
    fi
    sleep 0.2
  done
  log "$name did not listen on 127.0.0.1:$port within ${secs}s"; return 1
}

# stack_env STATE_DIR MOTO_PORT TABLE [WATCH_PORT]: everything local talks to loopback with dummy
# credentials.
stack_env() {
  mkdir -p "$1"
  export KEYGATE_STATE_DIR="$1"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$2"
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  unset AWS_SESSION_TOKEN AWS_PROFILE
  # A per-service endpoint (or the switch that ignores them all) from the caller's shell would
  # send calls past the emulator.
  unset AWS_IGNORE_CONFIGURED_ENDPOINT_URLS $(compgen -e | grep '^AWS_ENDPOINT_URL_' || true)
  export AWS_CONFIG_FILE="$1/no-aws-config" AWS_SHARED_CREDENTIALS_FILE="$1/no-aws-credentials"
  export AWS_EC2_METADATA_DISABLED=true
  export TABLE_NAME="$3"
  export USER_TOKEN_ISSUER=keygate-dev-issuer USER_TOKEN_AUDIENCE=keygate-console
  # The notifier: a sender in the domain `keygate-dev setup` verifies; links to the local console.
  export MAIL_FROM=keygate@example.com CONSOLE_URL="http://127.0.0.1:${4:-9000}/console"
  # Decisions trust cached key records this long: short locally, so a revocation shows at once.
  export DECISION_CACHE_TTL_SECONDS=${DECISION_CACHE_TTL_SECONDS:-2}
  # AWS call deadlines (shared/src/config.rs; deployed: 2 s per attempt, 5 s per call): the
  # emulator takes DynamoDB writes one at a time and copies the whole table for each
  # transaction, so in a full test run a call can queue for seconds (up to 3 s seen); an attempt
  # given up while queued still lands, and its retry then meets its own write (a false 409).
  # Locally one attempt of up to 8 s, still inside the functions' 10 s.
  export AWS_ATTEMPT_TIMEOUT_MS=${AWS_ATTEMPT_TIMEOUT_MS:-8000}
  export AWS_CALL_TIMEOUT_MS=${AWS_CALL_TIMEOUT_MS:-8000}
  # The lifecycle events' bus, which the notifier publishes to (`keygate-dev setup` creates it in
  # the emulator).
  export EVENT_BUS_NAME=keygate-local
  # Any signed-in user may create projects on the local stack, so demos and scripts make their
  # own (deployed, the default is `nobody`; see PROJECT_CREATION in the README).
  export PROJECT_CREATION=anyone
}

# start_moto PORT: the AWS emulator (DynamoDB, Streams, SES, Secrets Manager) on loopback, through
# scripts/moto_server.py, which takes DynamoDB writes one at a time (moto's cancelled transactions
# otherwise drop other requests' concurrent writes) and takes fault hooks (`/_keygate/faults`).
start_moto() {
  setsid "$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H 127.0.0.1 -p "$1" \
    >"$KEYGATE_STATE_DIR/moto.log" 2>&1 &
  PIDS+=("$!")
  wait_port "$1" "moto_server" 30 "$!"
}

# start_mail_moto PORT: a second emulator for SES alone; AWS_ENDPOINT_URL_SESV2 sends every SESv2
# client there. Sent mail is read back through /moto-api/data.json, which dumps every object an
# emulator ever made: on the busy main one that takes seconds (and grows), stalling the stack.
# Also through scripts/moto_server.py, for its fault hooks (`/_keygate/faults`) on SES.
start_mail_moto() {
  setsid "$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H 127.0.0.1 -p "$1" \
    >"$KEYGATE_STATE_DIR/moto-mail.log" 2>&1 &
  PIDS+=("$!")
  wait_port "$1" "moto_server (mail)" 30 "$!"
  export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$1"
}

# start_watch PORT [ARGS...]: every function of the workspace behind the API.md routes.
start_watch() {
  local port=$1; shift
  setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" "$@" \
    >"$KEYGATE_STATE_DIR/watch.log" 2>&1 &
  PIDS+=("$!")
  wait_port "$port" "cargo lambda watch" 300 "$!"
}

# start_pump PORT [FUNCTION]: the local stand-in for one of Lambda's stream triggers: follows the
# table's stream and invokes FUNCTION (default notifier) through the `cargo lambda watch` on PORT,
# until stopped. The notifier (mails and lifecycle events) and imports-sync each get their own, as
# each has its own mapping: the table's stream has these two readers (tests/tests/stream.rs).
start_pump() {
  local fn=${2:-notifier}
  setsid "$TARGET/debug/keygate-dev" pump --port "$1" --function "$fn" \
    >"$KEYGATE_STATE_DIR/pump-$fn.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  sleep 0.3
  if ! kill -0 "$pid" 2>/dev/null; then
    log "the stream pump for $fn exited; see $KEYGATE_STATE_DIR/pump-$fn.log"; return 1
  fi
}

# start_pumps PORT: the stream consumers (warmed up first: the first invocation starts them).
start_pumps() {
  local fn
  for fn in notifier imports-sync; do
    curl -s -o /dev/null -m 300 -X POST -d '{"Records":[]}' \
      "http://127.0.0.1:$1/2015-03-31/functions/$fn/invocations" || true
    start_pump "$1" "$fn"
  done
}

# stop_all: TERM to every process group started here; KILL what is still there after 5 s
# (the emulator's server can take a while to wind down its threads).
stop_all() {
  local pid i
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for ((i = 0; i < 25; i++)); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

# prepare_run: the pinned local tools and the browser tests' ones; stop_all on exit.
prepare_run() {
  bash "$ROOT/scripts/install-tools.sh"
  bash "$ROOT/scripts/install-e2e.sh"
  trap stop_all EXIT
  trap 'exit 130' INT TERM
}

# start_test_stack NAME: a whole local stack of its own on free loopback ports, state in
# .keygate/NAME, table keygate-NAME: emulators, table and keys, every function warmed up behind
# `cargo lambda watch`, the stream pumps. Exports KEYGATE_URL and KEYGATE_INVOKE_PORT.
start_test_stack() {
  local state="$ROOT/.keygate/$1" moto_port port path
  rm -rf "$state"
  moto_port=$(free_port)
  port=$(free_port)
  stack_env "$state" "$moto_port" "keygate-$1" "$port"
  log "starting the emulator on 127.0.0.1:$moto_port"
  start_moto "$moto_port"
  start_mail_moto "$(free_port)"
  devtool setup
  log "starting cargo lambda watch on 127.0.0.1:$port"
  # The functions at the template's most verbose LogLevel, as Lambda passes it (both variables;
  # AWS_LAMBDA_LOG_LEVEL wins): keygate's own lines at trace, every other crate at info at most
  # (shared/src/logging.rs), so that check-logs.sh and tests/tests/observability.rs check the
  # logs of a trace run for tokens.
  start_watch "$port" --ignore-changes --env-var AWS_LAMBDA_LOG_LEVEL=TRACE --env-var RUST_LOG=trace
  # The first request to each function starts it; do it here rather than in a test's timeout.
  for path in /v1/projects/warm-up /v1/projects/warm-up/templates /v1/projects/warm-up/secrets \
    /v1/verify /v1/keys/warm-up/usage /console /dev/token /v1/me/requests /v1/me/keys; do
    curl -s -o /dev/null -m 300 "http://127.0.0.1:$port$path" || true
  done
  curl -s -o /dev/null -m 300 -X POST -d '{}' \
    "http://127.0.0.1:$port/2015-03-31/functions/authorizer/invocations" || true
  log "starting the stream pumps (table stream -> notifier, imports-sync)"
  start_pumps "$port"
  export KEYGATE_URL="http://127.0.0.1:$port" KEYGATE_INVOKE_PORT="$port"
}

# run_console_tests: the console's browser tests (tests/e2e) against KEYGATE_URL; screenshots
# and metrics land in tests/e2e/output/.
run_console_tests() {
  (cd "$ROOT/tests/e2e" && node --test --test-concurrency=1 --test-reporter=spec console.test.mjs)
}

devtool() { "$TARGET/debug/keygate-dev" "$@"; }
