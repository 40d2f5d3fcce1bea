#!/usr/bin/env bash
# `make test`: a bounded run of every fuzz target, then its own local stack (DynamoDB Local, moto
# for SES, Secrets Manager and EventBridge, the AWS front, `cargo lambda watch`) on free loopback
# ports, then every test:
# unit tests, library tests against the local stack, end-to-end tests over HTTP and `cargo lambda
# invoke` of every events/ file, the console's language catalogs (scripts/check-i18n.mjs), the
# Markdown files' relative links and headings (scripts/check-links.mjs), the console in headless
# Chromium, schemathesis against the API's
# OpenAPI document (scripts/schemathesis.sh); then cfn-lint on the SAM template. Stops what it
# started, also when a test fails.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

prepare_run

log "checking formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
log "checking the console's language catalogs (scripts/check-i18n.mjs; --self-test: it fails on a planted missing key)"
node scripts/check-i18n.mjs --self-test
node scripts/check-i18n.mjs
log "checking the Markdown files' relative links (scripts/check-links.mjs; --self-test: it fails on a planted broken link)"
node scripts/check-links.mjs --self-test
node scripts/check-links.mjs
log "checking that infra/openapi.json is what the code generates (tools/openapi; make openapi rewrites it)"
cargo run -q -p keygate-openapi -- --check infra/openapi.json
log "building the workspace and its tests"
cargo build --workspace
cargo test --workspace --no-run
log "fuzzing every target for 15 s (scripts/fuzz.sh; make fuzz for long runs)"
bash scripts/fuzz.sh 15
start_test_stack test
log "running the tests"
cargo test --workspace --no-fail-fast
log "running the console's browser tests"
run_console_tests
log "running schemathesis against infra/openapi.json (owner, member, outsider)"
bash scripts/schemathesis.sh
log "the AWS calls of the run, as the front saw them (DynamoDB Local's answers set the local deadlines)"
bash scripts/front-report.sh "$AWS_ENDPOINT_URL"
log "checking that the log scan fails on a planted token or signature (scripts/check-logs.sh --self-test)"
bash scripts/check-logs.sh --self-test
log "checking every file the run wrote for its tokens and their signatures (its functions logged at trace)"
bash scripts/check-logs.sh "$KEYGATE_STATE_DIR" "$ROOT/tests/e2e/output"
log "linting infra/template.yaml"
cfn-lint infra/template.yaml
log "all tests passed"
