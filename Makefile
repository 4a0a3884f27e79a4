# network-tools. The two commands a newcomer needs: `make conformance`, `make test`.
CARGO ?= cargo
# Debian packages a target needs, installed only when their command is missing.
APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

.PHONY: conformance test test-deps snapshots serve bench bench-deps bench-profile lint fuzz

## Both server variants on ephemeral ports, every case against each: grades and snapshots.
conformance:
	$(CARGO) test -q -p conformance --test conformance

## The whole workspace's tests (the conformance run included), then fmt and clippy.
test: test-deps
	$(CARGO) test --workspace
	$(MAKE) lint

## The HTML report's browser test needs Debian's chromium (SKIP_BROWSER_TEST=1 skips it).
test-deps:
	@if ! command -v chromium >/dev/null 2>&1 && [ -z "$$SKIP_BROWSER_TEST" ]; then \
	  echo "installing chromium from Debian's packages (for the HTML report's browser test)"; \
	  apt-get update -qq && $(APT_INSTALL) chromium; \
	fi

## fmt, clippy, and the layout rules (.ci/layers.py: the layer maps, no import circles, no
## source file over 800 lines).
lint:
	python3 .ci/layers.py
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

## Requests/s for a small file: the reference server against nginx (one worker) and
## lighttpd, keep-alive and Connection: close at 32 connections, keep-alive at 1,000
## and 10,000, medians of alternating rounds, with errors, timeouts and non-2xx
## answers, and the goals met or not. It raises its open-file limit to the hard limit
## (the rows that need more are skipped, saying why). About 4 minutes; BENCH_ROUNDS,
## BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_MANY, BENCH_MANY_SECONDS tune it.
bench: bench-deps
	$(CARGO) build --release -q -p server --bin http-server
	python3 bench/run.py target/release/http-server

## A perf call-graph profile of the threaded variant under wrk with keep-alive
## (Debian's linux-perf, installed when perf is missing). PROFILER=callgrind counts
## user-space instructions per request instead (Debian's valgrind): the same count
## on a busy machine as on a quiet one, where times are not.
PROFILER ?= perf
bench-profile: bench-deps
	@if [ "$(PROFILER)" = callgrind ]; then tool=valgrind package=valgrind; else tool=perf package=linux-perf; fi; \
	command -v $$tool >/dev/null 2>&1 || { \
	  echo "installing $$package from Debian's packages"; \
	  apt-get update -qq && $(APT_INSTALL) $$package; \
	}
	$(CARGO) build --release -q -p server --bin http-server
	python3 bench/run.py $(if $(filter callgrind,$(PROFILER)),--callgrind,--profile) target/release/http-server

## Fuzz the request parser for FUZZ_SECONDS with cargo-fuzz (RUSTC_BOOTSTRAP lets its
## nightly-only flags through on stable). Reads the committed corpus, server/fuzz/corpus/;
## new inputs go to server/fuzz/target/corpus/, crashes to server/fuzz/artifacts/.
## No sanitizer: the crate forbids unsafe code and ASan costs 4x the executions;
## debug assertions keep integer overflow checks on.
FUZZ_SECONDS ?= 60
fuzz:
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	mkdir -p server/fuzz/target/corpus/parse_request
	cd server && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --sanitizer none --debug-assertions parse_request \
	  fuzz/target/corpus/parse_request fuzz/corpus/parse_request \
	  -- -max_total_time=$(FUZZ_SECONDS) -dict=fuzz/parse_request.dict

## Every case against nginx, Apache httpd, lighttpd, h2o, Caddy, mini_httpd, webfs, BusyBox
## httpd, Python's http.server and both reference variants, each serving fixtures/root on
## loopback (configs in bench/ and matrix/servers/; missing servers are installed from
## Debian's packages), then against application servers running a hello app on /hello
## (uvicorn, gunicorn, waitress, Hypercorn, aiohttp from the pinned
## matrix/servers/requirements.txt in a virtualenv under target/; Node's http module).
## Writes snapshots/<server>/, matrix/results.json, docs/matrix.md, docs/report.html and
## the scores in docs/field-study.md. MATRIX_ONLY="nginx apache" reruns a few; nginx-tls is nginx over
## TLS with the self-signed certificate made below.
.PHONY: matrix matrix-venv
MATRIX_ONLY ?=
MATRIX_VENV = target/matrix-venv
MATRIX_TLS = target/matrix-tls
MATRIX_PYTHON_SERVERS = uvicorn gunicorn waitress hypercorn aiohttp
matrix: $(MATRIX_TLS)/cert.pem
	$(CARGO) build --release -q -p server -p conformance --bins
	@if [ -z "$(MATRIX_ONLY)" ] || [ -n "$(filter $(MATRIX_PYTHON_SERVERS),$(MATRIX_ONLY))" ]; then \
	  $(MAKE) -s matrix-venv || echo "matrix: could not install $(MATRIX_VENV); the Python application servers are skipped"; \
	fi
	python3 matrix/run.py $(foreach name,$(MATRIX_ONLY),--only $(name))

## The Python application servers, pinned, in a virtualenv of their own; reinstalled
## when matrix/servers/requirements.txt changes.
matrix-venv: $(MATRIX_VENV)/installed

$(MATRIX_VENV)/installed: matrix/servers/requirements.txt
	rm -rf $(MATRIX_VENV)
	python3 -m venv $(MATRIX_VENV)
	$(MATRIX_VENV)/bin/python -m pip install -q --require-virtualenv -r matrix/servers/requirements.txt
	touch $@

## nginx-tls's certificate: self-signed, not a CA (so it is its own trust anchor for
## `conformance run --ca`), for localhost and 127.0.0.1; openssl from Debian's packages.
$(MATRIX_TLS)/cert.pem:
	@command -v openssl >/dev/null 2>&1 || { apt-get update -qq && $(APT_INSTALL) openssl; }
	mkdir -p $(MATRIX_TLS)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
	  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	  -addext "basicConstraints=critical,CA:FALSE" -keyout $(MATRIX_TLS)/key.pem -out $@
