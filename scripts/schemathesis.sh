#!/usr/bin/env bash
# Schemathesis against a running local stack: creates demo data through the API (a project of its
# own with an owner, a member, a role, nodes, templates, requests, keys and imports), then runs
# every operation of infra/openapi.json three times, as an outsider, as the project's member and
# as its owner, with the checks: no 5xx; status codes, content types, headers and bodies as
# documented; every error a problem+json (tests/schemathesis/hooks.py). Prints the cases run and
# the failures; exits non-zero on any failure.
#
# make test runs it on its own stack. Against `make dev`'s (state in .keygate/dev):
#   set -a; . .keygate/dev.env; set +a; bash scripts/schemathesis.sh
# SCHEMATHESIS_MAX_EXAMPLES (default 4), SCHEMATHESIS_SEED (default fixed, so runs repeat) and
# SCHEMATHESIS_PHASES (default coverage,fuzzing) tune a run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

: "${KEYGATE_URL:?KEYGATE_URL is not set: run against a started stack (make test starts one)}"
# The stack's state: the dev issuer's key (for tokens), and where the reports go.
KEYGATE_STATE_DIR=${KEYGATE_STATE_DIR:-$ROOT/.keygate/dev}
export KEYGATE_STATE_DIR
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-4}
SEED=${SCHEMATHESIS_SEED:-20260101}
PHASES=${SCHEMATHESIS_PHASES:-coverage,fuzzing}
DIR="$ROOT/tests/schemathesis"
OUT="$KEYGATE_STATE_DIR/schemathesis"
rm -rf "$OUT"
mkdir -p "$OUT"

bash "$ROOT/scripts/install-tools.sh" >/dev/null
"$VENV/bin/openapi-spec-validator" infra/openapi.json >/dev/null

# Ids of their own, so a run never meets another's data on the same stack.
RUN=$(python3 -c 'import secrets; print(secrets.token_hex(4))')
OWNER="st-owner-$RUN"
MEMBER="st-member-$RUN"
SPARE="st-spare-$RUN"
OUTSIDER="st-outsider-$RUN"
token() { devtool token "$1" "$1@example.com" 3600 | tail -n1; }
OWNER_TOKEN=$(token "$OWNER")
MEMBER_TOKEN=$(token "$MEMBER")
OUTSIDER_TOKEN=$(token "$OUTSIDER")

