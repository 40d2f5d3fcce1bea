#!/usr/bin/env bash
# check-logs.sh [--api-keys FILE] STATE_DIR [DIR...]: fails unless no file a local stack's run
# wrote holds a token the run minted, the signature of one alone, or anything shaped like a JWT.
# Run by `make test` after every test, while its stack is still up; its functions log at trace
# (scripts/lib.sh), the most verbose level the template allows.
#   check-logs.sh --self-test: plants tokens and signatures in a small made-up state dir and
#   checks that the scan fails on each (and passes on the clean dir); `make test` runs it just
#   before the real scan. No stack needed; a second or two.
#
# The tokens of the run (the list is never printed; neither is a match, only its file and line):
#  - every API key: re-minted from the table by keygate-run-tokens (tests/src/bin/: every key
#    record of the table, checked against the imported tokens in Secrets Manager), or read from
#    FILE with --api-keys (one token a line);
#  - every console token: the dev issuer records each one it signs in STATE_DIR/dev-issuer.minted
#    (tools/devtool/src/lib.rs: the tests' Stack::token, `keygate-dev token`, /dev/token alike).
# Each list must be there and non-empty: a run that minted nothing checks nothing. The files
# are searched for the signature (third part) of each token: a signature is the secret part of a
# token (its header and claims can be rebuilt from the table), and a whole token holds it, so
# this finds both; and for `eyJ….eyJ…` (a JWT's header and claims) as before.
# What is searched: every file under STATE_DIR and each DIR, recursively (`make test` adds the
# browser tests' tests/e2e/output), whatever its name, except (in STATE_DIR):
#  - dev-issuer.minted, the console token list itself;
#  - schemathesis/, schemathesis's own record of the calls it made (scripts/schemathesis.sh: its
#    ndjson reports hold every request and answer, so the API key it reveals with
#    GET /v1/keys/{k}/token and sends back in POST /v1/verify bodies; it filters Authorization
#    headers itself): artifacts of a test client, which holds the tokens it got and sends by
#    design, not logs of the service.
# Fails closed: a missing dir or list, a file that cannot be read (grep's exit 2), anything but
# files and directories under a dir, is a failure, never "no token".
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export LC_ALL=C

MINTED=dev-issuer.minted # keygate_dev::MINTED_FILE
JWT_SHAPE='eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+'
# A token: three base64url parts, the signature long enough to look for (Ed25519's is 86).
TOKEN_LINE='[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{40,}'

fail() { echo "check-logs: $*" >&2; exit 1; }

# signatures LIST OUT WHAT: appends the signature of every token in LIST to OUT; fails on an
# empty list or a line that is no token (naming its number, not its text).
signatures() {
  local list=$1 out=$2 what=$3 bad n
  [ -f "$list" ] || fail "no $what list at $list"
  n=$(sort -u "$list" | grep -c .) || fail "the $what list $list is empty: the run minted none?"
  bad=$(grep -vnxE "$TOKEN_LINE" "$list" | cut -d: -f1 | head -n 5) || true
  [ -z "$bad" ] || fail "the $what list $list has lines that are no token: $(echo "$bad" | tr '\n' ' ')"
  cut -d. -f3 "$list" >>"$out"
  echo "$n"
}

# search KIND LIST_OF_FILES GREP_ARGS...: prints file:line of every match; returns 1 when there
# is one, 2 when grep failed (a file that cannot be read), 0 otherwise.
search() {
  local kind=$1 files=$2 rcs
  shift 2
  set +e
  xargs -0 -a "$files" -r -n 200 sh -c 'grep -anH "$@"; r=$?; [ $r -le 1 ] || exit 255; exit 0' \
    grep "$@" | cut -d: -f1,2 >"$tmp/hits"
  rcs=("${PIPESTATUS[@]}")
  set -e
  if [ "${rcs[0]}" != 0 ] || [ "${rcs[1]}" != 0 ]; then
    echo "check-logs: reading the logs failed (xargs/grep exit ${rcs[0]}, cut ${rcs[1]}):" \
      "a log that cannot be read is not a clean one" >&2
    return 2
  fi
  if [ -s "$tmp/hits" ]; then
    echo "check-logs: $kind in the logs at ($(wc -l <"$tmp/hits") lines):" >&2
    head -n 50 "$tmp/hits" >&2
    return 1
  fi
}

