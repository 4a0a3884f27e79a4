#!/usr/bin/env python3
"""`make matrix`: the whole case catalogue against real HTTP servers on
loopback ports, in two tiers:

- file servers (both variants of the reference server, nginx, Apache, …),
  each serving fixtures/root with a config kept in this repository, run with
  `--fixture-root --path /`;
- application servers (uvicorn, gunicorn, waitress, Hypercorn, aiohttp,
  Node's http module), each running a hello app from matrix/servers/ that
  answers only /hello, run with `--path /hello` and without
  `--fixture-root` (the cases that need the fixture files are graded skip).

For each server: install it from Debian's packages if its command is missing
(the Python application servers come from the virtualenv that `make matrix`
installs into target/matrix-venv from matrix/servers/requirements.txt),
start it on a free 127.0.0.1 port, wait until it accepts, record its exact
version, run `conformance run --matrix ... --snapshots snapshots/<name>`,
and stop it. Then write matrix/results.json, docs/matrix.md, docs/report.html
and the scores block of docs/field-study.md (one table per tier).

Then the chain tier (matrix/chain.py): `conformance chain` through each
reverse proxy of matrix/proxies.py (nginx, HAProxy, Apache, Caddy, Varnish,
Squid, h2o, nghttpx, tinyproxy, Traffic Server, mitmproxy, Node's
http-proxy), each started from its committed config in matrix/proxies/ in
front of the origin embedded in `conformance`; it writes
matrix/chain-results.json, docs/chain-matrix.md, the chain section of
docs/report.html and the chain scores block of docs/field-study.md.

Every server and proxy started is stopped again by its process id, also
when a step fails or on SIGINT / SIGTERM. The exit status is non-zero only
when the harness itself broke: a server or proxy failing cases is data; one
that cannot be installed or started is reported and skipped, unless a full
run ends with fewer than MIN_REAL_SERVERS real servers or chain.MIN_PROXIES
proxies.

Usage: matrix/run.py [--only WORD ...] [--no-install]
  WORD: a server or proxy name (both, for nginx, apache, h2o and caddy, which
  are in both tiers), `server:NAME` or `proxy:NAME` for one of them, `servers`
  or `proxies` for a whole tier. A partial run updates the committed results
  in place and renders every page again.
  (from `make matrix`, which first builds target/release/{http-server,conformance},
  installs the Python application servers into target/matrix-venv and the
  proxies it misses (make proxies-deps))
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import chain
import proxies

REPO = Path(__file__).resolve().parent.parent
ROOT = REPO / "fixtures" / "root"
CONFIGS = REPO / "matrix" / "servers"
BENCH = REPO / "bench"
SERVER_BIN = REPO / "target" / "release" / "http-server"
CONFORMANCE_BIN = REPO / "target" / "release" / "conformance"
RESULTS = REPO / "matrix" / "results.json"
MARKDOWN = REPO / "docs" / "matrix.md"
REPORT = REPO / "docs" / "report.html"
FIELD_STUDY = REPO / "docs" / "field-study.md"
# The self-signed certificate and key `make matrix` makes for nginx over TLS.
TLS_DIR = REPO / "target" / "matrix-tls"
# The virtualenv `make matrix` installs matrix/servers/requirements.txt into.
VENV_BIN = REPO / "target" / "matrix-venv" / "bin"
VENV_PYTHON = VENV_BIN / "python"
# The one resource the application servers' hello apps answer with 200.
APP_PATH = "/hello"
SCORES_BEGIN = "<!-- matrix-scores:begin (make matrix writes this block) -->"
SCORES_END = "<!-- matrix-scores:end -->"

# Fewer real servers than this is a broken harness, not a result.
MIN_REAL_SERVERS = 5
# How long a server gets to accept its first connection.
START_SECONDS = 15
# How long a server gets to exit after SIGTERM before SIGKILL.
STOP_SECONDS = 5
# Header fields whose values move with the server's version or build, so a
# snapshot diff shows answers that changed, not a version bump.
REDACT = ["Server"]
# Header fields that list a set in an order that changes from run to run
# (Apache's Allow): their members are sorted in snapshots.
UNORDERED = ["Allow"]
APT_INSTALL = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"]


class HarnessError(Exception):
    """The harness itself broke: exit non-zero."""


class Server:
    """A file server the matrix runs: how to install, start and name it. It
    serves ROOT, so its run gets `--fixture-root` and the control is `/`."""

    path = "/"
    fixture_root = True
    # Served over TLS: the target is https://, and the run trusts TLS_DIR's certificate.
    tls = False
    # Shown when the command is missing.
    install_hint = None

    def __init__(self, name, command, package=None, version=None, reference=False):
        self.name = name
        self.command = command  # the executable that must exist
        self.package = package  # Debian package that provides it, if any
        self.version = version  # argv whose output names the version, and a regex
        self.reference = reference

    def argv(self, port, run):
        """The command line (and extra environment) that serves ROOT on port."""
        raise NotImplementedError


def render(template, port, run, directory=CONFIGS):
    """Fills a config template's @PORT@/@ROOT@/@RUN@/@TLS@ into run/."""
    text = (directory / template).read_text()
    out = run / template
    for name, value in (("@PORT@", port), ("@ROOT@", ROOT), ("@RUN@", run), ("@TLS@", TLS_DIR)):
        text = text.replace(name, str(value))
    out.write_text(text)
    return out


