"""The chain tier of `make matrix` (matrix/run.py): `conformance chain`
through each reverse proxy of matrix/proxies.py, in front of the origin
embedded in `conformance`.

For each proxy: start

    conformance chain --origin-listen 127.0.0.1:0 --front 127.0.0.1:PROXY --wait 30
                      --name NAME --server-version VERSION [--role cache]
                      --matrix CHAIN_FILE --format json --output RUN/NAME-chain.json

read the origin's address from the first line it prints (`origin listening on
127.0.0.1:PORT: …`), start the proxy from its committed config in
matrix/proxies/ on PROXY (a free loopback port) in front of that origin, let
`conformance chain` (waiting for the proxy to accept, --wait) run the chain
catalogue through it, and stop the proxy by its process id (proxies.py: Squid
gets its second SIGTERM). The origin listens before the proxy starts: Squid,
started before its parent listened, answered every request with its own 502.

What each outcome means:
- exit 0, 1, 4 or 7: the proxy ran; its results are in the chain matrix;
- exit 3 (the proxy did not forward the control request to the origin, or
  could not be reached): the proxy is reported and skipped, as is one that is
  not installed or does not start (proxies.StartError);
- any other exit, or no JSON report: a harness error.
"""

import json
import re
import subprocess
import time
from pathlib import Path

import proxies

REPO = Path(__file__).resolve().parent.parent
CHAIN_RESULTS = REPO / "matrix" / "chain-results.json"
CHAIN_MARKDOWN = REPO / "docs" / "chain-matrix.md"
CHAIN_SCORES_BEGIN = "<!-- chain-scores:begin (make matrix writes this block) -->"
CHAIN_SCORES_END = "<!-- chain-scores:end -->"

# Fewer proxies than this in a full run is a broken harness, not a result.
MIN_PROXIES = 8
# The roles each proxy is taken for besides a gateway (`conformance chain
# --role`): the ones that keep a cache as configured (each stores nothing
# here: the origin's answers say no-store).
EXTRA_ROLES = {"varnish": ["cache"], "squid": ["cache"], "trafficserver": ["cache"]}
# Every step of `conformance chain` is bounded; a run that takes longer than
# this is a harness that hangs.
RUN_SECONDS = 600
# How long `conformance chain` waits for the proxy to accept (--wait): the
# proxies' own start-up bound (proxies.START_SECONDS) and some.
WAIT_SECONDS = proxies.START_SECONDS + 15


class ChainHarnessError(Exception):
    """The chain tier itself broke: `make matrix` exits non-zero."""


class Skip(Exception):
    """The proxy could not be run: reported and skipped."""


def roles(name):
    return ["gateway", *EXTRA_ROLES.get(name, [])]


def run_proxy(name, workdir, chain_file, conformance_bin):
    """Runs the chain catalogue through proxy `name`, recording it in
    chain_file. Returns a one-line result; raises Skip or ChainHarnessError."""
    spec = proxies.PROXIES[name]
    if not spec.installed():
        raise Skip(f"not installed ({spec.install_hint()})")
    port = proxies.free_port()
    run = workdir / name
    report = run / f"{name}-chain.json"
    run.mkdir(parents=True, exist_ok=True)
    argv = [str(conformance_bin), "chain", "--origin-listen", "127.0.0.1:0",
            "--front", f"127.0.0.1:{port}", "--wait", str(WAIT_SECONDS), "--name", name,
            "--server-version", spec.version_string(), "--matrix", str(chain_file),
            "--format", "json", "--output", str(report)]
    for role in roles(name):
        argv += ["--role", role]
    started = time.monotonic()
    chain = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             text=True, cwd=REPO)
    proxy = None
    try:
        first = chain.stderr.readline()
        match = re.match(r"origin listening on 127\.0\.0\.1:(\d+):", first)
        if not match:
            _, rest = chain.communicate(timeout=RUN_SECONDS)
            raise ChainHarnessError(f"conformance chain for {name} exited {chain.returncode} before its "
                                    f"origin listened: {(first + rest).strip()}")
        try:
            proxy = proxies.start(name, port, int(match.group(1)), run)
        except proxies.StartError as e:
            raise Skip(str(e)) from e
        except Exception as e:  # a config it cannot render, a user it cannot run as: skipped too
            raise Skip(f"could not be started: {type(e).__name__}: {e}") from e
        try:
            _, rest = chain.communicate(timeout=RUN_SECONDS)
        except subprocess.TimeoutExpired as e:
            raise ChainHarnessError(f"conformance chain through {name} took over {RUN_SECONDS} s") from e
    finally:
        if proxy:
            proxy.stop()
        if chain.poll() is None:
            chain.kill()  # our own child, by its process id
        chain.wait()
    took = time.monotonic() - started
    stderr = (first + rest).strip().replace("\n", " | ")
    if chain.returncode == 3:
        raise Skip(f"did not relay the control request: {stderr}")
    if chain.returncode not in (0, 1, 4, 7):
        raise ChainHarnessError(f"conformance chain through {name} exited {chain.returncode}: {stderr}")
    try:
        summary = json.loads(report.read_text())["summary"]
    except (OSError, ValueError, KeyError) as e:
        raise ChainHarnessError(f"conformance chain through {name} wrote no JSON report: {e}") from e
    return (f"{proxy.version}: {summary['line']}; by hop: {summary['by_hop']} "
            f"in {took:.1f} s (stopped by {proxy.stopped_by})")


def run_tier(names, workdir, full, conformance_bin, log):
    """Runs each proxy of `names` into workdir's chain matrix (a copy of
    CHAIN_RESULTS for a partial run). Returns (ran, skipped, chain_file)."""
    chain_file = workdir / "chain-results.json"
    if not full and CHAIN_RESULTS.is_file():
        chain_file.write_bytes(CHAIN_RESULTS.read_bytes())  # updated in place
    ran, skipped = [], []
    for name in names:
        try:
            result = run_proxy(name, workdir, chain_file, conformance_bin)
        except Skip as e:
            skipped.append(f"proxy {name}: {e}")
            log(f"skipped {skipped[-1]}")
            continue
        ran.append(name)
        log(f"proxy {name:<13} {result}")
    if full and len(ran) < MIN_PROXIES:
        raise ChainHarnessError(f"only {len(ran)} proxies ran (at least {MIN_PROXIES} needed)")
    if ran:
        in_order(chain_file)
    return ran, skipped, chain_file


def in_order(chain_file):
    """Puts the chain matrix's fronts in PROXIES order (others after, as
    they were), so that a partial run that adds a proxy writes the file a
    full run would. The JSON is written as `conformance` writes it."""
    text = chain_file.read_text()
    matrix = json.loads(text)
    order = list(proxies.PROXIES)
    matrix["fronts"].sort(key=lambda f: order.index(f["name"]) if f["name"] in order else len(order))
    chain_file.write_text(json.dumps(matrix, indent=2, ensure_ascii=False) + "\n")


def update_scores(field_study, scores, log):
    """Rewrites the chain scores block of docs/field-study.md."""
    text = field_study.read_text()
    begin, end = text.find(CHAIN_SCORES_BEGIN), text.find(CHAIN_SCORES_END)
    if begin < 0 or end < begin:
        log(f"{field_study.name} has no {CHAIN_SCORES_BEGIN} … {CHAIN_SCORES_END} block; not updated")
        return
    field_study.write_text(text[: begin + len(CHAIN_SCORES_BEGIN)] + "\n" + scores + text[end:])
