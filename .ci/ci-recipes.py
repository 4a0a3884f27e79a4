#!/usr/bin/env python3
"""The CI recipes of docs/ci.md, run as written against the reference server.

docs/ci.md holds three fenced blocks, each after a `<!-- recipe:NAME ... -->`
marker: `baseline` (a shell line run once, locally), `github` (a GitHub Actions
workflow) and `gitlab` (a GitLab CI job). What stands for the user's own setup is
replaced, and must be there to be replaced (see USER below); every other line runs
as written:

- the baseline block, with dist/ first on the PATH, in a directory of its own,
  against dist/http-server; it must write a baseline of no known failure;
- each job in an empty directory holding that baseline (the checkout): GitHub's
  `run:` steps one `bash -e` each, honouring `if: always()` and `if: failure()`,
  its `uses:` steps checked (checkout, upload-artifact); GitLab's `script` lines
  in one `bash` with `set -eo pipefail`, then its `after_script`.

Each job must exit 0 and leave exactly the files the steps make; its upload step
(GitHub) or `artifacts:reports:junit` (GitLab) must name the JUnit report, which
must hold one testcase for every case of the catalogue, no failure and no error.
Every `cargo install` line of README.md and docs/*.md must have `--locked`.

Needs dist/ (`make dist`), curl, and PyYAML (`make dist-test` installs it in a
virtualenv). Talks only to servers it starts on 127.0.0.1, on ports the system
picks; stops each by its process id.
"""

import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DIST = REPO / "dist"
DOC = REPO / "docs" / "ci.md"
ROOT = REPO / "fixtures" / "root"

# What the recipes write for the user's own setup (each replaced by the test).
USER_SERVER = "./your-server --listen 127.0.0.1:8000 > server.log 2>&1 &"
USER_TARGET = "http://127.0.0.1:8000/health"
USER_DIST = "https://downloads.example.org/network-tools/0.1.0"
USER_ADDRESS = "127.0.0.1:8000"

BASELINE = "conformance-baseline.txt"
REPORT = "conformance.xml"
# What a job leaves in its directory: the checkout's baseline, and what its steps make.
JOB_FILES = sorted(["conformance", "SHA256SUMS", REPORT, "server.log", BASELINE])
STEP_TIMEOUT = 300


class RecipeError(Exception):
    pass


def recipes(text):
    """The fenced block after each `<!-- recipe:NAME` marker, by name."""
    found = {}
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("<!-- recipe:"):
            continue
        name = line[len("<!-- recipe:") :].split()[0]
        if name in found:
            raise RecipeError(f"docs/ci.md: two recipe:{name} blocks")
        fence = lines[index + 1] if index + 1 < len(lines) else ""
        if not fence.startswith("```"):
            raise RecipeError(f"docs/ci.md: recipe:{name} is not followed by a fenced block")
        end = lines.index("```", index + 2)
        found[name] = "\n".join(lines[index + 2 : end]) + "\n"
    expected = {"baseline", "github", "gitlab"}
    if set(found) != expected:
        raise RecipeError(f"docs/ci.md: recipes {sorted(found)}, expected {sorted(expected)}")
    return found


def replace(value, replacements, counts):
    """Every string in a parsed recipe with the replacements made, counted."""
    if isinstance(value, str):
        for old, new in replacements:
            counts[old] = counts.get(old, 0) + value.count(old)
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [replace(item, replacements, counts) for item in value]
    if isinstance(value, dict):
        return {key: replace(item, replacements, counts) for key, item in value.items()}
    return value


def substituted(name, recipe, replacements, once):
    """The recipe with the user's setup replaced; each replaced string must occur,
    those in `once` exactly once, and no trace of the user's address may remain."""
    counts = {}
    result = replace(recipe, replacements, counts)
    for old, _ in replacements:
        if counts.get(old, 0) == 0 or (old in once and counts[old] != 1):
            raise RecipeError(f"recipe:{name}: `{old}` occurs {counts.get(old, 0)} times")
    if USER_ADDRESS in repr(result):
        raise RecipeError(f"recipe:{name}: {USER_ADDRESS} is left where the test cannot replace it")
    return result


