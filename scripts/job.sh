#!/usr/bin/env bash
# `make digest` / `make reminders [NOW=<RFC 3339>]`: invokes the scheduler function on the running
# `make dev` stack with the job's event (events/scheduler/<job>.json, or `now` moved to NOW),
# as its EventBridge schedule would; prints the job's report.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
job=${1:?usage: job.sh digest|reminders [now]}
now=${2:-}
[ -f .keygate/dev.env ] || { log "no .keygate/dev.env: start the stack with make dev first"; exit 2; }
port=$(sed -n 's#^KEYGATE_URL=http://127.0.0.1:\([0-9]*\)$#\1#p' .keygate/dev.env)
if [ -n "$now" ]; then
  body=$(printf '{"job": "%s", "now": "%s"}' "$job" "$now")
else
  body=$(cat "events/scheduler/$job.json")
fi
curl -sS --fail-with-body -m 300 -X POST -H 'content-type: application/json' -d "$body" \
  "http://127.0.0.1:$port/2015-03-31/functions/scheduler/invocations"
echo