class Nginx(Server):
    def argv(self, port, run):
        return ["nginx", "-c", str(render("nginx.conf", port, run, BENCH)), "-p", str(run)], {}


class NginxTls(Server):
    """nginx with the same server block on TLS 1.2 and 1.3, with the
    self-signed certificate under TLS_DIR (made by `make matrix`)."""

    tls = True

    def argv(self, port, run):
        if not (TLS_DIR / "cert.pem").is_file():
            raise StartError(f"no certificate in {TLS_DIR.relative_to(REPO)} (`make matrix` makes one)")
        return ["nginx", "-c", str(render("nginx-tls.conf", port, run)), "-p", str(run)], {}


class Apache(Server):
    def argv(self, port, run):
        return ["apache2", "-f", str(render("apache2.conf", port, run)), "-DFOREGROUND"], {}


class Lighttpd(Server):
    def argv(self, port, run):
        return ["lighttpd", "-D", "-f", str(render("lighttpd.conf", port, run, BENCH))], {}


class H2o(Server):
    def argv(self, port, run):
        return ["h2o", "-c", str(render("h2o.conf", port, run))], {}


class Caddy(Server):
    def argv(self, port, run):
        conf = render("Caddyfile", port, run)
        env = {"XDG_DATA_HOME": str(run), "XDG_CONFIG_HOME": str(run), "HOME": str(run)}
        return ["caddy", "run", "--config", str(conf), "--adapter", "caddyfile"], env


class MiniHttpd(Server):
    def argv(self, port, run):
        return ["mini_httpd", "-D", "-h", "127.0.0.1", "-p", str(port), "-d", str(ROOT),
                "-l", str(run / "mini_httpd.log")], {}


class Webfs(Server):
    def argv(self, port, run):
        return ["webfsd", "-F", "-4", "-i", "127.0.0.1", "-p", str(port), "-r", str(ROOT),
                "-f", "index.html"], {}


class Busybox(Server):
    def argv(self, port, run):
        return ["busybox", "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", str(ROOT)], {}


class PythonHttpServer(Server):
    def argv(self, port, run):
        return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                "--directory", str(ROOT)], {}


class Reference(Server):
    """The reference server: binds :0 itself and prints the port."""

    def __init__(self, mode):
        super().__init__(mode, str(SERVER_BIN), reference=True,
                         version=([str(SERVER_BIN), "--version"], r"(http-server \S+)"))
        self.mode = mode

    def argv(self, port, run):
        # Like `make conformance`, a short read timeout: the cases that wait
        # for a 408 get it within their own timeout.
        return [str(SERVER_BIN), "--mode", self.mode, "--bind", "127.0.0.1:0", "--root", str(ROOT),
                "--read-timeout", "1", "--quiet"], {}


