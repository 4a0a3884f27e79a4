#!/usr/bin/env python3
"""`make bench`: requests/s for a small file, the reference server against
nginx (one worker) and lighttpd, all on loopback, measured in alternation.

Usage: bench/run.py PATH/TO/http-server
       bench/run.py --profile PATH/TO/http-server     (`make bench-profile`)
       bench/run.py --callgrind PATH/TO/http-server   (`make bench-profile PROFILER=callgrind`)

BENCH_SECONDS (3), BENCH_ROUNDS (5), BENCH_CONNECTIONS (32), BENCH_MANY
(1000,10000: the keep-alive rows with many connections; empty for none)
and BENCH_MANY_SECONDS (5: wrk connects thousands of clients first, which
takes a second or more of each run) tune it; BENCH_PROFILE_SECONDS (5) the
profile; BENCH_DEBUG=1 prints every wrk output.

Each round runs every server of a workload once, one after another, so a
change in the machine's load falls on all of them alike; the table gives
each server's median over the rounds, with the lowest and highest round,
the ratios of the medians, and the rounds' socket errors, timeouts (wrk's:
no answer within 2 s) and answers other than 2xx/3xx, added up. The single
variant closes every connection, so it runs only in the `Connection: close`
workload. Every server is started with the open-file limit this script
raised, and at its defaults otherwise (nginx and lighttpd with the
connection limits in their configs in bench/).
"""

