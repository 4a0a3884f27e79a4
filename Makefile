# network-tools. The two commands a newcomer needs: `make conformance`, `make test`.
CARGO ?= cargo
# Debian packages a target needs, installed only when their command is missing.
APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

.PHONY: conformance test snapshots serve bench bench-deps lint

## Both server variants on ephemeral ports, every case against each: grades and snapshots.
conformance:
	$(CARGO) test -q -p conformance --test conformance

## The whole workspace's tests (the conformance run included), then fmt and clippy.
test:
	$(CARGO) test --workspace
	$(MAKE) lint

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -q -- -D warnings

## Accept new or changed snapshots, deliberately.
snapshots:
	INSTA_UPDATE=always INSTA_FORCE_PASS=1 $(CARGO) test -q -p conformance --test conformance
	@git status --short snapshots | head -20

## Serve fixtures/root on http://127.0.0.1:8080 (threaded; MODE=single for the other variant).
MODE ?= threaded
serve:
	$(CARGO) run --release -p server --bin http-server -- --mode $(MODE) --root fixtures/root

bench-deps:
	@missing=""; \
	for tool in wrk:wrk nginx:nginx lighttpd:lighttpd; do \
	  command -v $${tool%%:*} >/dev/null 2>&1 || missing="$$missing $${tool##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing from Debian's packages"; \
	  apt-get update -qq && $(APT_INSTALL) $$missing; \
	fi

## Requests/s for a small file: the reference server against nginx and lighttpd.
bench: bench-deps
	$(CARGO) build --release -q -p server --bin http-server
	python3 bench/run.py target/release/http-server