scan() {
  local api_keys=
  if [ "${1:-}" = --api-keys ]; then api_keys=${2:?--api-keys FILE}; shift 2; fi
  local state=${1:?usage: check-logs.sh [--api-keys FILE] STATE_DIR [DIR...] | --self-test}
  local dirs=("$@") d odd n_api n_console files lines
  for d in "${dirs[@]}"; do [ -d "$d" ] || fail "no directory $d"; done
  [ -f "$state/watch.log" ] || fail "no watch.log in $state: not a local stack's state dir"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT

  if [ -z "$api_keys" ]; then
    api_keys="$tmp/api-keys"
    "$TARGET/debug/keygate-run-tokens" >"$api_keys" \
      || fail "could not list the run's API keys (keygate-run-tokens, built by cargo build --workspace)"
  fi
  : >"$tmp/signatures"
  n_api=$(signatures "$api_keys" "$tmp/signatures" "API key")
  n_console=$(signatures "$state/$MINTED" "$tmp/signatures" "console token")
  sort -u -o "$tmp/signatures" "$tmp/signatures"

  : >"$tmp/files"
  for d in "${dirs[@]}"; do
    d=${d%/}
    if [ "$d" = "${state%/}" ]; then
      find "$d" \( -path "$d/$MINTED" -o -path "$d/schemathesis" \) -prune \
        -o \( -type f -o -type l \) -print0 >>"$tmp/files" || fail "listing $d failed"
      odd=$(find "$d" -path "$d/schemathesis" -prune -o ! -type d ! -type f ! -type l -print) \
        || fail "listing $d failed"
    else
      find "$d" \( -type f -o -type l \) -print0 >>"$tmp/files" || fail "listing $d failed"
      odd=$(find "$d" ! -type d ! -type f ! -type l -print) || fail "listing $d failed"
    fi
    [ -z "$odd" ] || fail "neither file nor directory, cannot be scanned: $odd"
  done
  files=$(tr -cd '\0' <"$tmp/files" | wc -c)
  [ "$files" -gt 0 ] || fail "no file to scan in ${dirs[*]}"

  local found=0 rc
  search "a token of the run, or its signature alone," "$tmp/files" -F -f "$tmp/signatures" || {
    rc=$?; [ "$rc" = 1 ] && found=1 || exit 1
  }
  search "JWT-shaped strings" "$tmp/files" -E "$JWT_SHAPE" || {
    rc=$?; [ "$rc" = 1 ] && found=1 || exit 1
  }
  [ "$found" = 0 ] || exit 1
  lines=$(xargs -0 -a "$tmp/files" cat | wc -l)
  echo "==> no token in $files files ($lines lines) under ${dirs[*]}: looked for $n_api API keys" \
    "and $n_console console tokens (each one's signature) and anything JWT-shaped"
}

