# The README's commands. `make test` installs what the tests need when it is missing, builds, and
# runs every test; `make bench` runs the benchmarks side by side with their peers.

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: test deps build bench bench-api bench-extension bench-flow bench-files lint fmt

test: deps build
	$(CARGO) test --workspace

deps:
	@scripts/install-test-deps.sh

build:
	$(CARGO) build -p integrator --bin integrator

bench: bench-api bench-extension bench-flow bench-files

bench-api:
	@scripts/install-bench-deps.sh
	$(CARGO) build --release -p integrator --bin integrator
	scripts/bench-api.sh

bench-extension:
	scripts/bench-extension.sh

bench-flow:
	scripts/bench-flow.sh

bench-files:
	scripts/bench-files.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all
