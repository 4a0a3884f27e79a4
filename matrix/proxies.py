#!/usr/bin/env python3
"""Real reverse proxies for the chain matrix: each from a config template in
matrix/proxies/, listening on a 127.0.0.1 port and forwarding everything to an
origin on another 127.0.0.1 port.

As a module: PROXIES (name -> Spec: how to install, start and version it) and
start(name, port, origin_port, workdir) -> Proxy (.pid, .version, .stop()).

As a command:
  matrix/proxies.py install [--only NAME ... | --for-matrix "WORD ..."]
      installs what is missing: Debian's packages (apt-get), mitmproxy into
      target/proxies-venv from the pinned matrix/proxies/requirements.txt,
      http-proxy into matrix/proxies/node/node_modules with `npm ci` (Debian's
      npm first, when missing) (what `make proxies-deps` runs). --for-matrix
      takes `make matrix`'s MATRIX_ONLY and installs the proxies it selects
      (see matrix_selection), none when it names only servers.
  matrix/proxies.py check [--only NAME ...]
      for each proxy: a small recording origin on a free loopback port, the
      proxy in front of it, one GET through it; one line per proxy, then
      everything is stopped by process id. Exits 0 when every proxy checked
      relayed the origin's 200, 1 when one did not (or is not installed), 2 on
      bad usage.

Everything listens on 127.0.0.1 only. Each proxy runs in its own process group
in the foreground, its config, pid file and logs in a temporary directory; it
is stopped with SIGTERM (Squid: twice; its first SIGTERM waits for clients),
then SIGKILL after STOP_SECONDS.
"""

import argparse
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "matrix" / "proxies"
REQUIREMENTS = TEMPLATES / "requirements.txt"
VENV = REPO / "target" / "proxies-venv"
VENV_STAMP = VENV / "installed"
NODE_DIR = TEMPLATES / "node"
NODE_LOCK = NODE_DIR / "package-lock.json"
# npm ci writes its own copy of the lockfile here: newer than NODE_LOCK = installed.
NODE_STAMP = NODE_DIR / "node_modules" / ".package-lock.json"
APT_INSTALL = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"]

# How long a proxy gets to accept its first connection.
START_SECONDS = 15
# How long a proxy gets to exit after its last stop signal, before SIGKILL.
STOP_SECONDS = 5
# How long a proxy that needs more than one stop signal gets between them.
SIGNAL_GAP_SECONDS = 0.5
# Bounds on what check reads from a proxy or records at its origin.
READ_LIMIT = 1 << 16
IO_SECONDS = 10


class StartError(Exception):
    """A proxy could not be started."""


def render(template, values, out):
    """Copies a template with its @NAME@ placeholders filled in."""
    text = (TEMPLATES / template).read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", str(value))
    out.write_text(text)
    return out


class Spec:
    """How to install, start and version one proxy.

    command: the executable that must exist; package: the Debian package that
    provides it (None for the PyPI and npm ones); version: argv and a regex
    whose first group names the version; user: the account it drops root for
    (its run directory is handed to it); stop_signals: sent in turn to its
    process group before SIGKILL.
    """

    source = "Debian"
    user = None
    stop_signals = (signal.SIGTERM,)

    def __init__(self, name, command, package=None, version=None, prefix=""):
        self.name = name
        self.command = command
        self.package = package
        self.version = version
        self.prefix = prefix  # put before the version the command prints

    def installed(self):
        return shutil.which(str(self.command)) is not None

    def install_hint(self):
        return f"`make proxies-deps` installs Debian's {self.package}"

    def argv(self, port, origin, run):
        """The command line and extra environment that start the proxy on
        127.0.0.1:port in front of 127.0.0.1:origin, with its files in run."""
        raise NotImplementedError

    def version_string(self):
        own = None
        if self.version:
            argv, pattern = self.version
            try:
                out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
                match = re.search(pattern, out.stdout + out.stderr)
                own = self.prefix + match.group(1).strip() if match else None
            except (OSError, subprocess.TimeoutExpired):
                own = None
        parts = [own or self.name]
        package = package_version(self.package)
        if package:
            parts.append(f"(Debian {self.package} {package})")
        return " ".join(parts)


