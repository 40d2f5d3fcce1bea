# The two commands of the README, and the helpers they use.
.PHONY: dev test token node-secrets tools build release validate deploy lint fmt bench fuzz screenshots digest reminders openapi

dev:          ## run keygate locally with demo data on http://127.0.0.1:9000
	bash scripts/dev.sh

test:         ## every test against a local stack of its own
	bash scripts/test.sh

screenshots:  ## the console's browser tests on a stack of their own; refreshes docs/console/*.png (English) and docs/console/ru/*.png (Russian)
	bash scripts/screenshots.sh

bench:        ## latency of the key flow's calls, side by side, on a local stack of its own
	bash scripts/bench.sh

fuzz:         ## every fuzz target for FUZZ_SECONDS each (default 60; FUZZ_MERGE=1 folds finds into fuzz/corpus)
	bash scripts/fuzz.sh

digest:       ## on the `make dev` stack: run the owners' daily digest now (the scheduler's digest job)
	@bash scripts/job.sh digest

reminders:    ## on the `make dev` stack: run the expiry reminders now (NOW=<RFC 3339> to run as of another time)
	@bash scripts/job.sh reminders "$(NOW)"

token:        ## make token USER=<id> EMAIL=<email>: a dev console-user token (last line)
	@bash scripts/token.sh "$(USER)" "$(EMAIL)"

node-secrets: ## make node-secrets PROJECT=<client project> NODE=<node>: `export` lines of the secrets granted to the node
	@bash scripts/node-secrets.sh "$(PROJECT)" "$(NODE)"

tools:        ## install the pinned local tools into .keygate/venv
	bash scripts/install-tools.sh

build:        ## every function's release binary for Lambda: target/lambda/<function>/bootstrap (and sizes)
	bash scripts/build.sh

release: build

validate:     ## the SAM template, offline: sam validate --lint and cfn-lint (installs the pinned SAM CLI)
	bash scripts/install-sam.sh
	bash scripts/install-tools.sh
	SAM_CLI_TELEMETRY=0 .keygate/sam/bin/sam validate --lint --config-file samconfig.toml
	.keygate/venv/bin/cfn-lint infra/template.yaml

deploy:       ## sam build + sam deploy (samconfig.toml); the only target that talks to AWS
	bash scripts/install-sam.sh
	bash scripts/install-tools.sh
	PATH="$(CURDIR)/.keygate/venv/bin:$$PATH" AWS_LC_SYS_NO_JITTER_ENTROPY=1 SAM_CLI_TELEMETRY=0 .keygate/sam/bin/sam build
	SAM_CLI_TELEMETRY=0 .keygate/sam/bin/sam deploy

openapi:      ## regenerate infra/openapi.json from the code's types (tools/openapi); make test fails when it is stale
	cargo run -q -p keygate-openapi > infra/openapi.json.tmp
	mv infra/openapi.json.tmp infra/openapi.json

lint:         ## formatting, clippy and the SAM template
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	.keygate/venv/bin/cfn-lint infra/template.yaml
