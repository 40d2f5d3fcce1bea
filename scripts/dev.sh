#!/usr/bin/env bash
# `make dev`: installs what is missing, starts DynamoDB Local, the AWS emulator (moto: SES,
# Secrets Manager, EventBridge) behind the AWS front, and `cargo lambda watch` on loopback,
# creates the table, mail identity and dev issuer, seeds the demo, prints how to call it.
# Ctrl-C stops everything it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

MOTO_PORT=${MOTO_PORT:-4566}
PORT=${PORT:-9000}
MAIL_MOTO_PORT=${MAIL_MOTO_PORT:-4567}
GATEWAY_PORT=${GATEWAY_PORT:-9100}
DEMO_PORT=${DEMO_PORT:-9101}
STATE="$ROOT/.keygate/dev"

bash scripts/install-tools.sh
stack_env "$STATE" "$MOTO_PORT" keygate "$PORT"
trap stop_all EXIT
trap 'exit 130' INT TERM

log "building the workspace"
cargo build --workspace --quiet
log "starting DynamoDB Local, the AWS emulator and the AWS front on 127.0.0.1:$MOTO_PORT"
start_emulators "$MOTO_PORT" "$MAIL_MOTO_PORT"
devtool setup
devtool seed
cat >"$ROOT/.keygate/dev.env" <<ENV
KEYGATE_URL=http://127.0.0.1:$PORT
AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL
AWS_ENDPOINT_URL_SESV2=$AWS_ENDPOINT_URL_SESV2
AWS_REGION=$AWS_REGION
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
AWS_EC2_METADATA_DISABLED=true
TABLE_NAME=$TABLE_NAME
ENV
log "starting cargo lambda watch on 127.0.0.1:$PORT"
start_watch "$PORT"
log "starting the stream pumps (table stream -> notifier -> mail in moto and events on the bus; -> imports-sync)"
start_pumps "$PORT"
log "starting the demo platform and the platform gateway before it (tools/platform)"
start_platform "$PORT" "$DEMO_PORT" "$GATEWAY_PORT"
echo "PLATFORM_API_URL=$PLATFORM_API_URL" >>"$ROOT/.keygate/dev.env"
ALICE=$(devtool token alice alice@example.com)
BOB=$(devtool token bob bob@example.com)
cat <<TXT

keygate is running at http://127.0.0.1:$PORT   (settings in .keygate/dev.env, logs in .keygate/dev/)

alice (owner of project "server"):   $ALICE
bob (member of "server", owner of "bob-client"):   $BOB

Try:
  curl -s http://127.0.0.1:$PORT/v1/projects/server -H "Authorization: Bearer $ALICE"
  curl -s http://127.0.0.1:$PORT/v1/projects/server/templates -H "Authorization: Bearer $BOB"
  # alice approves bob's request (its id: GET /v1/projects/server/requests), then bob imports the
  # key into bob-client and grants a node:
  curl -s -X POST http://127.0.0.1:$PORT/v1/projects/bob-client/imports -H "Authorization: Bearer $BOB" \
    -H 'content-type: application/json' -d '{"key_id":"<key id>","prefix":"wx"}'
  curl -s -X PUT http://127.0.0.1:$PORT/v1/projects/bob-client/secrets/wx_token/nodes -H "Authorization: Bearer $BOB" \
    -H 'content-type: application/json' -d '{"nodes":["fetcher"]}'

Mail the notifier sent (moto keeps the HTML part), e.g. alice's about bob's request:
  curl -s http://127.0.0.1:$MAIL_MOTO_PORT/moto-api/data.json | python3 -c 'import json, sys; [print(m["destinations"]["ToAddresses"], m["subject"]) for m in json.load(sys.stdin)["ses"]["Message"]]'

The platform API behind the local gateway (it asks the authorizer, as API Gateway does):
  $PLATFORM_API_URL   (the manual's client script end to end: docs/api.md, "The manual's last step, locally")

More tokens: make token USER=carol EMAIL=carol@example.com      Stop: Ctrl-C
TXT
wait "${PIDS[@]}"