def package_version(package):
    if not package or not shutil.which("dpkg-query"):
        return None
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def values(port, origin, run):
    return {"PORT": port, "ORIGIN": origin, "RUN": run}


class Nginx(Spec):
    def argv(self, port, origin, run):
        conf = render("nginx.conf", values(port, origin, run), run / "nginx.conf")
        return ["nginx", "-c", str(conf), "-p", str(run)], {}


class Haproxy(Spec):
    def argv(self, port, origin, run):
        conf = render("haproxy.cfg", values(port, origin, run), run / "haproxy.cfg")
        return ["haproxy", "-db", "-f", str(conf)], {}


class Apache(Spec):
    def argv(self, port, origin, run):
        conf = render("apache2.conf", values(port, origin, run), run / "apache2.conf")
        return ["apache2", "-f", str(conf), "-DFOREGROUND"], {}


class Caddy(Spec):
    def argv(self, port, origin, run):
        conf = render("Caddyfile", values(port, origin, run), run / "Caddyfile")
        env = {"XDG_DATA_HOME": str(run), "XDG_CONFIG_HOME": str(run), "HOME": str(run)}
        return ["caddy", "run", "--config", str(conf), "--adapter", "caddyfile"], env


class Varnish(Spec):
    def argv(self, port, origin, run):
        vcl = render("varnish.vcl", values(port, origin, run), run / "varnish.vcl")
        # -n: its working directory in run: the compiled VCL, and the shared
        # memory log that is its access log (`varnishncsa -n run/varnishd -d`
        # prints it while varnishd runs).
        return ["varnishd", "-F", "-a", f"127.0.0.1:{port}", "-f", str(vcl), "-n", str(run / "varnishd")], {}


class Squid(Spec):
    user = "proxy"
    # The first SIGTERM waits up to shutdown_lifetime (30 s) for clients; a
    # second one ends it at once.
    stop_signals = (signal.SIGTERM, signal.SIGTERM)

    def argv(self, port, origin, run):
        conf = render("squid.conf", values(port, origin, run), run / "squid.conf")
        # -N: foreground, no worker processes; -d 1: start-up errors on stderr too.
        return ["squid", "-N", "-d", "1", "-f", str(conf)], {}


class H2o(Spec):
    user = "nobody"

    def argv(self, port, origin, run):
        conf = render("h2o.conf", values(port, origin, run), run / "h2o.conf")
        return ["h2o", "-c", str(conf)], {}


class Nghttpx(Spec):
    def argv(self, port, origin, run):
        conf = render("nghttpx.conf", values(port, origin, run), run / "nghttpx.conf")
        return ["nghttpx", f"--conf={conf}"], {}


class Tinyproxy(Spec):
    user = "nobody"

    def argv(self, port, origin, run):
        conf = render("tinyproxy.conf", values(port, origin, run), run / "tinyproxy.conf")
        return ["tinyproxy", "-d", "-c", str(conf)], {}


class TrafficServer(Spec):
    """Apache Traffic Server: the packaged config files of /etc/trafficserver
    copied into run/etc, with records.config, remap.config, storage.config and
    logging.yaml from matrix/proxies/trafficserver/, and a runroot that keeps
    its logs, cache and runtime files in run. It writes its access log about
    10 s after a request."""

    user = "nobody"

    def argv(self, port, origin, run):
        etc = run / "etc"
        shutil.copytree("/etc/trafficserver", etc, dirs_exist_ok=True)
        for sub in ("log", "cache", "run"):
            (run / sub).mkdir(exist_ok=True)
        for name in ("records.config", "remap.config", "storage.config", "logging.yaml", "runroot.yaml"):
            render(f"trafficserver/{name}", values(port, origin, run), (run if name == "runroot.yaml" else etc) / name)
        return ["traffic_server", f"--run-root={run / 'runroot.yaml'}"], {}


