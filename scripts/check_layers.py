#!/usr/bin/env python3
"""Checks that the crate's imports point down only (`../README.md`, Layout).

Every file under `src/` belongs to a top-level module, and every top-level module to a layer:

    cli > bench > front > demo > capabilities > base

A file may use what lies in its own top-level module, in a lower layer, or in another module of
its own layer as long as no circle forms between the modules of that layer. Within a module the
same holds one level down: no circle between its submodules (`pointcloud::copc` may use
`pointcloud::las`, never both ways). And a capability's pure code (files that use no Bevy ECS)
never uses its Bevy systems. No file is over 1 500 lines.

Paths are read from the source text: `use crate::…` trees and inline `crate::…`/`super::…`
paths, comments and strings left out, re-exports (`pub use`) followed to where the item lives.
Exit status 1, with each offending import named (file:line), when a rule is broken.
"""

import os
import re
import sys
from collections import defaultdict

LAYERS = [
    ("base", ["io", "jobs", "georef", "spatial", "testdata"]),
    ("capabilities", ["terrain", "pointcloud", "buildings", "network", "scenario", "camera", "render"]),
    ("demo", ["demo"]),
    ("front", ["front"]),
    ("bench", ["bench"]),
    ("cli", ["cli"]),
]
MAX_LINES = 1500

RANK = {module: rank for rank, (_, modules) in enumerate(LAYERS) for module in modules}

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel == ["lib"]:
        return ()
    return tuple(rel)


def strip(text):
    """The text with comments and string/char literals blanked, line breaks kept."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            end = text.find('"' + m.group(1), i + len(m.group(0)))
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x..'", text[i:i + 12]):
            m = re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x..'", text[i:i + 12])
            out.append("' '")
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand_tree(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e'] (aliases and `self` handled)."""
    tree = re.sub(r"\s+", "", tree)

    def parse(s, i, prefix):
        paths = []
        start = i
        while i < len(s):
            if s[i] == "{":
                head = s[start:i]
                inner, i = parse_group(s, i + 1, prefix + head)
                paths.extend(inner)
                start = None
                return paths, i
            if s[i] in ",}":
                break
            i += 1
        item = s[start:i]
        item = re.sub(r"\bas\w+$", "", item.split("as")[0]) if "as" in item and re.search(r"\w+as\w+$", item) is None else item
        item = item.split(" as ")[0]
        if item.endswith("::self"):
            item = item[:-6]
        paths.append(prefix + item)
        return paths, i

    def parse_group(s, i, prefix):
        paths = []
        while i < len(s) and s[i] != "}":
            inner, i = parse(s, i, prefix)
            paths.extend(p[:-2] if p.endswith("::") else p for p in inner)
            if i < len(s) and s[i] == ",":
                i += 1
        return paths, i + 1

    # Aliases: `x as y` -> `x`.
    tree = re.sub(r"\bas\b\w*", "", re.sub(r"\s+as\s+\w+", "", tree))
    paths, _ = parse(tree, 0, "")
    return [p.rstrip(":") for p in paths if p]


