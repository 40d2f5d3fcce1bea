#!/usr/bin/env bash
# `make screenshots`: the console's browser tests on a fresh local stack, then docs/console.md's
# screenshots (docs/console/*.png, and docs/console/ru/*.png in Russian) copied from their output.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

prepare_run
cargo build --workspace --quiet
start_test_stack screenshots
run_console_tests
mkdir -p docs/console
for shot in template-with-fields alice-pending-request bob-approved bob-secrets bob-usage owner-375px; do
  cp tests/e2e/output/[0-9][0-9]-"$shot".png "docs/console/$shot.png"
done
# The same screens in Russian (the test's Russian walk), beside them in docs/console/ru/.
mkdir -p docs/console/ru
for shot in template-with-fields pending-request member-waiting secrets usage owner-375px; do
  cp tests/e2e/output/[0-9][0-9]-ru-"$shot".png "docs/console/ru/$shot.png"
done
log "screenshots in docs/console/; console metrics: $(tr -d ' \n' <tests/e2e/output/metrics.json)"
