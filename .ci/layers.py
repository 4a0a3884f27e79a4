#!/usr/bin/env python3
"""The layout rules of both crates, checked over their `use` lines.

1. No module imports one that sits above it in its crate's layer map: the
   bullets of the `## Layers` section of `src/lib.rs`, from the top layer to
   the bottom. The first module named (`[`name`]`) in each bullet is that
   layer's; a module may use only the modules of the bullets after its own.
   Every top-level module of the library appears there once.
2. No import circle between the files of one folder (`wire/conn` and
   `wire/tls`, say), nor between the binary's own modules.
3. No source file under `src/` is longer than MAX_LINES, unit tests included.

Imports are the paths `crate::name`, `crate::{name, ...}` and, from inside a
folder, `super::name`, outside comments. Exits 1 with one line per breach.
"""
import re
import sys
from pathlib import Path

MAX_LINES = 800
REPO = Path(__file__).resolve().parent.parent
CRATES = ["server", "conformance"]


def code_of(path):
    """The file's text without comments and string literals' contents."""
    text = path.read_text()
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*(?:.|\n)*?\*/", "", text)


def braced(text, start):
    """The text inside the braces opening at `start`."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
    return text[start + 1 :]


def top_names(group):
    """The first segment of each path of a `{a, b::c, d::{e}}` group."""
    names, depth, current = [], 0, ""
    for ch in group + ",":
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", current)
            if m:
                names.append(m.group(1))
            current = ""
        else:
            current += ch
    return names


def imports(code, prefix):
    """Every name that follows `prefix::` in the code."""
    found = set()
    for m in re.finditer(r"\b" + prefix + r"::\s*(\{|[A-Za-z_][A-Za-z0-9_]*)", code):
        if m.group(1) == "{":
            found.update(top_names(braced(code, m.start(1))))
        else:
            found.add(m.group(1))
    return found


def module_path(src, path):
    """`wire/conn.rs` → ("wire", "conn"); `wire/mod.rs` → ("wire",)."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    return tuple(parts)


def cycle(nodes, edges):
    """One import circle among `nodes`, as a list, or None."""
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return trail[trail.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt, trail + [nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(nodes):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def layers(lib):
    """The top-level modules of the lib.rs layer map, top layer first."""
    text = lib.read_text()
    section = re.search(r"^//! ## Layers\n((?://!.*\n)*)", text, re.M)
    if not section:
        return None
    order = []
    for line in section.group(1).splitlines():
        m = re.match(r"//! - \[`([a-z_]+)`\]", line)
        if m:
            order.append(m.group(1))
    return order


def check_crate(crate, problems):
    src = REPO / crate / "src"
    files = sorted(src.rglob("*.rs"))
    edges = {}  # module path -> set of module paths it imports
    for path in files:
        lines = path.read_text().count("\n")
        rel = path.relative_to(REPO)
        if lines > MAX_LINES:
            problems.append(f"{rel}: {lines} lines (at most {MAX_LINES})")
        me = module_path(src, path)
        code = code_of(path)
        targets = set()
        for name in imports(code, "crate"):
            targets.add((name,))
        if len(me) >= 1:
            parent = me[:-1]
            for name in imports(code, "super"):
                targets.add(parent + (name,))
        edges[me] = {t for t in targets if t != me}

    modules = set(edges)
    # Which folder-level modules exist, to map a path to a node of a level.
    def node_at(path, level):
        return path[: level + 1]

    # Rule 2: circles among the children of each folder (the root included).
    folders = {m[:-1] for m in modules if m}
    for folder in sorted(folders):
        level = len(folder)
        children = {m[: level + 1] for m in modules if len(m) > level and m[:level] == folder}
        child_edges = {}
        for m, targets in edges.items():
            if len(m) <= level or m[:level] != folder:
                continue
            a = node_at(m, level)
            for t in targets:
                if len(t) > level and t[:level] == folder:
                    b = node_at(t, level)
                    if b != a and b in children:
                        child_edges.setdefault(a, set()).add(b)
        found = cycle(children, child_edges)
        if found:
            problems.append(
                f"{crate}: import circle: {' → '.join('/'.join(n) for n in found)}"
            )

    # Rule 1: the library's layers.
    order = layers(src / "lib.rs")
    tops = {m[0] for m in modules if m and (src / (m[0] + ".rs")).exists() or
            m and (src / m[0] / "mod.rs").exists()}
    bin_tops = {"lib", "main", "cli"}
    lib_tops = tops - bin_tops
    if order is None:
        problems.append(f"{crate}/src/lib.rs: no `## Layers` section")
        return
    for name in sorted(lib_tops - set(order)):
        problems.append(f"{crate}/src/lib.rs: `{name}` is not in the layer map")
    for name in order:
        if name not in lib_tops:
            problems.append(f"{crate}/src/lib.rs: the layer map names `{name}`, which is no module")
    rank = {name: i for i, name in enumerate(order)}
    for m, targets in sorted(edges.items()):
        if not m or m[0] not in rank:
            continue
        for t in sorted(targets):
            if t and t[0] in rank and t[0] != m[0] and rank[t[0]] < rank[m[0]]:
                problems.append(
                    f"{crate}/src/{'/'.join(m)}: imports `{t[0]}`, which sits above "
                    f"`{m[0]}` in the layer map"
                )


def main():
    problems = []
    for crate in CRATES:
        check_crate(crate, problems)
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