def main():
    files = {}
    for dirpath, _, names in os.walk(ROOT):
        for name in names:
            if name.endswith(".rs") and not (dirpath == ROOT and name == "main.rs"):
                path = os.path.join(dirpath, name)
                files[module_of(path)] = path
    modules = set(files)

    # Each file's references: (line, absolute path segments, is it a `pub use`).
    refs = {}
    reexports = defaultdict(dict)  # module -> name -> absolute path
    for module, path in files.items():
        text = strip(open(path, encoding="utf-8").read())
        found = []
        # Inline modules change what `super` and `self` mean: track them by brace depth.
        scopes = []  # (depth at which the inline module's body closes, its path)
        depth = 0
        lines = text.split("\n")
        offsets = []
        pos = 0
        for line in lines:
            offsets.append(pos)
            pos += len(line) + 1

        def line_of(offset):
            lo, hi = 0, len(offsets) - 1
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if offsets[mid] <= offset:
                    lo = mid
                else:
                    hi = mid - 1
            return lo + 1

        # Map each offset to its inline-module path.
        scope_at = []
        current = list(module)
        token = re.compile(r"\bmod\s+(\w+)\s*\{|[{}]")
        pending = []
        last = 0
        for m in token.finditer(text):
            scope_at.append((last, tuple(current)))
            if m.group(1):
                depth += 1
                pending.append((depth, m.group(1)))
                current.append(m.group(1))
            elif m.group(0) == "{":
                depth += 1
            else:
                if pending and pending[-1][0] == depth:
                    pending.pop()
                    current.pop()
                depth -= 1
            last = m.end()
        scope_at.append((last, tuple(current)))

        def scope(offset):
            lo, hi = 0, len(scope_at) - 1
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if scope_at[mid][0] <= offset:
                    lo = mid
                else:
                    hi = mid - 1
            return scope_at[lo][1]

        def absolute(raw, here):
            segs = raw.split("::")
            if segs[0] == "crate":
                return tuple(segs[1:])
            if segs[0] in ("super", "self"):
                base = list(here)
                while segs and segs[0] in ("super", "self"):
                    if segs[0] == "super":
                        base = base[:-1]
                    segs = segs[1:]
                return tuple(base + segs)
            return None

        covered = []
        for m in re.finditer(r"\b(pub(\([^)]*\))?\s+)?use\s+([^;]*);", text):
            here = scope(m.start())
            tree = m.group(3)
            covered.append((m.start(), m.end()))
            for raw in expand_tree(tree):
                target = absolute(raw, here)
                if target is None:
                    # A path through a name imported earlier (`use streaming::X` in 2018 style).
                    first = raw.split("::")[0]
                    if here + (first,) in modules:
                        target = here + tuple(raw.split("::"))
                    else:
                        continue
                found.append((line_of(m.start()), target))
                if m.group(1) and here == module:
                    name = raw.split("::")[-1]
                    if name != "*":
                        reexports[module][name] = target
        for m in re.finditer(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)", text):
            if any(a <= m.start() < b for a, b in covered):
                continue
            target = absolute(m.group(1), scope(m.start()))
            if target is not None:
                found.append((line_of(m.start()), target))
        refs[module] = found

    def resolve(target, seen=()):
        """The file module where the item named by `target` lives."""
        best = ()
        for k in range(len(target), -1, -1):
            if target[:k] in modules:
                best = target[:k]
                break
        rest = target[len(best):]
        if rest and rest[0] in reexports.get(best, {}) and (best, rest[0]) not in seen:
            return resolve(reexports[best][rest[0]] + rest[1:], seen + ((best, rest[0]),))
        return best

    bevy_files = set()
    for module, path in files.items():
        text = strip(open(path, encoding="utf-8").read())
        if re.search(r"\bbevy::(prelude|ecs|render|app|asset|window|input|core_pipeline|pbr|camera|image|mesh|shader)\b", text) or re.search(r"\buse\s+bevy::\{[^;]*\b(prelude|ecs|render|app)\b", text):
            bevy_files.add(module)

    problems = []
    for module, path in sorted(files.items()):
        count = sum(1 for _ in open(path, encoding="utf-8"))
        if count > MAX_LINES:
            problems.append(f"src/{os.path.relpath(path, ROOT)}: {count} lines, over {MAX_LINES}: cut it into submodules")
    edges = defaultdict(lambda: defaultdict(list))  # (level prefix) a -> b -> [where]
    for module, found in refs.items():
        for line, target in found:
            dest = resolve(target)
            if not dest or not module or dest == module:
                continue
            where = f"src/{os.path.relpath(files[module], ROOT)}:{line}"
            top, dtop = module[0], dest[0]
            if top not in RANK:
                problems.append(f"{where}: module `{top}` is in no layer: add it to LAYERS in scripts/check_layers.py")
                continue
            if dtop not in RANK:
                problems.append(f"{where}: uses `{'::'.join(dest)}`, in no layer")
                continue
            if RANK[dtop] > RANK[top]:
                problems.append(
                    f"{where}: `{'::'.join(module)}` ({LAYERS[RANK[top]][0]}) uses `{'::'.join(dest)}` ({LAYERS[RANK[dtop]][0]}): imports point down only"
                )
            # Circles: between the top-level modules, and between the submodules of each module.
            if top != dtop:
                edges[()][top].append((dtop, where))
            else:
                k = 1
                while k < len(module) and k < len(dest) and module[k] == dest[k]:
                    k += 1
                if k < len(module) and k < len(dest):
                    edges[module[:k]][module[k]].append((dest[k], where))
            if top == dtop and module not in bevy_files and dest in bevy_files and len(dest) > 1 and module[0] not in ("front", "cli", "bench", "demo"):
                problems.append(
                    f"{where}: pure `{'::'.join(module)}` uses `{'::'.join(dest)}`, which holds Bevy systems: model code does not import its engine"
                )

    for parent, graph in sorted(edges.items()):
        for cycle, members in circles({a: {b for b, _ in bs} for a, bs in graph.items()}):
            label = "::".join(parent) or "crate"
            witness = []
            for i, a in enumerate(cycle):
                b = cycle[(i + 1) % len(cycle)]
                where = next(w for d, w in graph[a] if d == b)
                witness.append(f"    {a} -> {b} ({where})")
            problems.append(
                f"import circle in `{label}` between {', '.join(members)}; one of them: {' -> '.join(cycle + [cycle[0]])}\n"
                + "\n".join(witness)
            )

    if problems:
        print("\n".join(problems))
        print(f"\n{len(problems)} layering problem(s): see scripts/check_layers.py", file=sys.stderr)
        return 1
    print(f"layers: {len(files)} files, imports point down only, no circle, none over {MAX_LINES} lines")
    return 0


def circles(graph):
    """One shortest circle per strongly connected component of more than one node (Tarjan)."""
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            strong(v)
    found = []
    for comp in comps:
        members = set(comp)
        start = comp[0]
        # Breadth-first search for the shortest way back to start, inside the component.
        prev = {start: None}
        queue = [start]
        cycle = None
        while queue and cycle is None:
            nxt = []
            for v in queue:
                for w in sorted(graph.get(v, ())):
                    if w == start:
                        path = [v]
                        while prev[path[-1]] is not None:
                            path.append(prev[path[-1]])
                        cycle = list(reversed(path))
                        break
                    if w in members and w not in prev:
                        prev[w] = v
                        nxt.append(w)
                if cycle:
                    break
            queue = nxt
        found.append((cycle, comp))
    return found


if __name__ == "__main__":
    sys.exit(main())