class Mitmproxy(Spec):
    source = "PyPI"

    def installed(self):
        return VENV_STAMP.is_file() and Path(self.command).is_file()

    def install_hint(self):
        return f"`make proxies-deps` installs it into {VENV.relative_to(REPO)}"

    def argv(self, port, origin, run):
        confdir = run / "mitmproxy"
        confdir.mkdir(exist_ok=True)
        render("mitmproxy.yaml", values(port, origin, run), confdir / "config.yaml")
        return [str(self.command), "--set", f"confdir={confdir}"], {}

    def version_string(self):
        out = subprocess.run([str(self.command), "--version"], capture_output=True, text=True, timeout=30)
        own = re.search(r"Mitmproxy: (\S+)", out.stdout)
        python = re.search(r"Python:\s+(\S+)", out.stdout)
        return (f"mitmproxy {own.group(1) if own else '?'} "
                f"(PyPI, Python {python.group(1) if python else '?'})")


class NodeHttpProxy(Spec):
    source = "npm"

    def installed(self):
        return shutil.which("node") is not None and NODE_STAMP.is_file()

    def install_hint(self):
        return "`make proxies-deps` installs it with npm ci into matrix/proxies/node/node_modules"

    def argv(self, port, origin, run):
        return ["node", str(TEMPLATES / "http-proxy.js"), str(port), str(origin)], {}

    def version_string(self):
        meta = json.loads((NODE_DIR / "node_modules" / "http-proxy" / "package.json").read_text())
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30)
        return f"http-proxy {meta['version']} (npm) on Node.js {node.stdout.strip()}"