def free_port():
    """A port the system picks and nothing listens on now; the recipe's server is
    started on it, and `conformance run --wait` waits until it listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """dist/http-server on a port the system picks, its address read from stdout."""

    def __init__(self, root):
        self.process = subprocess.Popen(
            [DIST / "http-server", "--bind", "127.0.0.1:0", "--root", root, "--read-timeout", "1", "--quiet"],
            stdout=subprocess.PIPE,
            text=True,
        )
        ready, _, _ = select.select([self.process.stdout], [], [], 30)
        line = self.process.stdout.readline().strip() if ready else ""
        if not line.startswith("listening on http://"):
            self.stop()
            raise RecipeError(f"dist/http-server printed {line!r}")
        self.url = line[len("listening on ") :]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def stop_pid_file(path):
    """Stops the server a replaced start step left running, by its process id."""
    if path.exists():
        pid = int(path.read_text())
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass


def run_shell(argv, cwd, env, label):
    done = subprocess.run(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=STEP_TIMEOUT
    )
    print(f"  [{label}] exit {done.returncode}")
    lines = done.stdout.splitlines()
    if len(lines) > 12:
        print(f"    ... ({len(lines) - 12} lines)")
    for line in lines[-12:]:
        print(f"    {line}")
    return done.returncode


def job_env(variables):
    env = {key: value for key, value in os.environ.items() if not key.startswith("CONFORMANCE_")}
    env.update({str(key): str(value) for key, value in variables.items()})
    return env


def catalogue_ids():
    listing = subprocess.run([DIST / "conformance", "list"], stdout=subprocess.PIPE, text=True, check=True)
    return sorted(line.split()[0] for line in listing.stdout.splitlines())


def check_report(path, ids):
    """One testcase per case (beside the response rules), no failure, no error."""
    root = ET.parse(path).getroot()
    if root.tag != "testsuites":
        raise RecipeError(f"{path.name}: root element {root.tag}")
    if (root.get("failures"), root.get("errors")) != ("0", "0"):
        raise RecipeError(f"{path.name}: failures={root.get('failures')} errors={root.get('errors')}")
    cases = sorted(
        case.get("name")
        for suite in root.iter("testsuite")
        if suite.get("name") != "response-rules"
        for case in suite.iter("testcase")
    )
    if cases != ids:
        missing = sorted(set(ids) - set(cases))
        extra = sorted(set(cases) - set(ids))
        raise RecipeError(f"{path.name}: testcases differ from the catalogue: missing {missing[:5]}, extra {extra[:5]}")
    if any(case.find("failure") is not None or case.find("error") is not None for case in root.iter("testcase")):
        raise RecipeError(f"{path.name}: a testcase has a failure or an error")
    print(f"  {path.name}: {len(cases)} testcases, one per case, failures=0 errors=0")


def check_files(work):
    left = sorted(path.name for path in work.iterdir())
    if left != JOB_FILES:
        raise RecipeError(f"the job left {left}, expected {JOB_FILES}")


def make_baseline(recipe, tmp):
    print("recipe:baseline")
    server = Server(ROOT)
    try:
        script = substituted("baseline", recipe, [(USER_TARGET, f"{server.url}/index.html")], once=set())
        work = tmp / "baseline"
        work.mkdir()
        env = job_env({})
        env["PATH"] = f"{DIST}{os.pathsep}{env.get('PATH', '')}"
        script_file = tmp / "baseline.sh"
        script_file.write_text(script)
        if run_shell(["bash", "-e", script_file], work, env, "the baseline block") != 0:
            raise RecipeError("recipe:baseline failed")
    finally:
        server.stop()
    baseline = work / BASELINE
    if sorted(path.name for path in work.iterdir()) != [BASELINE]:
        raise RecipeError(f"recipe:baseline left {sorted(path.name for path in work.iterdir())}")
    known = [line for line in baseline.read_text().splitlines() if line.strip() and not line.startswith("#")]
    if known:
        raise RecipeError(f"the reference server has known failures: {known}")
    print(f"  {BASELINE}: no known failure")
    return baseline


def user_setup(dist_url, port, pid_file):
    server = (
        f"'{DIST / 'http-server'}' --bind 127.0.0.1:{port} --root '{ROOT}' --read-timeout 1 --quiet"
        f" > server.log 2>&1 & echo $! > '{pid_file}'"
    )
    return [
        (USER_SERVER, server),
        (USER_TARGET, f"http://127.0.0.1:{port}/index.html"),
        (USER_DIST, dist_url),
    ]


def run_github(recipe, dist_url, baseline, ids, tmp):
    print("recipe:github")
    work, pid_file = tmp / "github", tmp / "github.pid"
    work.mkdir()
    shutil.copy(baseline, work / BASELINE)
    workflow = substituted(
        "github", yaml.safe_load(recipe), user_setup(dist_url, free_port(), pid_file), once={USER_SERVER}
    )
    jobs = workflow["jobs"]
    if list(jobs) != ["conformance"]:
        raise RecipeError(f"recipe:github: jobs {list(jobs)}")
    job = jobs["conformance"]
    env = job_env(job.get("env", {}))
    failed, uploaded = False, []
    try:
        for number, step in enumerate(job["steps"], 1):
            label = step.get("name", step.get("uses", f"step {number}"))
            condition = step.get("if")
            if condition not in (None, "always()", "failure()"):
                raise RecipeError(f"recipe:github: step {label!r}: condition {condition!r}")
            if (failed and condition is None) or (not failed and condition == "failure()"):
                print(f"  [{label}] skipped ({condition or 'a step before failed'})")
                continue
            if "uses" in step:
                action = step["uses"]
                if action.startswith("actions/checkout@"):
                    print(f"  [{label}] the job's directory holds the checkout: {BASELINE}")
                elif action.startswith("actions/upload-artifact@"):
                    uploaded.append(step["with"]["path"])
                    print(f"  [{label}] uploads {step['with']['path']}")
                else:
                    raise RecipeError(f"recipe:github: unknown action {action}")
                continue
            script_file = tmp / f"github-step-{number}.sh"
            script_file.write_text(step["run"])
            if run_shell(["bash", "-e", script_file], work, {**env, **step.get("env", {})}, label) != 0:
                failed = True
    finally:
        stop_pid_file(pid_file)
    if failed:
        raise RecipeError("recipe:github: a step failed")
    if uploaded != [REPORT]:
        raise RecipeError(f"recipe:github: uploads {uploaded}, not {REPORT}")
    check_files(work)
    check_report(work / REPORT, ids)


def run_gitlab(recipe, dist_url, baseline, ids, tmp):
    print("recipe:gitlab")
    work, pid_file = tmp / "gitlab", tmp / "gitlab.pid"
    work.mkdir()
    shutil.copy(baseline, work / BASELINE)
    document = substituted(
        "gitlab", yaml.safe_load(recipe), user_setup(dist_url, free_port(), pid_file), once={USER_SERVER}
    )
    if list(document) != ["conformance"]:
        raise RecipeError(f"recipe:gitlab: jobs {list(document)}")
    job = document["conformance"]
    env = job_env(job.get("variables", {}))
    try:
        script = "set -eo pipefail\n" + "\n".join(job["script"]) + "\n"
        status = run_shell(["bash", "-c", script], work, env, "script")
        after = "\n".join(job.get("after_script", [])) + "\n"
        after_status = run_shell(["bash", "-c", after], work, env, "after_script")
    finally:
        stop_pid_file(pid_file)
    if status != 0 or after_status != 0:
        raise RecipeError(f"recipe:gitlab: script exit {status}, after_script exit {after_status}")
    artifacts = job["artifacts"]
    if artifacts.get("when") != "always" or artifacts.get("reports", {}).get("junit") != REPORT:
        raise RecipeError(f"recipe:gitlab: artifacts {artifacts}, not always the JUnit report {REPORT}")
    check_files(work)
    check_report(work / REPORT, ids)


def check_install_lines():
    """Every `cargo install` a reader is shown builds with the lock file as tested."""
    lines = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            if "cargo install " in line:
                lines.append(f"{doc.relative_to(REPO)}:{number}")
                if "cargo install --locked " not in line:
                    raise RecipeError(f"{doc.relative_to(REPO)}:{number}: cargo install without --locked: {line.strip()}")
    if not any(place.startswith("README.md:") for place in lines):
        raise RecipeError("README.md shows no cargo install line")
    print(f"cargo install --locked: {', '.join(lines)}")


def main():
    check_install_lines()
    found = recipes(DOC.read_text())
    ids = catalogue_ids()
    with tempfile.TemporaryDirectory(prefix="ci-recipes-") as name:
        tmp = Path(name)
        baseline = make_baseline(found["baseline"], tmp)
        dist_server = Server(DIST)
        try:
            run_github(found["github"], dist_server.url, baseline, ids, tmp)
            run_gitlab(found["gitlab"], dist_server.url, baseline, ids, tmp)
        finally:
            dist_server.stop()
    print("ci-recipes: ok")


if __name__ == "__main__":
    try:
        main()
    except RecipeError as error:
        print(f"ci-recipes: {error}", file=sys.stderr)
        sys.exit(1)
