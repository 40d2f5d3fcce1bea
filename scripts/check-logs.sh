#!/usr/bin/env bash
# check-logs.sh DIR: fails when any log of a local stack run (DIR/*.log: the functions' output
# through cargo lambda watch, the pumps, the emulators) holds something shaped like a JWT (an API
# key or a console token), naming the file and line but not the token. Run by `make test` after
# every test, so the whole run's logs are checked; its functions log at trace (scripts/lib.sh), the
# most verbose level the template allows.
set -euo pipefail
dir=${1:?usage: check-logs.sh DIR}
shopt -s nullglob
logs=("$dir"/*.log)
[ ${#logs[@]} -gt 0 ] || { echo "check-logs: no logs in $dir" >&2; exit 1; }
lines=$(cat "${logs[@]}" | wc -l)
if found=$(grep -HnE 'eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+' "${logs[@]}" | cut -d: -f1,2); then
  echo "check-logs: token-shaped strings in the logs at:" >&2
  echo "$found" >&2
  exit 1
fi
echo "==> no token in ${#logs[@]} log files ($lines lines)"