PROXIES = {spec.name: spec for spec in [
    Nginx("nginx", "nginx", "nginx", (["nginx", "-v"], r"(nginx/\S+)")),
    Haproxy("haproxy", "haproxy", "haproxy", (["haproxy", "-v"], r"(HAProxy version \S+)")),
    Apache("apache", "apache2", "apache2", (["apache2", "-v"], r"Server version: (\S+)")),
    Caddy("caddy", "caddy", "caddy", (["caddy", "version"], r"(v?\d+\.\d+\.\d+\S*)"), "Caddy "),
    Varnish("varnish", "varnishd", "varnish", (["varnishd", "-V"], r"\((varnish-\S+)")),
    Squid("squid", "squid", "squid", (["squid", "-v"], r"(Squid Cache: Version \S+)")),
    H2o("h2o", "h2o", "h2o", (["h2o", "--version"], r"(h2o version \S+)")),
    Nghttpx("nghttpx", "nghttpx", "nghttp2-proxy", (["nghttpx", "--version"], r"(nghttpx nghttp2/\S+)")),
    Tinyproxy("tinyproxy", "tinyproxy", "tinyproxy", (["tinyproxy", "-v"], r"(tinyproxy \S+)")),
    TrafficServer("trafficserver", "traffic_server", "trafficserver",
                  (["traffic_server", "--version"], r"(Traffic Server \S+)")),
    Mitmproxy("mitmproxy", VENV / "bin" / "mitmdump"),
    NodeHttpProxy("http-proxy", "node"),
]}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proxy:
    """A started proxy: its own process group, stopped by stop()."""

    def __init__(self, spec, port, origin_port, run):
        self.spec = spec
        self.name = spec.name
        self.port = port
        self.origin_port = origin_port
        self.run = run
        self.proc = None
        self.pid = None
        self.version = None
        self.started_in = None  # seconds from exec to accepting
        self.stopped_by = None  # the signals it took to stop, e.g. "SIGTERM"
        self.stopped_in = None

    def _start(self):
        self.version = self.spec.version_string()
        try:
            self.run.mkdir(parents=True, exist_ok=True)
            argv, env = self.spec.argv(self.port, self.origin_port, self.run)
            if self.spec.user and os.geteuid() == 0:
                hand_over(self.run, self.spec.user)
            self.log = open(self.run / f"{self.name}.out", "w+b")
            began = time.monotonic()
            self.proc = subprocess.Popen(
                argv, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
                env=dict(os.environ, **env), cwd=self.run,
                start_new_session=True,  # its own process group, stopped whole
            )
        except OSError as e:
            raise StartError(f"could not be started: {e}") from e
        self.pid = self.proc.pid
        deadline = began + START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError(f"exited with {self.proc.returncode} before listening: {self.output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                self.started_in = time.monotonic() - began
                return self
            except OSError:
                time.sleep(0.02)
        raise StartError(f"did not accept on 127.0.0.1:{self.port} within {START_SECONDS} s: {self.output()}")

    def output(self):
        """The last line the proxy printed (its start-up error, mostly)."""
        self.log.flush()
        self.log.seek(0)
        lines = [line for line in self.log.read().decode(errors="replace").splitlines() if line.strip()]
        return escape(lines[-1].strip().encode()) if lines else "(no output)"

    def stop(self):
        """SIGTERM to the process group (as many as the proxy needs), then
        SIGKILL after STOP_SECONDS; whatever is left of the group is killed."""
        if self.proc is None or self.stopped_by is not None:
            return
        began = time.monotonic()
        sent = []
        try:
            for i, number in enumerate(self.spec.stop_signals):
                if self.proc.poll() is not None:
                    break
                os.killpg(self.pid, number)
                sent.append(signal.Signals(number).name)
                last = i == len(self.spec.stop_signals) - 1
                try:
                    self.proc.wait(timeout=STOP_SECONDS if last else SIGNAL_GAP_SECONDS)
                except subprocess.TimeoutExpired:
                    continue
            if self.proc.poll() is None:
                os.killpg(self.pid, signal.SIGKILL)
                sent.append("SIGKILL")
                self.proc.wait()
        except ProcessLookupError:
            pass
        finally:
            # Children that outlived the leader: the group is ours.
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            self.log.close()
            self.stopped_by = "+".join(sent) or "already exited"
            self.stopped_in = time.monotonic() - began


def hand_over(run, user):
    """Gives run (and what is in it) to the account the proxy drops root for,
    so that it can write its logs there. The directories above run must be
    passable for that account (check makes its temporary directory 0755)."""
    entry = pwd.getpwnam(user)
    for parent, dirs, files in os.walk(run):
        os.chown(parent, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(parent, name), entry.pw_uid, entry.pw_gid)


def start(name, port, origin_port, workdir):
    """Starts proxy `name` on 127.0.0.1:port in front of the origin on
    127.0.0.1:origin_port, with its config, pid file and logs in workdir.
    Returns a Proxy once it accepts connections; raises StartError (with the
    proxy stopped again) when it does not."""
    spec = PROXIES[name]
    if not spec.installed():
        raise StartError(f"not installed ({spec.install_hint()})")
    proxy = Proxy(spec, port, origin_port, Path(workdir))
    try:
        return proxy._start()
    except BaseException:
        proxy.stop()
        raise


# -- install -----------------------------------------------------------------


def log(message):
    print(f"proxies: {message}", flush=True)


def install(specs):
    """Installs what the given proxies need and miss. Returns the names that
    are still missing."""
    debian = {s.package for s in specs if s.source == "Debian" and not s.installed()}
    node = [s for s in specs if s.source == "npm" and not fresh(NODE_STAMP, NODE_LOCK)]
    if node and not shutil.which("npm"):
        debian.add("npm")
    debian = sorted(debian)
    if debian:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            log(f"not root or no apt-get: cannot install {' '.join(debian)}")
        else:
            log(f"installing {' '.join(debian)} from Debian's packages")
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            done = subprocess.run(["apt-get", "update", "-qq"], env=env).returncode == 0
            if not done or subprocess.run(APT_INSTALL + debian, env=env).returncode != 0:
                log("apt-get failed")
    if any(s.source == "PyPI" for s in specs) and not fresh(VENV_STAMP, REQUIREMENTS):
        log(f"installing {REQUIREMENTS.relative_to(REPO)} into {VENV.relative_to(REPO)}")
        shutil.rmtree(VENV, ignore_errors=True)
        ok = subprocess.run([sys.executable, "-m", "venv", str(VENV)]).returncode == 0 and subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--require-virtualenv",
             "-r", str(REQUIREMENTS)]).returncode == 0
        if ok:
            VENV_STAMP.touch()
        else:
            log("pip failed")
    if any(s.source == "npm" for s in specs) and not fresh(NODE_STAMP, NODE_LOCK):
        if not shutil.which("npm"):
            log("no npm: cannot install http-proxy (Debian's npm provides it)")
        else:
            log(f"npm ci in {NODE_DIR.relative_to(REPO)}")
            ok = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                                cwd=NODE_DIR).returncode == 0
            if not ok:
                log("npm ci failed")
    return [s.name for s in specs if not s.installed()]