# The self-test: a made-up state dir, clean and then with one thing planted at a time; the scan
# must pass on the clean one and fail on every other, without printing what it found.
self_test() {
  unset SELFTEST_ARGS
  t=$(mktemp -d)
  trap 'rm -rf "$t"' EXIT
  b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
  token() {
    printf '%s.%s.%s' "$(printf '{"alg":"EdDSA","typ":"%s","kid":"self-test"}' "$1" | b64url)" \
      "$(printf '{"sub":"self-test","jti":"%s"}' "$RANDOM$RANDOM" | b64url)" \
      "$(head -c 64 /dev/urandom | b64url)"
  }
  local api console stranger
  api=$(token keygate-api-key+jwt)
  console=$(token JWT)
  stranger=$(token JWT)
  local base="$t/base"
  mkdir -p "$base/state/coldstart/verify" "$base/state/schemathesis" "$base/e2e"
  printf '%s\n' "$api" >"$base/api-keys"
  printf '%s\n%s\n' "$console" "$console" >"$base/state/$MINTED"
  # Logs as a run writes them: ids and the claims part alone are fine.
  printf '{"level":"INFO","fields":{"message":"token revealed","key_id":"k1"}}\n' >"$base/state/watch.log"
  printf '%s\n' "claims alone: $(cut -d. -f2 <<<"$api")" "eyJ but no token" >"$base/state/pump-notifier.log"
  printf 'cold start 42 ms\n' >"$base/state/coldstart/verify/run-1.log"
  printf 'binary\0data\n' >"$base/state/dev-issuer.pk8"
  printf '{"request":{"headers":{"Authorization":["Bearer %s"]}},"response":{"token":"%s"}}\n' \
    "$console" "$api" >"$base/state/schemathesis/member.ndjson"
  printf '{"shots": 3}\n' >"$base/e2e/metrics.json"

  local failures=0 n=0
  # expect pass|fail NAME SAYS SETUP: a copy of the base, changed by SETUP (run in the copy), must
  # pass or fail the scan, whose output must say SAYS and hold no token.
  expect() {
    local want=$1 name=$2 says=$3 setup=$4 dir rc=0
    n=$((n + 1))
    dir="$t/case$n"
    cp -a "$base" "$dir"
    (cd "$dir" && eval "$setup")
    local args=(--api-keys "$dir/api-keys" "$dir/state" "$dir/e2e")
    [ -n "${SELFTEST_ARGS:-}" ] && eval "args=($SELFTEST_ARGS)"
    bash "$0" "${args[@]}" >"$dir/out" 2>&1 || rc=$?
    local leaked=0
    grep -qF -e "${api##*.}" -e "${console##*.}" -e "${stranger##*.}" "$dir/out" && leaked=1
    if { [ "$want" = pass ] && [ "$rc" = 0 ]; } || { [ "$want" = fail ] && [ "$rc" != 0 ]; }; then
      if [ "$leaked" = 1 ]; then
        echo "self-test: $name: the scan printed a token" >&2; failures=$((failures + 1))
      elif ! grep -qF -e "$says" "$dir/out"; then
        echo "self-test: $name: the scan did not say \"$says\":" >&2
        sed 's/^/    | /' "$dir/out" >&2
        failures=$((failures + 1))
      else
        echo "    ok: $want: $name"
      fi
    else
      echo "self-test: $name: the scan should $want but exited $rc:" >&2
      sed 's/^/    | /' "$dir/out" >&2
      failures=$((failures + 1))
    fi
  }
  local sig_api=${api##*.} sig_console=${console##*.}
  expect pass "a clean run (schemathesis/ and the token list hold tokens, and are not logs)" \
    "no token in 5 files" ':'
  expect fail "an API key's signature alone, in a nested log" \
    "state/coldstart/verify/run-1.log:2" "printf 'sig=%s\n' '$sig_api' >>state/coldstart/verify/run-1.log"
  expect fail "a console token's signature alone, in a file not named .log" \
    "state/coldstart/verify/notes.txt:1" "printf 'x %s y\n' '$sig_console' >state/coldstart/verify/notes.txt"
  expect fail "a whole API key in the browser tests' output" \
    "e2e/metrics.json:2" "printf '%s\n' '$api' >>e2e/metrics.json"
  expect fail "a JWT-shaped string no list names" \
    "JWT-shaped strings in the logs at (1 lines):" "printf 'Bearer %s\n' '$stranger' >>state/watch.log"
  expect fail "a log that cannot be read (a dangling link)" \
    "reading the logs failed" "ln -s nowhere state/gone.log"
  expect fail "an empty console token list" "is empty" ": >state/$MINTED"
  expect fail "no console token list" "no console token list" "rm state/$MINTED"
  expect fail "an empty API key list" "is empty" ": >api-keys"
  expect fail "an API key list with a line that is no token" "lines that are no token: 2" \
    "echo not-a-token >>api-keys"
  expect fail "a FIFO among the logs" "cannot be scanned" "mkfifo state/pipe.log"
  SELFTEST_ARGS='--api-keys "$dir/api-keys" "$dir/missing"' expect fail "no state dir" "no directory" ':'
  SELFTEST_ARGS='--api-keys "$dir/api-keys" "$dir/state" "$dir/missing"' \
    expect fail "a missing extra dir" "no directory" ':'
  [ "$failures" = 0 ] || { echo "check-logs: self-test: $failures of $n cases wrong" >&2; exit 1; }
  echo "==> check-logs self-test: $n cases as expected"
}

if [ "${1:-}" = --self-test ]; then self_test; else scan "$@"; fi