class AppServer(Server):
    """An application server running a hello app from CONFIGS that serves no
    files: 200 on APP_PATH, 404 elsewhere. `conformance run` gets
    `--path APP_PATH` and no `--fixture-root`."""

    path = APP_PATH
    fixture_root = False

    def __init__(self, name, command, argv, version, package=None):
        super().__init__(name, str(command), package, version)
        self.template = argv  # "{PORT}" is filled in
        if not package:
            self.install_hint = "`make matrix` installs it from matrix/servers/requirements.txt"

    def argv(self, port, run):
        # The Python servers import their app module from CONFIGS.
        return [part.replace("{PORT}", str(port)) for part in self.template], {"PYTHONPATH": str(CONFIGS)}


def venv_version(expression, setup=""):
    """A version probe run by the virtualenv's Python: it prints the f-string
    `expression`, with v(distribution) at hand (and `setup` run first)."""
    script = f"from importlib.metadata import version as v\n{setup}\nprint(f{expression!r})"
    return [str(VENV_PYTHON), "-c", script], r"(.+)"


APP_SERVERS = [
    # uvicorn picks httptools and websockets when they are installed: --http h11
    # and --ws wsproto (there for Hypercorn) pin what parses and what upgrades.
    AppServer("uvicorn", VENV_BIN / "uvicorn",
              [str(VENV_BIN / "uvicorn"), "--http", "h11", "--ws", "wsproto", "--host", "127.0.0.1",
               "--port", "{PORT}", "--no-access-log", "hello_asgi:app"],
              venv_version("uvicorn {v('uvicorn')} --http h11 --ws wsproto "
                           "(h11 {v('h11')}, wsproto {v('wsproto')})")),
    # The default worker class and count: one sync worker, one connection at a time.
    AppServer("gunicorn", VENV_BIN / "gunicorn",
              [str(VENV_BIN / "gunicorn"), "--bind", "127.0.0.1:{PORT}", "hello_wsgi:app"],
              venv_version("gunicorn {v('gunicorn')} (sync worker)")),
    AppServer("waitress", VENV_BIN / "waitress-serve",
              [str(VENV_BIN / "waitress-serve"), "--listen", "127.0.0.1:{PORT}", "hello_wsgi:app"],
              venv_version("waitress {v('waitress')}")),
    AppServer("hypercorn", VENV_BIN / "hypercorn",
              [str(VENV_BIN / "hypercorn"), "--bind", "127.0.0.1:{PORT}", "hello_asgi:app"],
              venv_version("Hypercorn {v('hypercorn')} (h11 {v('h11')})")),
    # aiohttp parses with its C extension (llhttp) when its wheel has one.
    AppServer("aiohttp", VENV_PYTHON,
              [str(VENV_PYTHON), str(CONFIGS / "hello_aiohttp.py"), "{PORT}"],
              venv_version("aiohttp {v('aiohttp')} ({'pure-Python' if pure else 'C'} parser)",
                           "from aiohttp import http_parser as p\n"
                           "pure = p.HttpRequestParser is p.HttpRequestParserPy")),
    AppServer("node", "node", ["node", str(CONFIGS / "hello_node.js"), "{PORT}"],
              (["node", "-p", "`Node.js ${process.version} http (llhttp ${process.versions.llhttp})`"],
               r"(.+)"),
              package="nodejs"),
]

SERVERS = [
    Reference("single"),
    Reference("threaded"),
    Nginx("nginx", "nginx", "nginx", (["nginx", "-v"], r"(nginx/\S+)")),
    NginxTls("nginx-tls", "nginx", "nginx", (["nginx", "-V"], r"(nginx/\S+)[\s\S]*built with (OpenSSL \S+)")),
    Apache("apache", "apache2", "apache2", (["apache2", "-v"], r"Server version: (\S+)")),
    Lighttpd("lighttpd", "lighttpd", "lighttpd", (["lighttpd", "-v"], r"(lighttpd/\S+)")),
    H2o("h2o", "h2o", "h2o", (["h2o", "--version"], r"h2o version (\S+)")),
    Caddy("caddy", "caddy", "caddy", (["caddy", "version"], r"(v?\d+\.\d+\.\d+\S*)")),
    MiniHttpd("mini_httpd", "mini_httpd", "mini-httpd", (["mini_httpd", "-V"], r"(mini_httpd/\S+)")),
    Webfs("webfs", "webfsd", "webfs", None),
    Busybox("busybox", "busybox", "busybox", (["busybox"], r"BusyBox (v\S+)")),
    PythonHttpServer("python", sys.executable, None, ([sys.executable, "--version"], r"(Python \S+)")),
    *APP_SERVERS,
]