def matrix_selection(words):
    """The proxies a `make matrix` selection (MATRIX_ONLY, run.py --only)
    names, in PROXIES order: `proxies` is every proxy, `proxy:NAME` and NAME
    one; `servers`, `server:NAME` and words naming no proxy select none (run.py
    checks that each word names something)."""
    chosen = set()
    for word in words:
        if word == "proxies":
            chosen.update(PROXIES)
        elif word.startswith("proxy:") and word[len("proxy:"):] in PROXIES:
            chosen.add(word[len("proxy:"):])
        elif word in PROXIES:
            chosen.add(word)
    return [name for name in PROXIES if name in chosen]


def fresh(stamp, source):
    return stamp.is_file() and stamp.stat().st_mtime >= source.stat().st_mtime


# -- check -------------------------------------------------------------------


def escape(data):
    """Bytes as printable ASCII: \\r, \\n, \\t, \\\\ and \\xNN for the rest."""
    out = []
    for byte in data:
        if byte == 0x5C:
            out.append("\\\\")
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append({0x0D: "\\r", 0x0A: "\\n", 0x09: "\\t"}.get(byte, f"\\x{byte:02x}"))
    return "".join(out)


class Origin:
    """A recording origin on a free 127.0.0.1 port: keeps every connection's
    bytes as they arrive and answers each request head with 200, a body
    naming `token`, and Cache-Control: no-store."""

    def __init__(self, token):
        self.token = token
        self.body = f"origin {token}\n".encode()
        self.connections = []  # one bytearray per accepted connection
        self.heads = []  # each request head received, in order
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        record = bytearray()
        with self.lock:
            self.connections.append(record)
        pending = b""
        conn.settimeout(IO_SECONDS)
        try:
            while len(record) < READ_LIMIT:
                end = pending.find(b"\r\n\r\n")
                if end < 0:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    record += chunk
                    pending += chunk
                    continue
                head, pending = pending[: end + 4], pending[end + 4:]
                with self.lock:
                    self.heads.append(head)
                length = re.search(rb"\r\ncontent-length:[ \t]*(\d+)", head, re.IGNORECASE)
                # Content the check never sends: skipped, not parsed.
                pending = pending[int(length.group(1)):] if length else pending
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(self.body), self.body))
                if re.search(rb"\r\nconnection:[^\r]*close", head, re.IGNORECASE) or head.split(
                        b"\r\n", 1)[0].endswith(b"HTTP/1.0"):
                    return
        except OSError:
            return
        finally:
            conn.close()

    def close(self):
        self.sock.close()


def get(port, path):
    """One GET to 127.0.0.1:port; the raw answer (bounded in size and time)."""
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: network-tools-proxies-check\r\n"
               f"Connection: close\r\n\r\n").encode()
    answer = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=IO_SECONDS) as s:
        s.sendall(request)
        deadline = time.monotonic() + IO_SECONDS
        while len(answer) < READ_LIMIT and time.monotonic() < deadline:
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                break
            if not chunk:
                break
            answer += chunk
    return bytes(answer)


