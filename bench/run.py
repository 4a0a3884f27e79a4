#!/usr/bin/env python3
"""`make bench`: requests/s for a small file, the reference server against
nginx (one worker) and lighttpd, all on loopback, measured in alternation.

Usage: bench/run.py PATH/TO/http-server
       bench/run.py --profile PATH/TO/http-server   (`make bench-profile`)

BENCH_SECONDS (3), BENCH_ROUNDS (5) and BENCH_CONNECTIONS (32) tune it;
BENCH_PROFILE_SECONDS (5) the profile.

Each round runs every server of a workload once, one after another, so a
change in the machine's load falls on all of them alike; the table gives
each server's median over the rounds, with the lowest and highest round,
and the ratios of the medians. The single variant closes every
connection, so it runs only in the `Connection: close` workload.
"""

import os
import re
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
PROFILE_SECONDS = int(os.environ.get("BENCH_PROFILE_SECONDS", "5"))
PATH = "/hello.txt"

# (label, send `Connection: close`, servers) in the order they are run.
WORKLOADS = [
    ("keep-alive", False, ["threaded", "nginx", "lighttpd"]),
    ("Connection: close", True, ["single", "threaded", "nginx", "lighttpd"]),
]

# (workload, server, baseline): the goals, as ratios of medians >= 1.0.
GOALS = [
    ("keep-alive", "threaded", "nginx"),
    ("Connection: close", "threaded", "nginx"),
    ("Connection: close", "single", "nginx"),
    ("Connection: close", "single", "lighttpd"),
]


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


def start_reference(binary, mode):
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--mode", mode, "--bind", f"127.0.0.1:{port}", "--root", str(ROOT), "--quiet"],
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


def wrk(port, close, seconds):
    """Requests/s and socket errors of one wrk run; exits on error responses."""
    args = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s"]
    if close:
        args += ["-H", "Connection: close"]
    out = subprocess.run(args + [f"http://127.0.0.1:{port}{PATH}"], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        sys.exit(f"bench: {bad.group(1)} error responses from port {port}:\n{out}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return rps, sum(int(n) for n in errors.groups()) if errors else 0


def version(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    return (out.stdout + out.stderr).strip().splitlines()[0]


def measure(servers):
    """{(workload, server): [req/s per round]} and {(workload, server): socket errors}."""
    results, errors = {}, {}
    for label, close, names in WORKLOADS:
        for name in names:  # warm-up, not counted
            wrk(servers[name][1], close, 1)
        for _ in range(ROUNDS):
            for name in names:  # alternate the servers within each round
                rps, errs = wrk(servers[name][1], close, SECONDS)
                results.setdefault((label, name), []).append(rps)
                errors[(label, name)] = errors.get((label, name), 0) + errs
    return results, errors


def print_table(results, errors, load_before, load_after):
    size = (ROOT / PATH[1:]).stat().st_size
    print(f"\nGET {PATH} ({size} bytes), wrk -t1 -c{CONNECTIONS}, {ROUNDS} alternating rounds of "
          f"{SECONDS} s; median (lowest-highest round); {os.cpu_count()} cores, "
          f"load average {load_before:.2f} before, {load_after:.2f} after")
    print(f"nginx: {version(['nginx', '-v'])}; lighttpd: {version(['lighttpd', '-v'])}\n")
    print(f"| {'workload':<18} | {'server':<9} | {'req/s':>9} | {'rounds':>15} | {'vs nginx':>8} "
          f"| {'vs lighttpd':>11} | {'socket errors':>13} |")
    print(f"|{'-' * 20}|{'-' * 11}|{'-' * 10}:|{'-' * 16}:|{'-' * 9}:|{'-' * 12}:|{'-' * 14}:|")
    medians = {}
    for label, _, names in WORKLOADS:
        for name in names:
            medians[(label, name)] = statistics.median(results[(label, name)])
        for name in names:
            rounds = results[(label, name)]
            median = medians[(label, name)]
            spread = f"{min(rounds):.0f}-{max(rounds):.0f}"
            print(f"| {label:<18} | {name:<9} | {median:>9.0f} | {spread:>15} | "
                  f"{median / medians[(label, 'nginx')]:>7.2f}x | "
                  f"{median / medians[(label, 'lighttpd')]:>10.2f}x | {errors[(label, name)]:>13} |")
    print("\nGoals (ratio of medians >= 1.00):")
    for label, name, baseline in GOALS:
        ratio = medians[(label, name)] / medians[(label, baseline)]
        print(f"  {label:<18} {name:<9} vs {baseline:<9} {ratio:.2f}x  {'met' if ratio >= 1.0 else 'not met'}")
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
        wrk(port, False, 1)
        recorder = subprocess.Popen(
            ["perf", "record", "-q", "-g", "-o", str(data), "-p", str(proc.pid), "--", "sleep", str(PROFILE_SECONDS)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        rps, _ = wrk(port, False, PROFILE_SECONDS)
        recorder.wait()
        print(f"\nthreaded, keep-alive, wrk -t1 -c{CONNECTIONS}, {PROFILE_SECONDS} s under perf: {rps:.0f} req/s")
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


def main():
    args = sys.argv[1:]
    if args and args[0] == "--profile":
        return profile(args[1])
    binary = args[0]
    run = Path(tempfile.mkdtemp(prefix="network-tools-bench-"))
    servers = {}
    try:
        load_before = os.getloadavg()[0]
        servers = start_all(binary, run, ["threaded", "single", "nginx", "lighttpd"])
        results, errors = measure(servers)
        print_table(results, errors, load_before, os.getloadavg()[0])
    finally:
        stop_all(servers)
        shutil.rmtree(run, ignore_errors=True)


if __name__ == "__main__":
    main()
