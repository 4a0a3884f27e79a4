#!/usr/bin/env python3
"""`make bench`: requests/s for a small file, the reference server against
nginx (one worker) and lighttpd, all on loopback, measured in alternation.

Usage: bench/run.py PATH/TO/http-server   (BENCH_SECONDS, BENCH_ROUNDS tune it)
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
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = 32
PATH = "/hello.txt"


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


def render(template, port, run):
    text = (REPO / "bench" / template).read_text()
    out = run / template
    out.write_text(text.replace("@PORT@", str(port)).replace("@ROOT@", str(ROOT)).replace("@RUN@", str(run)))
    return out


def start_all(binary, run):
    servers = {}
    for mode in ("threaded", "single"):
        port = free_port()
        proc = subprocess.Popen(
            [binary, "--mode", mode, "--bind", f"127.0.0.1:{port}", "--root", str(ROOT), "--quiet"],
            stdout=subprocess.DEVNULL,
        )
        servers[mode] = (proc, port)
    port = free_port()
    conf = render("nginx.conf", port, run)
    servers["nginx"] = (subprocess.Popen(["nginx", "-c", str(conf), "-p", str(run)], stderr=subprocess.DEVNULL), port)
    port = free_port()
    conf = render("lighttpd.conf", port, run)
    servers["lighttpd"] = (subprocess.Popen(["lighttpd", "-D", "-f", str(conf)]), port)
    for name, (proc, port) in servers.items():
        wait_for_port(port, proc, name)
    return servers


def wrk(port, close, seconds):
    args = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s"]
    if close:
        args += ["-H", "Connection: close"]
    out = subprocess.run(args + [f"http://127.0.0.1:{port}{PATH}"], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        sys.exit(f"bench: {bad.group(1)} error responses from port {port}:\n{out}")
    return rps


def version(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    return (out.stdout + out.stderr).strip().splitlines()[0]


def main():
    binary = sys.argv[1]
    run = Path(tempfile.mkdtemp(prefix="network-tools-bench-"))
    servers = {}
    try:
        servers = start_all(binary, run)
        phases = [
            ("keep-alive", False, ["threaded", "nginx", "lighttpd"]),
            ("Connection: close", True, ["single", "threaded", "nginx", "lighttpd"]),
        ]
        results = {}
        for label, close, names in phases:
            for name in names:  # warm-up, not counted
                wrk(servers[name][1], close, 1)
            for _ in range(ROUNDS):
                for name in names:  # alternate the servers within each round
                    results.setdefault((label, name), []).append(wrk(servers[name][1], close, SECONDS))
        print(f"\nGET {PATH} ({(ROOT / PATH[1:]).stat().st_size} bytes), wrk -t1 -c{CONNECTIONS}, "
              f"{ROUNDS} alternating rounds of {SECONDS} s, median; {os.cpu_count()} cores")
        print(f"nginx: {version(['nginx', '-v'])}; lighttpd: {version(['lighttpd', '-v'])}\n")
        print(f"| {'workload':<18} | {'server':<9} | {'req/s':>9} | {'vs nginx':>8} | {'vs lighttpd':>11} |")
        print(f"|{'-' * 20}|{'-' * 11}|{'-' * 11}|{'-' * 10}|{'-' * 13}|")
        for label, _, names in phases:
            median = {n: statistics.median(results[(label, n)]) for n in names}
            for name in names:
                print(f"| {label:<18} | {name:<9} | {median[name]:>9.0f} | "
                      f"{median[name] / median['nginx']:>7.2f}x | {median[name] / median['lighttpd']:>10.2f}x |")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
        for proc, _ in servers.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(run, ignore_errors=True)


if __name__ == "__main__":
    main()