def check_one(spec, workdir):
    """Starts an origin and the proxy, sends one GET through it; returns
    (ok, the Proxy or None, what happened)."""
    token = f"chain-check-{spec.name}"
    origin = Origin(token)
    proxy = None
    try:
        proxy = start(spec.name, free_port(), origin.port, workdir / spec.name)
        answer = get(proxy.port, f"/{token}")
        status_line = answer.split(b"\r\n", 1)[0]
        match = re.match(rb"HTTP/\d\.\d (\d{3})", status_line)
        status = match.group(1).decode() if match else f"no status line ({escape(answer[:60]) or 'nothing'})"
        from_origin = origin.body in answer.split(b"\r\n\r\n", 1)[-1]
        with origin.lock:
            heads = list(origin.heads)
            connections = len(origin.connections)
            empty = sum(1 for c in origin.connections if not c)
        connections = f"{connections} connection(s)" + (f", {empty} without a byte" if empty else "")
        ours = [h for h in heads if h.split(b"\r\n", 1)[0].startswith(b"GET /" + token.encode() + b" ")]
        others = [escape(h.split(b"\r\n", 1)[0]) for h in heads if h not in ours]
        ok = status == "200" and from_origin and len(ours) == 1 and not others
        if ours:
            lines = ours[0].split(b"\r\n")
            names = [line.split(b":", 1)[0] for line in lines[1:] if line]
            seen = (f"origin saw it {len(ours)} time(s), {connections}: "
                    f"{escape(lines[0])} [{', '.join(escape(n) for n in names)}]")
        else:
            seen = f"origin did not see it ({connections})"
        if others:
            seen += f"; and {len(others)} other request(s): {', '.join(others)}"
        where = "from the origin" if from_origin else "not the origin's"
        return ok, proxy, f"{status} {where}; {seen}"
    except StartError as e:
        return False, proxy, f"did not start: {e}"
    finally:
        if proxy:
            proxy.stop()
        origin.close()


def on_signal(number, _frame):
    raise KeyboardInterrupt(f"signal {number}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("install", "install the proxies that are missing"),
                       ("check", "one GET through each proxy to a recording origin")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--only", action="append", metavar="NAME", choices=list(PROXIES),
                       help="only this proxy (repeatable)")
        if name == "install":
            p.add_argument("--for-matrix", metavar="WORDS",
                           help="the proxies `make matrix MATRIX_ONLY=WORDS` runs (none: nothing to do)")
    options = parser.parse_args()
    specs = [PROXIES[n] for n in options.only] if options.only else list(PROXIES.values())
    if getattr(options, "for_matrix", None):
        if options.only:
            parser.error("--for-matrix and --only exclude each other")
        specs = [PROXIES[n] for n in matrix_selection(options.for_matrix.split())]
        if not specs:
            return 0
    if options.command == "install":
        missing = install(specs)
        if missing:
            log(f"still missing: {' '.join(missing)}")
        return 1 if missing else 0

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    workdir = Path(tempfile.mkdtemp(prefix="network-tools-proxies-"))
    workdir.chmod(0o755)  # proxies that drop root read their configs below it
    failed = 0
    width = max(len(s.name) for s in specs)
    try:
        for spec in specs:
            if not spec.installed():
                failed += 1
                print(f"{spec.name:<{width}}  not installed ({spec.install_hint()})", flush=True)
                continue
            ok, proxy, line = check_one(spec, workdir)
            failed += not ok
            if proxy and proxy.started_in is not None:
                line += (f"; started in {proxy.started_in:.2f} s, stopped by {proxy.stopped_by} "
                         f"in {proxy.stopped_in:.2f} s")
            version = proxy.version if proxy else spec.version_string()
            print(f"{spec.name:<{width}}  {version}: {line}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{len(specs) - failed} of {len(specs)} proxies relayed the origin's 200", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as e:
        sys.exit(f"proxies: interrupted ({str(e) or 'SIGINT'}); every process started was stopped")