# api TOKEN METHOD PATH [BODY]: the JSON answer of a call that must succeed.
api() {
  local args=(-sS -o "$OUT/reply.json" -w '%{http_code}' -X "$2" "$KEYGATE_URL$3"
    -H "authorization: Bearer $1")
  [ $# -ge 4 ] && args+=(-H 'content-type: application/json' --data-binary "$4")
  local status
  status=$(curl "${args[@]}")
  if [[ "$status" != 2* ]]; then
    log "demo data: $2 $3 answered $status: $(cat "$OUT/reply.json")"
    return 1
  fi
  cat "$OUT/reply.json"
}
# field JSON PATH...: one value of a JSON document (`field "$json" key 0 id`).
field() {
  python3 -c 'import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2:]:
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$@"
}

log "schemathesis: demo data for project st-$RUN"
P="st-$RUN"
api "$OWNER_TOKEN" POST /v1/projects "{\"id\":\"$P\",\"name\":\"Schemathesis $RUN\"}" >/dev/null
api "$OWNER_TOKEN" PUT "/v1/projects/$P/roles/reader" '{"permissions":["data_layers:read"]}' >/dev/null
for node in input output; do
  api "$OWNER_TOKEN" PUT "/v1/projects/$P/nodes/$node" "{\"name\":\"$node\"}" >/dev/null
done
for user in "$MEMBER" "$SPARE"; do
  api "$OWNER_TOKEN" PUT "/v1/projects/$P/members/$user" "{\"email\":\"$user@example.com\"}" >/dev/null
done
template() {
  field "$(api "$OWNER_TOKEN" POST "/v1/projects/$P/templates" \
    "{\"name\":\"$1\",\"role\":\"reader\",\"ttl_days\":30,\"fields\":[{\"name\":\"project\",\"value\":\"$P\"},{\"name\":\"input node\",\"value\":\"input\"}]}")" id
}
T=$(template "Reader")          # requested and pending: approve, reject, fields
T_SPARE=$(template "Spare")     # deleted; its pending request is cancelled
T_KEY=$(template "Keyed")       # approved: the key that is read, revealed and imported
T_KEY2=$(template "Keyed again") # approved: the key that is revoked and rolled
F=$(field "$(api "$OWNER_TOKEN" GET "/v1/projects/$P/templates/$T")" fields 0 id)
F_SPARE=$(field "$(api "$OWNER_TOKEN" POST "/v1/projects/$P/templates/$T/fields" \
  '{"name":"spare","value":"deleted"}')" id)
request() {
  field "$(api "$MEMBER_TOKEN" POST "/v1/projects/$P/templates/$1/requests" '{"comment":"schemathesis"}')" id
}
R=$(request "$T")
R_SPARE=$(request "$T_SPARE")
key() {
  field "$(api "$OWNER_TOKEN" POST "/v1/projects/$P/requests/$(request "$1")/approve")" key id
}
K=$(key "$T_KEY")
K2=$(key "$T_KEY2")
for prefix in st st_spare; do
  api "$MEMBER_TOKEN" POST "/v1/projects/$P/imports" "{\"key_id\":\"$K\",\"prefix\":\"$prefix\"}" >/dev/null
done

# The path parameters of tests/schemathesis/schemathesis.toml.
export ST_PROJECT=$P ST_TEMPLATE=$T ST_TEMPLATE_SPARE=$T_SPARE ST_FIELD=$F ST_FIELD_SPARE=$F_SPARE \
  ST_REQUEST=$R ST_REQUEST_SPARE=$R_SPARE ST_KEY=$K ST_KEY_SPARE=$K2 ST_MEMBER=$MEMBER \
  ST_MEMBER_SPARE=$SPARE ST_PREFIX=st ST_PREFIX_SPARE=st_spare ST_SECRET=st_token
export SCHEMATHESIS_HOOKS="$DIR/hooks.py"

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance
CHECKS+=,response_headers_conformance,response_schema_conformance,errors_are_problems
failed=0
reports=()
started=$SECONDS
# The outsider first and the owner last: the owner's deletions would leave the others only 404s.
for who in outsider member owner; do
  case $who in
    outsider) tok=$OUTSIDER_TOKEN ;;
    member) tok=$MEMBER_TOKEN ;;
    owner) tok=$OWNER_TOKEN ;;
  esac
  log "schemathesis as the $who (at most $MAX_EXAMPLES examples per operation; phases $PHASES)"
  # One worker: hypothesis's source inspection is not thread-safe on this Python (a run with two
  # met "AST constructor recursion depth mismatch").
  if ! schemathesis --config-file "$DIR/schemathesis.toml" run infra/openapi.json \
    --url "$KEYGATE_URL" -H "Authorization: Bearer $tok" \
    --checks "$CHECKS" --phases "$PHASES" --max-examples "$MAX_EXAMPLES" --seed "$SEED" \
    --generation-database none --no-color --workers 1 \
    --report ndjson --report-ndjson-path "$OUT/$who.ndjson" >"$OUT/$who.log" 2>&1; then
    failed=1
    log "schemathesis as the $who failed; its output:"
    sed -n '/^=* \(FAILURES\|ERRORS\) =*$/,$p' "$OUT/$who.log" | head -n 200 >&2
  fi
  reports+=("$who=$OUT/$who.ndjson")
done
python3 "$DIR/summary.py" "${reports[@]}" || failed=1
log "schemathesis: $((SECONDS - started)) s (logs and reports in $OUT)"
exit "$failed"
