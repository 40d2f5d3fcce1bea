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
  # Decisions' usage counts are written in batches (keygate::usecases::counting): every second locally, so
  # the tests that read usage after calls wait about that long for them.
  export USAGE_FLUSH_SECONDS=${USAGE_FLUSH_SECONDS:-1}
  # AWS call deadlines: the deployed ones (shared/src/config.rs: 2 s per attempt, 5 s per call),
  # which DynamoDB Local meets under a full `make test` (the front's `/_keygate/latency`,
  # printed at the end of the run). A caller's AWS_ATTEMPT_TIMEOUT_MS / AWS_CALL_TIMEOUT_MS win.
  # The lifecycle events' bus, which the notifier publishes to (`keygate-dev setup` creates it in
  # the emulator).
  export EVENT_BUS_NAME=keygate-local
  # Any signed-in user may create projects on the local stack, so demos and scripts make their
  # own (deployed, the default is `nobody`; see PROJECT_CREATION in docs/configuration.md).
  export PROJECT_CREATION=anyone
}

# start_dynamodb PORT [--no-wait]: DynamoDB Local (AWS's own, installed by scripts/install-tools.sh) in memory,
# one database for every credential and region, no telemetry, bound to 127.0.0.1 by its launcher
# (scripts/LoopbackDynamoDBLocal.java; its own command line listens on every interface). It serves
# the table and its stream (DynamoDB Streams on the same port).
start_dynamodb() {
  local home
  home="$ROOT/$(cat "$ROOT/.keygate/ddb/home")"
  setsid java -Xms64m -Xmx512m -XX:+UseSerialGC \
    -Djava.library.path="$home/DynamoDBLocal_lib" \
    -cp "$home/DynamoDBLocal.jar:$home/DynamoDBLocal_lib/*:$ROOT/.keygate/ddb/launcher" \
    LoopbackDynamoDBLocal -inMemory -sharedDb -disableTelemetry -port "$1" \
    >"$KEYGATE_STATE_DIR/dynamodb.log" 2>&1 &
  PIDS+=("$!")
  DYNAMODB_PID=$!
  [ "${2:-}" = --no-wait ] || wait_port "$1" "DynamoDB Local" 60 "$DYNAMODB_PID"
}

# start_moto PORT [NAME]: the AWS emulator for what AWS has no local emulator of (SES v2, Secrets
# Manager, EventBridge), plain moto server on loopback. It sees no DynamoDB call: the front
# routes those to DynamoDB Local.
start_moto() {
  local name=${2:-moto}
  setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$1" >"$KEYGATE_STATE_DIR/$name.log" 2>&1 &
  PIDS+=("$!")
  wait_port "$1" "moto_server ($name)" 30 "$!"
}

# start_front PORT MOTO_PORT DYNAMODB_PORT [MAIL_PORT MAIL_MOTO_PORT]: the AWS front (mitmdump with
# scripts/aws_front.py) that AWS_ENDPOINT_URL points at: DynamoDB and DynamoDB Streams calls to
# DynamoDB Local, the rest to moto; with MAIL_PORT, a second listener in front of the SES-only
# moto, for AWS_ENDPOINT_URL_SESV2. Both listeners take the fault hooks (`/_keygate/faults`).
start_front() {
  local modes=(--mode "reverse:http://127.0.0.1:$2@127.0.0.1:$1")
  [ -n "${4:-}" ] && modes+=(--mode "reverse:http://127.0.0.1:$5@127.0.0.1:$4")
  setsid "$VENV/bin/mitmdump" -q "${modes[@]}" -s "$ROOT/scripts/aws_front.py" \
    --set keygate_dynamodb="$3" --set confdir="$KEYGATE_STATE_DIR/mitmproxy" \
    --set keep_host_header=true --set connection_strategy=lazy --set flow_detail=0 \
    >"$KEYGATE_STATE_DIR/front.log" 2>&1 &
  PIDS+=("$!")
  wait_port "$1" "the AWS front" 30 "$!"
  if [ -n "${4:-}" ]; then
    wait_port "$4" "the AWS front (mail)" 30 "$!"
    export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$4"
  fi
}

