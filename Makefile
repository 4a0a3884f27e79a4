# network-tools. The two commands a newcomer needs: `make conformance`, `make test`.
CARGO ?= cargo
# Debian packages a target needs, installed only when their command is missing.
APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

.PHONY: conformance test test-deps snapshots serve bench bench-deps bench-profile lint fuzz dist dist-deps dist-test

## Both server variants on ephemeral ports, every case against each: grades and snapshots.
conformance:
	$(CARGO) test -q -p conformance --test conformance

## The whole workspace's tests (the conformance run included), fmt and clippy, then the
## static binaries as users get them (dist-test).
test: test-deps
	$(CARGO) test --workspace
	$(MAKE) lint
	$(MAKE) dist-test

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
## the scores in docs/field-study.md. Then the chain matrix: `conformance chain` through each
## reverse proxy of `make proxies-deps` (below), each from its config in matrix/proxies/, in front
## of the origin embedded in conformance; writes matrix/chain-results.json, docs/chain-matrix.md,
## the chain section of docs/report.html and the chain scores in docs/field-study.md.
## MATRIX_ONLY="nginx apache" reruns a few (a name in both tiers reruns both; server:NAME,
## proxy:NAME, servers and proxies narrow it); nginx-tls is nginx over TLS with the self-signed
## certificate made below.
.PHONY: matrix matrix-venv
MATRIX_ONLY ?=
MATRIX_VENV = target/matrix-venv
MATRIX_TLS = target/matrix-tls
MATRIX_PYTHON_SERVERS = uvicorn gunicorn waitress hypercorn aiohttp
matrix: $(MATRIX_TLS)/cert.pem
	$(CARGO) build --release -q -p server -p conformance --bins
	@if [ -z "$(MATRIX_ONLY)" ] || [ -n "$(filter servers $(MATRIX_PYTHON_SERVERS) $(addprefix server:,$(MATRIX_PYTHON_SERVERS)),$(MATRIX_ONLY))" ]; then \
	  $(MAKE) -s matrix-venv || echo "matrix: could not install $(MATRIX_VENV); the Python application servers are skipped"; \
	fi
	@$(MAKE) -s proxies-deps PROXIES_FOR="$(MATRIX_ONLY)" || echo "matrix: could not install every proxy; those missing are reported and skipped"
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

## The reverse proxies of the chain matrix (matrix/proxies.py), installed when missing:
## nginx, HAProxy, Apache httpd (mod_proxy_http), Caddy, Varnish, Squid, h2o, nghttpx,
## tinyproxy and Apache Traffic Server from Debian's packages; mitmproxy, pinned in
## matrix/proxies/requirements.txt, into target/proxies-venv; Node's http-proxy, pinned in
## matrix/proxies/node/package-lock.json, with npm ci into matrix/proxies/node/node_modules
## (Debian's npm first, when missing). PROXIES_FOR="nginx proxy:squid" (make matrix passes its
## MATRIX_ONLY) installs only the proxies that selects.
## `python3 matrix/proxies.py check` then sends one GET through each to a recording origin.
.PHONY: proxies-deps
PROXIES_FOR ?=
proxies-deps:
	python3 matrix/proxies.py install $(if $(strip $(PROXIES_FOR)),--for-matrix "$(PROXIES_FOR)")

## Static, stripped `conformance` and `http-server` for x86_64 Linux (musl, no shared
## library needed) in dist/, with dist/SHA256SUMS (`cd dist && sha256sum -c SHA256SUMS`).
## The `dist` profile is the release one with fat LTO and one codegen unit (Cargo.toml).
## --locked: the build uses Cargo.lock as committed, as `cargo install --locked` does.
DIST_TARGET = x86_64-unknown-linux-musl
DIST_BINS = conformance http-server
dist: dist-deps
	$(CARGO) build -q --locked --profile dist --target $(DIST_TARGET) -p conformance -p server --bins
	rm -rf dist
	mkdir -p dist
	cp $(foreach bin,$(DIST_BINS),target/$(DIST_TARGET)/dist/$(bin)) dist/
	cd dist && sha256sum $(DIST_BINS) > SHA256SUMS
	@cd dist && ls -l $(DIST_BINS) && cat SHA256SUMS

## The musl standard library from rustup; Debian's musl-tools for the musl C compiler
## (x86_64-linux-musl-gcc) that ring's build script needs for its C and assembly.
dist-deps:
	@rustup target list --installed | grep -qx $(DIST_TARGET) || rustup target add $(DIST_TARGET)
	@command -v x86_64-linux-musl-gcc >/dev/null 2>&1 || { \
	  echo "installing musl-tools from Debian's packages (the musl C compiler, for ring)"; \
	  apt-get update -qq && $(APT_INSTALL) musl-tools; \
	}

## dist/ as users get it: checksums, `file` says static and stripped, `conformance` run
## from an empty directory with an empty environment against the static `http-server`
## in both modes (.ci/dist-check); then the CI recipes of docs/ci.md, their shell steps
## run as written against the reference server (.ci/ci-recipes.py, PyYAML in a
## virtualenv under target/). `file` and `curl` come from Debian's packages when missing.
CI_VENV = target/ci-venv
dist-test: dist $(CI_VENV)/installed
	@missing=""; \
	for tool in file curl; do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing from Debian's packages"; \
	  apt-get update -qq && $(APT_INSTALL) $$missing; \
	fi
	.ci/dist-check
	$(CI_VENV)/bin/python .ci/ci-recipes.py

$(CI_VENV)/installed: .ci/requirements.txt
	rm -rf $(CI_VENV)
	python3 -m venv $(CI_VENV)
	$(CI_VENV)/bin/python -m pip install -q --require-virtualenv -r .ci/requirements.txt
	touch $@
