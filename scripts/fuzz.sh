#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for SECONDS each, one after the other, and prints
# per target its runs, seconds and crashes; fails if any target crashed, timed out or ran out
# of memory (the input is kept in fuzz/artifacts/<target>/ and the command that replays it is
# printed).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     SECONDS defaults to $FUZZ_SECONDS, else 60
#
# Builds with the pinned cargo-fuzz (scripts/install-fuzz.sh) on $FUZZ_TOOLCHAIN (default
# stable) without a sanitizer ($FUZZ_SANITIZER, default none: the code is safe Rust and aws-lc's
# C is not instrumented either way; address and the others need FUZZ_TOOLCHAIN=nightly), with
# debug assertions (overflow checks), into ${CARGO_TARGET_DIR:-target}/fuzz so CI's cache keeps
# the build. Each target starts from the committed seeds in fuzz/corpus/<target> (never written
# to) plus what earlier runs found, kept beside the build. FUZZ_MERGE=1 then folds what the
# runs found into fuzz/corpus, minimised (a set cover of the edges, at most FUZZ_CORPUS_MAX =
# 200 files a target).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SECONDS_EACH=${1:-${FUZZ_SECONDS:-60}}
shift $(($# > 0 ? 1 : 0))
case $SECONDS_EACH in '' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;; esac

bash scripts/install-fuzz.sh
export PATH="$ROOT/.keygate/fuzz/bin:$PATH"
WORK=${CARGO_TARGET_DIR:-$ROOT/target}/fuzz
LOGS=$ROOT/.keygate/fuzz/logs
mkdir -p "$WORK" "$LOGS"
TOOLCHAIN=${FUZZ_TOOLCHAIN:-stable}
# 16 codegen units (cargo-fuzz's default is 1): a much shorter cold build for slightly slower runs.
FLAGS=(--fuzz-dir fuzz --sanitizer "${FUZZ_SANITIZER:-none}" --debug-assertions --codegen-units 16
  --target-dir "$WORK")

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo "+$TOOLCHAIN" fuzz list --fuzz-dir fuzz)
fi

start=$(date +%s)
echo "==> building the fuzz targets ($TOOLCHAIN, cargo-fuzz) into $WORK" >&2
cargo "+$TOOLCHAIN" fuzz build "${FLAGS[@]}" 2>"$LOGS/build.log" || {
  tail -n 40 "$LOGS/build.log" >&2
  exit 1
}
echo "==> fuzz targets built in $(($(date +%s) - start)) s" >&2

# merge_corpus TARGET SEEDS FOUND: replaces the generated inputs in SEEDS (40-hex names; the
# hand-written seeds keep their names) by a set cover, over edges, of SEEDS and FOUND, at most
# $FUZZ_CORPUS_MAX files in all (the smallest first when the cover is larger).
merge_corpus() {
  local t=$1 seeds=$2 found=$3 max=${FUZZ_CORPUS_MAX:-200} merged pool named
  local hex='.*/[0-9a-f]{40}'
  merged=$(mktemp -d) pool=$(mktemp -d)
  find "$seeds" -regextype posix-extended -type f ! -regex "$hex" -exec cp {} "$merged/" \;
  find "$seeds" "$found" -regextype posix-extended -type f -regex "$hex" -exec cp {} "$pool/" \;
  cargo "+$TOOLCHAIN" fuzz run "${FLAGS[@]}" "$t" "$merged" "$pool" -- -set_cover_merge=1 \
    -use_counters=0 >>"$LOGS/$t.log" 2>&1
  named=$(find "$seeds" -regextype posix-extended -type f ! -regex "$hex" | wc -l)
  find "$seeds" -regextype posix-extended -type f -regex "$hex" -delete
  find "$merged" -regextype posix-extended -type f -regex "$hex" -printf '%s %p\n' | sort -n |
    awk -v n="$((max - named))" 'NR <= n { sub(/^[0-9]+ /, ""); print }' |
    while read -r f; do cp "$f" "$seeds/"; done
  rm -rf "$merged" "$pool"
  echo "==> $seeds: $(find "$seeds" -type f | wc -l) files after merging" >&2
}

failed=0
total=0
for t in "${targets[@]}"; do
  scratch=$WORK/corpus/$t
  seeds=fuzz/corpus/$t
  artifacts=fuzz/artifacts/$t
  mkdir -p "$scratch" "$seeds" "$artifacts"
  marker=$(mktemp)
  opts=(-max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
  [ -f "fuzz/dicts/$t.dict" ] && opts+=(-dict="fuzz/dicts/$t.dict")
  rc=0
  cargo "+$TOOLCHAIN" fuzz run "${FLAGS[@]}" "$t" "$scratch" "$seeds" -- "${opts[@]}" \
    >"$LOGS/$t.log" 2>&1 || rc=$?
  runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' "$LOGS/$t.log" | tail -n1)
  secs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$LOGS/$t.log" | tail -n1)
  found=$(find "$artifacts" -type f -newer "$marker")
  crashes=$(grep -c . <<<"$found" || true)
  rm -f "$marker"
  printf 'fuzz %-12s %9s runs in %3s s, %d crashes\n' "$t" "${runs:-?}" "${secs:-?}" "$crashes"
  total=$((total + 1))
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ] || [ -z "$runs" ]; then
    failed=$((failed + 1))
    echo "==> fuzz target $t failed (exit $rc); from $LOGS/$t.log:" >&2
    grep -a -m1 -A4 'panicked at' "$LOGS/$t.log" >&2 || true
    tail -n 30 "$LOGS/$t.log" >&2
    for f in $found; do
      echo "==> replay: PATH=\"$ROOT/.keygate/fuzz/bin:\$PATH\" cargo +$TOOLCHAIN fuzz run ${FLAGS[*]} $t $f" >&2
    done
  elif [ "${FUZZ_MERGE:-0}" = 1 ]; then
    merge_corpus "$t" "$seeds" "$scratch"
  fi
done
echo "fuzz: $total targets for ${SECONDS_EACH} s each, $failed with crashes or errors ($(($(date +%s) - start)) s in all)"
[ "$failed" -eq 0 ]
