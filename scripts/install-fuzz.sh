#!/usr/bin/env bash
# Installs the pinned cargo-fuzz into .keygate/fuzz (gitignored) and checks that the toolchain
# the fuzz targets build with is there: $FUZZ_TOOLCHAIN, by default stable (without a sanitizer
# cargo-fuzz needs no -Z flag; nightly only for FUZZ_SANITIZER=address and the like). Does
# nothing when both are present. cargo-fuzz is built from its registry source through cargo's
# own configuration, into the cargo target directory (CI keeps that outside the clone), so a
# reinstall in a fresh clone is a copy.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
ROOT_DIR=.keygate/fuzz
TARGET=${CARGO_TARGET_DIR:-target}
TOOLCHAIN=${FUZZ_TOOLCHAIN:-stable}

if ! rustup toolchain list 2>/dev/null | grep -q "^$TOOLCHAIN"; then
  echo "error: the fuzz targets build with the Rust toolchain '$TOOLCHAIN' (FUZZ_TOOLCHAIN)," >&2
  echo "       which rustup does not have: install it (rustup toolchain install $TOOLCHAIN" >&2
  echo "       --profile minimal) or set FUZZ_TOOLCHAIN to one that 'rustup toolchain list' shows." >&2
  exit 1
fi
if [ "${FUZZ_SANITIZER:-none}" != none ] && [[ $TOOLCHAIN != nightly* ]]; then
  echo "error: FUZZ_SANITIZER=$FUZZ_SANITIZER needs a nightly toolchain: set FUZZ_TOOLCHAIN=nightly" >&2
  exit 1
fi

if [ "$("$ROOT_DIR/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  echo "==> installing cargo-fuzz $CARGO_FUZZ_VERSION into $ROOT_DIR" >&2
  cargo install --locked --quiet --version "$CARGO_FUZZ_VERSION" cargo-fuzz \
    --root "$ROOT_DIR" --target-dir "$TARGET/cargo-fuzz-install"
fi
echo "==> fuzz tools ready: $("$ROOT_DIR/bin/cargo-fuzz" --version), $(rustup run "$TOOLCHAIN" rustc --version)" >&2