def log(message):
    print(f"matrix: {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def install_missing(servers):
    """Installs the Debian packages of servers whose command is missing;
    a failed install is reported, and those servers are skipped later."""
    missing = sorted({s.package for s in servers if s.package and not shutil.which(s.command)})
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        log(f"not root or no apt-get: cannot install {' '.join(missing)}; those servers are skipped")
        return
    log(f"installing {' '.join(missing)} from Debian's packages")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    update = subprocess.run(["apt-get", "update", "-qq"], env=env)
    install = subprocess.run(APT_INSTALL + missing, env=env) if update.returncode == 0 else update
    if install.returncode != 0:
        log(f"apt-get failed ({install.returncode}); servers still missing are skipped")


def package_version(package):
    if not package or not shutil.which("dpkg-query"):
        return None
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def version_of(server):
    """The server's own version string, and its Debian package's version."""
    own = None
    if server.version:
        argv, pattern = server.version
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        match = re.search(pattern, out.stdout + out.stderr)
        own = match.group(1) if match else None
        if match and server.tls:
            own = f"{own} over TLS 1.2/1.3 ({match.group(2)})"
    if server.name == "caddy" and own:
        own = f"Caddy {own}"
    if server.name == "h2o" and own:
        own = f"h2o/{own}"
    if server.name == "busybox" and own:
        own = f"BusyBox httpd {own}"
    if server.name == "python" and own:
        own = f"{own} http.server"
    if server.reference:
        return f"{own or 'http-server'} (this repository, --mode {server.mode})"
    package = package_version(server.package)
    parts = [own or server.name]
    if package:
        parts.append(f"(Debian {server.package} {package})")
    return " ".join(parts)


class Running:
    """A started server: its process group is stopped on exit."""

    def __init__(self, server, run):
        self.server = server
        self.run = run
        self.proc = None
        self.port = None

    def start(self):
        port = None if self.server.reference else free_port()
        argv, env = self.server.argv(port, self.run)
        self.log = open(self.run / f"{self.server.name}.out", "w+b")
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE if self.server.reference else self.log,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ, **env),
            start_new_session=True,  # its own process group, stopped whole
        )
        if self.server.reference:
            line = self.proc.stdout.readline().decode(errors="replace")
            match = re.match(r"listening on http://[\d.]+:(\d+)", line)
            if not match:
                raise StartError(f"printed {line.strip()!r} instead of `listening on http://IP:PORT`")
            port = int(match.group(1))
        self.port = port
        self.wait_until_accepting()
        return self

    def wait_until_accepting(self):
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError(f"exited with {self.proc.returncode} before listening: {self.output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise StartError(f"did not accept on port {self.port} within {START_SECONDS} s")

    def output(self):
        self.log.flush()
        self.log.seek(0)
        text = self.log.read().decode(errors="replace").strip()
        return text.splitlines()[-1] if text else "(no output)"

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass
        finally:
            # Workers that left the group (none of these servers does) or
            # outlived the leader: the group is ours, end what is left.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


class StartError(Exception):
    """A server could not be started: it is skipped."""


def conformance(*args, check=True):
    # The catalogue compiled into the binary `make matrix` just built: one
    # catalogue for every server of a run, even while fixtures/cases is being
    # edited, and snapshots name each case file `fixtures/cases/<id>.toml`.
    out = subprocess.run([str(CONFORMANCE_BIN), *args], capture_output=True, text=True, cwd=REPO)
    if check and out.returncode != 0:
        raise HarnessError(f"conformance {' '.join(args)} exited {out.returncode}: {out.stderr.strip()}")
    return out


def run_server(server, run, matrix_file):
    """Runs the catalogue against one server. Returns a one-line result, or
    raises StartError (skip) or HarnessError (stop)."""
    running = Running(server, run)
    try:
        running.start()
        version = version_of(server)
        # No --jobs: the control finds a server that serves one connection
        # at a time, and the run then goes one case at a time.
        target = f"127.0.0.1:{running.port}"
        if server.tls:
            target = f"https://{target}"
        args = ["run", "--target", target, "--name", server.name,
                "--path", server.path, "--output", str(run / f"{server.name}.txt"),
                "--matrix", str(matrix_file), "--server-version", version]
        if server.fixture_root:
            args.append("--fixture-root")
        if server.tls:
            args += ["--ca", str(TLS_DIR / "cert.pem")]
        if not server.reference:
            # The reference variants' snapshots are `make conformance`'s.
            args += ["--snapshots", str(REPO / "snapshots" / server.name)]
            for field in REDACT:
                args += ["--redact", field]
            for field in UNORDERED:
                args += ["--unordered", field]
        started = time.monotonic()
        out = conformance(*args, check=False)
        if out.returncode == 3:
            raise StartError(f"unreachable once started: {out.stderr.strip()}")
        if out.returncode not in (0, 1, 4):
            raise HarnessError(f"conformance run against {server.name} exited {out.returncode}: "
                               f"{out.stderr.strip()}")
        # The control's line, and whether the run went one case at a time.
        notes = [line for line in out.stderr.splitlines()
                 if line.startswith(("control:", "the target served no second", "conformance: no case"))]
        result = f"{version}: {out.stdout.strip()} in {time.monotonic() - started:.1f} s"
        return "\n  ".join([result, *notes])
    finally:
        running.stop()


def tiered(scores):
    """The scores table split in two: the file servers, then the application
    servers under a line that says what they serve."""
    lines = scores.splitlines()
    head, rows = lines[:2], lines[2:]
    apps = {s.name for s in APP_SERVERS}

    def name(row):
        return row.split("|")[1].strip()

    files = [row for row in rows if name(row) not in apps]
    app_rows = [row for row in rows if name(row) in apps]
    if not app_rows:
        return scores
    return "\n".join([
        *head, *files, "",
        f"Application servers (a hello app on `{APP_PATH}`, no `--fixture-root`):",
        "", *head, *app_rows, "",
    ])


def update_scores():
    scores = tiered(conformance("report", "--input", str(RESULTS), "--format", "scores").stdout)
    text = FIELD_STUDY.read_text()
    begin, end = text.find(SCORES_BEGIN), text.find(SCORES_END)
    if begin < 0 or end < begin:
        log(f"{FIELD_STUDY.relative_to(REPO)} has no {SCORES_BEGIN} … {SCORES_END} block; not updated")
        return
    text = text[: begin + len(SCORES_BEGIN)] + "\n" + scores + text[end:]
    FIELD_STUDY.write_text(text)


def selection(words):
    """The servers and the proxy names `--only` selects, each tier in its
    own order; a word that names nothing is a harness error."""
    if not words:
        return list(SERVERS), list(proxies.PROXIES)
    names = {s.name for s in SERVERS}
    chosen = set()
    for word in words:
        tier, _, name = word.partition(":")
        if word == "servers":
            chosen.update(names)
        elif tier == "server" and name in names:
            chosen.add(name)
        elif word in names:
            chosen.add(word)
        elif not proxies.matrix_selection([word]):
            raise HarnessError(
                f"--only {word}: not a server ({', '.join(s.name for s in SERVERS)}), a proxy "
                f"({', '.join(proxies.PROXIES)}), server:NAME, proxy:NAME, servers or proxies")
    return [s for s in SERVERS if s.name in chosen], proxies.matrix_selection(words)


def run_servers(servers, run, matrix_file, full):
    """The servers' tier; returns (ran, skipped)."""
    ran, skipped = [], []
    for server in servers:
        if not shutil.which(server.command):
            hint = f" ({server.install_hint})" if server.install_hint else ""
            skipped.append(f"{server.name}: {server.command} is not installed{hint}")
            log(skipped[-1])
            continue
        try:
            result = run_server(server, run, matrix_file)
        except StartError as e:
            skipped.append(f"{server.name}: {e}")
            log(f"skipped {skipped[-1]}")
            continue
        ran.append(server)
        log(f"{server.name:<10} {result}")
    real = [s for s in ran if not s.reference]
    if full and len(real) < MIN_REAL_SERVERS:
        raise HarnessError(f"only {len(real)} real servers ran (at least {MIN_REAL_SERVERS} needed)")
    return ran, skipped


def on_signal(number, _frame):
    raise KeyboardInterrupt(f"signal {number}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", metavar="WORD",
                        help="run only these servers or proxies, updating the committed results in place")
    parser.add_argument("--no-install", action="store_true", help="do not install missing servers")
    options = parser.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    full = not options.only
    servers, proxy_names = selection(options.only)
    for binary in (SERVER_BIN, CONFORMANCE_BIN):
        if not binary.is_file():
            raise HarnessError(f"{binary} is missing: `make matrix` builds it")
    if not options.no_install:
        install_missing(servers)
    log(conformance("--version").stdout.strip())

    run = Path(tempfile.mkdtemp(prefix="network-tools-matrix-"))
    # Servers and proxies that drop root (Apache's workers, h2o, mini_httpd,
    # Squid, tinyproxy) read their config and write logs here.
    run.chmod(0o755)
    matrix_file = run / "results.json"
    if options.only and RESULTS.is_file():
        shutil.copy(RESULTS, matrix_file)  # a partial run updates the matrix in place
    started = time.monotonic()
    written = []
    try:
        ran, skipped = run_servers(servers, run, matrix_file, full)
        servers_took = time.monotonic() - started
        chain_started = time.monotonic()
        try:
            proxies_ran, proxies_skipped, chain_file = chain.run_tier(
                proxy_names, run, full, CONFORMANCE_BIN, log)
        except chain.ChainHarnessError as e:
            raise HarnessError(str(e)) from e
        proxies_took = time.monotonic() - chain_started
        skipped += proxies_skipped
        if not ran and not proxies_ran:
            raise HarnessError("no server and no proxy ran")
        if ran:
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(matrix_file, RESULTS)
            MARKDOWN.parent.mkdir(parents=True, exist_ok=True)
            conformance("report", "--input", str(RESULTS), "--format", "markdown", "--output", str(MARKDOWN))
            update_scores()
            written += [RESULTS, MARKDOWN, "snapshots/<server>/", FIELD_STUDY]
        if proxies_ran:
            shutil.copy(chain_file, chain.CHAIN_RESULTS)
            conformance("report", "--input", str(chain.CHAIN_RESULTS), "--format", "markdown",
                        "--output", str(chain.CHAIN_MARKDOWN))
            scores = conformance("report", "--input", str(chain.CHAIN_RESULTS), "--format", "scores").stdout
            chain.update_scores(FIELD_STUDY, scores, log)
            written += [chain.CHAIN_RESULTS, chain.CHAIN_MARKDOWN, FIELD_STUDY]
        # One page for both tiers: the servers' matrix, then the chain matrix.
        report = ["report", "--input", str(RESULTS), "--format", "html", "--output", str(REPORT)]
        if chain.CHAIN_RESULTS.is_file():
            report += ["--chain", str(chain.CHAIN_RESULTS)]
        conformance(*report)
        written.append(REPORT)
    finally:
        shutil.rmtree(run, ignore_errors=True)
    names = []
    for path in written:
        name = str(path.relative_to(REPO)) if isinstance(path, Path) else path
        if name not in names:
            names.append(name)
    log(f"{len(ran)} servers in {servers_took:.0f} s, {len(proxies_ran)} proxies in {proxies_took:.0f} s; "
        f"wrote {', '.join(names)}")
    for line in skipped:
        log(f"skipped {line}")


if __name__ == "__main__":
    try:
        main()
    except HarnessError as e:
        sys.exit(f"matrix: harness error: {e}")
    except KeyboardInterrupt as e:
        sys.exit(f"matrix: interrupted ({str(e) or 'SIGINT'}); every server started was stopped")
