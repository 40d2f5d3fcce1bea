#!/usr/bin/env bash
# `make screenshots`: the console's browser tests on a fresh local stack, then the README's
# screenshots (docs/console/*.png) copied from their output.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

prepare_run
cargo build --workspace --quiet
start_test_stack screenshots
run_console_tests
mkdir -p docs/console
for shot in template-with-fields alice-pending-request bob-approved bob-secrets bob-usage owner-375px; do
  cp tests/e2e/output/*-"$shot".png "docs/console/$shot.png"
done
log "screenshots in docs/console/; console metrics: $(tr -d ' \n' <tests/e2e/output/metrics.json)"
