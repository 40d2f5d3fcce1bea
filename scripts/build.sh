#!/usr/bin/env bash
# `make build`: every function's release binary for Lambda (cargo lambda build --release), in
# <target>/lambda/<function>/bootstrap, and their sizes. Only functions/*: the dev tools and
# benches are not deployed. ARCH=arm64 builds for Graviton (its Rust target must be installed).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
bash scripts/install-tools.sh >/dev/null
packages=()
for manifest in functions/*/Cargo.toml; do
  packages+=(-p "$(sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -1)")
done
arch=()
[ "${ARCH:-x86_64}" = arm64 ] && arch=(--arm64)
# aws-lc's CPU-jitter entropy source costs ~50 ms at every cold start: built without it.
AWS_LC_SYS_NO_JITTER_ENTROPY=1 cargo lambda build --release "${arch[@]}" "${packages[@]}"
for dir in "$TARGET"/lambda/*/; do
  name=$(basename "$dir")
  [ -f "$dir/bootstrap" ] && printf '%-14s %9d bytes\n' "$name" "$(stat -c %s "$dir/bootstrap")"
done