# start_emulators FRONT_PORT MAIL_FRONT_PORT: DynamoDB Local, moto, a second moto for SES alone
# and the front before them, the back ends on free loopback ports. Sent mail is read back through
# the SES-only moto's /moto-api/data.json, which dumps every object an emulator ever made: on the
# main one (every secret the tests wrote) that grows, stalling the stack.
start_emulators() {
  local ddb_port moto_port mail_moto_port
  ddb_port=$(free_port)
  moto_port=$(free_port)
  mail_moto_port=$(free_port)
  # The JVM takes seconds to start: the others start meanwhile.
  start_dynamodb "$ddb_port" --no-wait
  start_moto "$moto_port"
  start_moto "$mail_moto_port" moto-mail
  wait_port "$ddb_port" "DynamoDB Local" 60 "$DYNAMODB_PID"
  start_front "$1" "$moto_port" "$ddb_port" "$2" "$mail_moto_port"
  log "DynamoDB Local on 127.0.0.1:$ddb_port, moto on :$moto_port (mail :$mail_moto_port), front on :$1 (mail :$2)"
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

# start_platform WATCH_PORT [DEMO_PORT GATEWAY_PORT]: the platform side of a call made with an API
# key, on loopback (tools/platform, never deployed): the demo platform (an in-memory stand-in for
# the platform API behind the deployed PlatformApi) and the local gateway in front of it, which
# does what PlatformApi does: asks the `authorizer` function (through `cargo lambda watch` on
# WATCH_PORT) with API Gateway's payload 2.0 REQUEST event, answers 401/403/500 as API Gateway
# does, forwards allowed calls with the `x-keygate-*` headers and the gateway secret. Its cache
# is the template's AuthorizerCacheSeconds default (0); a second gateway with a 3 s cache shows
# what a cache changes (tests/tests/platform.rs). Exports PLATFORM_API_URL (the gateway),
# PLATFORM_API_CACHED_URL, PLATFORM_DEMO_URL (the demo platform itself) and
# PLATFORM_BACKEND_SECRET.
start_platform() {
  local watch=$1 demo=${2:-$(free_port)} gateway=${3:-$(free_port)} cached secret
  cached=$(free_port)
  secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
  setsid "$TARGET/debug/keygate-platform" demo --port "$demo" --secret "$secret" \
    >"$KEYGATE_STATE_DIR/platform-demo.log" 2>&1 &
  PIDS+=("$!")
  wait_port "$demo" "the demo platform" 30 "$!"
  local invoke="http://127.0.0.1:$watch/2015-03-31/functions/authorizer/invocations" port ttl
  for port in "$gateway" "$cached"; do
    ttl=$([ "$port" = "$cached" ] && echo 3 || echo "${AUTHORIZER_CACHE_SECONDS:-0}")
    setsid "$TARGET/debug/keygate-platform" gateway --port "$port" --authorizer-url "$invoke" \
      --backend "http://127.0.0.1:$demo" --secret "$secret" --cache-seconds "$ttl" \
      >"$KEYGATE_STATE_DIR/platform-gateway-$port.log" 2>&1 &
    PIDS+=("$!")
    wait_port "$port" "the platform gateway" 30 "$!"
  done
  export PLATFORM_API_URL="http://127.0.0.1:$gateway" PLATFORM_API_CACHED_URL="http://127.0.0.1:$cached"
  # The demo platform and its secret, for the bench's direct calls (the gateway's hop measured
  # against none) and the test that a direct call without it is refused.
  export PLATFORM_DEMO_URL="http://127.0.0.1:$demo" PLATFORM_BACKEND_SECRET="$secret"
  log "the platform gateway on 127.0.0.1:$gateway (cached: :$cached) before the demo platform on :$demo"
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
  # Existing mail tests read English; the language tests set each user's own (PUT
  # /v1/me/settings) or token claim, and read this default back from the environment. Deployed
  # (and `make dev`) the default is `ru`: see DEFAULT_LOCALE in docs/configuration.md.
  export DEFAULT_LOCALE=en
  log "starting DynamoDB Local, the AWS emulator and the front on 127.0.0.1:$moto_port"
  start_emulators "$moto_port" "$(free_port)"
  devtool setup
  log "starting cargo lambda watch on 127.0.0.1:$port"
  # The functions at the template's most verbose LogLevel, as Lambda passes it (both variables;
  # AWS_LAMBDA_LOG_LEVEL wins): keygate's own lines at trace, every other crate at info at most
  # (shared/src/adapters/logging.rs), so that check-logs.sh and tests/tests/observability.rs check the
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
  start_platform "$port"
  export KEYGATE_URL="http://127.0.0.1:$port" KEYGATE_INVOKE_PORT="$port"
}

# run_console_tests: the console's browser tests (tests/e2e) against KEYGATE_URL; screenshots
# and metrics land in tests/e2e/output/.
run_console_tests() {
  (cd "$ROOT/tests/e2e" && node --test --test-concurrency=1 --test-reporter=spec console.test.mjs)
}

devtool() { "$TARGET/debug/keygate-dev" "$@"; }