import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOT = REPO / "fixtures" / "root"
SECONDS = int(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
MANY = [int(n) for n in os.environ.get("BENCH_MANY", "1000,10000").replace(",", " ").split()]
MANY_SECONDS = int(os.environ.get("BENCH_MANY_SECONDS", "5"))
PROFILE_SECONDS = int(os.environ.get("BENCH_PROFILE_SECONDS", "5"))
PATH = "/hello.txt"
# wrk's own: a request unanswered this long counts as a timeout.
TIMEOUT = "2s"
# The reference server's default connection cap leaves 1 descriptor in 16
# of the limit (at least 64) for files: the limit it needs for n clients.
RESERVE_SHARE, RESERVE_MIN = 16, 64


def workloads(many):
    """(label, connections, send `Connection: close`, seconds, servers) in
    the order run."""
    rows = [
        ("keep-alive", CONNECTIONS, False, SECONDS, ["threaded", "nginx", "lighttpd"]),
        ("Connection: close", CONNECTIONS, True, SECONDS, ["single", "threaded", "nginx", "lighttpd"]),
    ]
    rows += [("keep-alive", n, False, MANY_SECONDS, ["threaded", "nginx", "lighttpd"]) for n in many]
    return rows


def ratio_goals(many):
    """(workload, connections, server, baseline): ratios of medians >= 1.0."""
    goals = [
        ("keep-alive", CONNECTIONS, "threaded", "nginx"),
        ("keep-alive", CONNECTIONS, "threaded", "lighttpd"),
        ("Connection: close", CONNECTIONS, "threaded", "nginx"),
        ("Connection: close", CONNECTIONS, "single", "nginx"),
        ("Connection: close", CONNECTIONS, "single", "lighttpd"),
    ]
    return goals + [("keep-alive", n, "threaded", "nginx") for n in many]


def nofile_needed(connections):
    """The soft open-file limit under which the threaded variant's default
    cap admits `connections` (wrk needs as many, and a few more)."""
    limit = connections + RESERVE_MIN
    while limit - max(RESERVE_MIN, limit // RESERVE_SHARE) < connections:
        limit += 1
    return limit + 16


def raise_nofile(many):
    """Raises this process's soft open-file limit (the servers and wrk
    inherit it) to the hard limit; returns the rows of `many` it allows,
    and a line saying what it did."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as e:
            print(f"bench: cannot raise the open-file limit from {soft} to {wanted}: {e}")
    fits = [n for n in many if soft == resource.RLIM_INFINITY or nofile_needed(n) <= soft]
    for n in many:
        if n not in fits:
            print(f"bench: skipping {n} connections: they need an open-file limit of "
                  f"{nofile_needed(n)} and the hard limit is {hard} (raise it with `ulimit -Hn` as root)")
    return fits, f"open-file limit {soft} (hard {hard})"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, name):
    """Polls until the server accepts, or fails if it exited."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"bench: {name} exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"bench: {name} did not listen on port {port} within 10 s")


def check_answers(port, name):
    """One GET of the benchmarked file: a 200 with its content, or exit."""
    expected = (ROOT / PATH[1:]).read_bytes()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {PATH} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    if not answer.startswith(b"HTTP/1.1 200 ") or not answer.endswith(expected):
        sys.exit(f"bench: {name} did not answer GET {PATH} with its content: {answer[:200]!r}")


def render(template, port, run):
    text = (REPO / "bench" / template).read_text()
    out = run / template
    out.write_text(text.replace("@PORT@", str(port)).replace("@ROOT@", str(ROOT)).replace("@RUN@", str(run)))
    return out


def start_reference(binary, mode, wrapper=()):
    port = free_port()
    proc = subprocess.Popen(
        [*wrapper, binary, "--mode", mode, "--bind", f"127.0.0.1:{port}", "--root", str(ROOT), "--quiet"],
        stdout=subprocess.DEVNULL,
    )
    return proc, port


def start_all(binary, run, names):
    servers = {}
    for name in names:
        if name in ("threaded", "single"):
            servers[name] = start_reference(binary, name)
        elif name == "nginx":
            port = free_port()
            conf = render("nginx.conf", port, run)
            cmd = ["nginx", "-c", str(conf), "-p", str(run)]
            servers[name] = (subprocess.Popen(cmd, stderr=subprocess.DEVNULL), port)
        elif name == "lighttpd":
            port = free_port()
            conf = render("lighttpd.conf", port, run)
            servers[name] = (subprocess.Popen(["lighttpd", "-D", "-f", str(conf)]), port)
    for name, (proc, port) in servers.items():
        wait_for_port(port, proc, name)
        check_answers(port, name)
    return servers


def stop_all(servers):
    for proc, _ in servers.values():
        proc.terminate()
    for proc, _ in servers.values():
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


class Run:
    """One wrk run: requests/s, socket errors (connect, read, write),
    timeouts, and answers other than 2xx or 3xx."""

    def __init__(self, out):
        self.rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        self.requests = int(re.search(r"(\d+) requests in", out).group(1))
        errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        counts = [int(n) for n in errors.groups()] if errors else [0, 0, 0, 0]
        self.errors = sum(counts[:3])
        self.timeouts = counts[3]
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        self.non_2xx = int(bad.group(1)) if bad else 0


def wrk(port, connections, close, seconds):
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", TIMEOUT]
    if close:
        args += ["-H", "Connection: close"]
    out = subprocess.run(args + [f"http://127.0.0.1:{port}{PATH}"], capture_output=True, text=True, check=True).stdout
    if os.environ.get("BENCH_DEBUG"):
        print(port, connections, out, file=sys.stderr)
    return Run(out)


def version(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    return (out.stdout + out.stderr).strip().splitlines()[0]


def measure(servers, rows):
    """{(workload, connections, server): [Run per round]}."""
    results = {}
    for label, connections, close, seconds, names in rows:
        for name in names:  # warm-up, not counted
            wrk(servers[name][1], connections, close, max(1, seconds // 2))
        for _ in range(ROUNDS):
            for name in names:  # alternate the servers within each round
                run = wrk(servers[name][1], connections, close, seconds)
                results.setdefault((label, connections, name), []).append(run)
    return results


def print_table(results, rows, many, limits, load_before, load_after):
    size = (ROOT / PATH[1:]).stat().st_size
    many_seconds = f" ({MANY_SECONDS} s with {', '.join(map(str, many))})" if many else ""
    print(f"\nGET {PATH} ({size} bytes), wrk -t1 --timeout {TIMEOUT}, {ROUNDS} alternating rounds of "
          f"{SECONDS} s{many_seconds}; median (lowest-highest round); errors, timeouts and non-2xx summed over the rounds; "
          f"{os.cpu_count()} cores, load average {load_before:.2f} before, {load_after:.2f} after; {limits}")
    print(f"nginx: {version(['nginx', '-v'])}; lighttpd: {version(['lighttpd', '-v'])}\n")
    print(f"| {'workload':<18} | {'conns':>6} | {'server':<9} | {'req/s':>9} | {'rounds':>15} | {'vs nginx':>8} "
          f"| {'vs lighttpd':>11} | {'errors':>6} | {'timeouts':>8} | {'non-2xx':>8} |")
    print(f"|{'-' * 20}|{'-' * 7}:|{'-' * 11}|{'-' * 10}:|{'-' * 16}:|{'-' * 9}:|{'-' * 12}:"
          f"|{'-' * 7}:|{'-' * 9}:|{'-' * 9}:|")
    medians, totals = {}, {}
    for label, connections, _, _, names in rows:
        for name in names:
            runs = results[(label, connections, name)]
            medians[(label, connections, name)] = statistics.median(r.rps for r in runs)
            totals[(label, connections, name)] = tuple(
                sum(getattr(r, field) for r in runs) for field in ("errors", "timeouts", "non_2xx"))
        for name in names:
            key = (label, connections, name)
            rounds = [r.rps for r in results[key]]
            median = medians[key]
            spread = f"{min(rounds):.0f}-{max(rounds):.0f}"
            errors, timeouts, non_2xx = totals[key]
            print(f"| {label:<18} | {connections:>6} | {name:<9} | {median:>9.0f} | {spread:>15} | "
                  f"{median / medians[(label, connections, 'nginx')]:>7.2f}x | "
                  f"{median / medians[(label, connections, 'lighttpd')]:>10.2f}x | "
                  f"{errors:>6} | {timeouts:>8} | {non_2xx:>8} |")
    print("\nGoals:")
    met_all = True
    for label, connections, name, baseline in ratio_goals(many):
        ratio = medians[(label, connections, name)] / medians[(label, connections, baseline)]
        met = ratio >= 1.0
        met_all &= met
        print(f"  {label:<18} {connections:>6} {name:<9} vs {baseline:<9} {ratio:.2f}x (>= 1.00)  "
              f"{'met' if met else 'NOT MET'}")
    for connections in many:
        errors, timeouts, non_2xx = totals[("keep-alive", connections, "threaded")]
        nginx_timeouts = totals[("keep-alive", connections, "nginx")][1]
        refused = errors + non_2xx
        for what, met in ((f"refusals and errors {refused} (0)", refused == 0),
                          (f"timeouts {timeouts} (<= nginx's {nginx_timeouts})", timeouts <= nginx_timeouts)):
            met_all &= met
            print(f"  {'keep-alive':<18} {connections:>6} {'threaded':<9} {what}  {'met' if met else 'NOT MET'}")
    print(f"\n{'Every goal met.' if met_all else 'Some goals not met.'}")
    if load_before > 0.5 * (os.cpu_count() or 1):
        print("\nThe machine was busy before the run (load average above half its cores): "
              "the figures are noisy; rerun on a quiet machine.")


def profile(binary):
    """A call-graph profile of the threaded variant under wrk with keep-alive."""
    if shutil.which("perf") is None:
        sys.exit("bench: perf is missing (make bench-profile installs Debian's linux-perf)")
    servers = {}
    data = Path(tempfile.mkdtemp(prefix="network-tools-profile-")) / "perf.data"
    try:
        servers = {"threaded": start_reference(binary, "threaded")}
        proc, port = servers["threaded"]
        wait_for_port(port, proc, "threaded")
        check_answers(port, "threaded")
        wrk(port, CONNECTIONS, False, 1)
        recorder = subprocess.Popen(
            ["perf", "record", "-q", "-g", "-o", str(data), "-p", str(proc.pid), "--", "sleep", str(PROFILE_SECONDS)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        run = wrk(port, CONNECTIONS, False, PROFILE_SECONDS)
        recorder.wait()
        print(f"\nthreaded, keep-alive, wrk -t1 -c{CONNECTIONS}, {PROFILE_SECONDS} s under perf: {run.rps:.0f} req/s")
        for title, flag in (("self time", "--no-children"), ("with callees", "--children")):
            report = subprocess.run(
                ["perf", "report", "-i", str(data), flag, "--stdio", "--sort", "symbol"],
                capture_output=True, text=True,
            ).stdout
            rows = [line for line in report.splitlines() if re.match(r"^\s+\d+\.\d+%", line)]
            print(f"\nTop symbols by {title}:")
            for line in rows[:20]:
                print("  " + re.sub(r"\s+-\s+-\s*$", "", line.rstrip()))
    finally:
        stop_all(servers)
        shutil.rmtree(data.parent, ignore_errors=True)


def callgrind(binary):
    """User-space instructions per keep-alive request of the threaded
    variant, counted by callgrind: the same on a busy machine as on a quiet
    one, unlike time. The count includes the server's start (a few million
    instructions; a fraction of a percent of the run)."""
    if shutil.which("valgrind") is None:
        sys.exit("bench: valgrind is missing (make bench-profile PROFILER=callgrind installs it)")
    work = Path(tempfile.mkdtemp(prefix="network-tools-callgrind-"))
    out = work / "callgrind.out"
    servers = {}
    try:
        wrapper = ("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "-q")
        servers = {"threaded": start_reference(binary, "threaded", wrapper)}
        proc, port = servers["threaded"]
        wait_for_port(port, proc, "threaded")
        run = wrk(port, CONNECTIONS, False, PROFILE_SECONDS)
        proc.send_signal(2)
        proc.wait(timeout=60)
        servers = {}
        served = run.requests
        report = subprocess.run(["callgrind_annotate", "--inclusive=no", str(out)],
                                capture_output=True, text=True).stdout
        total = int(re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", report).group(1).replace(",", ""))
        print(f"\nthreaded under callgrind, keep-alive, wrk -t1 -c{CONNECTIONS}, {PROFILE_SECONDS} s: "
              f"{served} requests, {total} instructions, {total / served:.0f} per request\n")
        print("Top functions by instructions (self):")
        rows = [line for line in report.splitlines() if re.match(r"^\s*[\d,]+ \(\s*\d+\.\d+%\)\s+\S", line)]
        for line in rows[1:21]:
            print("  " + line.strip()[:150])
    finally:
        stop_all(servers)
        shutil.rmtree(work, ignore_errors=True)


def main():
    args = sys.argv[1:]
    if args and args[0] == "--profile":
        return profile(args[1])
    if args and args[0] == "--callgrind":
        return callgrind(args[1])
    binary = args[0]
    many, limits = raise_nofile(MANY)
    rows = workloads(many)
    run = Path(tempfile.mkdtemp(prefix="network-tools-bench-"))
    servers = {}
    try:
        load_before = os.getloadavg()[0]
        servers = start_all(binary, run, ["threaded", "single", "nginx", "lighttpd"])
        results = measure(servers, rows)
        print_table(results, rows, many, limits, load_before, os.getloadavg()[0])
    finally:
        stop_all(servers)
        shutil.rmtree(run, ignore_errors=True)


if __name__ == "__main__":
    main()
