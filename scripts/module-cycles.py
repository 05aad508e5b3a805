#!/usr/bin/env python3
"""Finds import cycles between the source files of a Rust crate.

A file depends on another when it names it through `crate::a::b`,
`super::x` or `self::x` paths (in `use` lines and in code), and a module
file depends on the children it declares (`mod x;`), through which paths to
their items pass. Files are
modules: `src/a/mod.rs` is `a`, `src/a/b.rs` is `a::b`. Prints every cycle
(strongly connected component of two or more files) and exits 1 if there is
one; `--allow N` tolerates components of up to N files.

    python3 scripts/module-cycles.py crates/offline-auth/src
"""
import argparse
import os
import re
import sys


def module_of(root, path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


def strip_comments_and_tests(text):
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    # Unit-test modules may reach anywhere; they are not part of the layering.
    cut = re.search(r"#\[cfg\(test\)\]\s*mod\s+tests", text)
    return text[: cut.start()] if cut else text


def resolve(modules, base, parts):
    """The longest known module that `base` + `parts` names."""
    for n in range(len(parts), -1, -1):
        candidate = tuple(base) + tuple(parts[:n])
        if candidate in modules:
            return candidate
    return None


def paths_in(text):
    # crate::a::b, super::super::x, self::x, and `use` groups one level deep,
    # also right after the head (`super::{a, b}`, `crate::{a::X, b}`).
    # `pub(in crate::a)` is a visibility restriction, not a dependency.
    text = re.sub(r"\bpub\s*\(\s*in\s+[\w:]+\s*\)", "pub", text)
    for m in re.finditer(r"\b(crate|super|self)((?:::\w+)*)(::\{([^}]*)\})?", text):
        head = m.group(1)
        parts = [p for p in m.group(2).split("::") if p]
        if parts:
            yield head, parts
        if m.group(4):
            for item in m.group(4).split(","):
                item = item.strip().split(" as ")[0]
                if item and item != "self" and re.fullmatch(r"[\w:]+", item):
                    yield head, parts + item.split("::")


def graph(root):
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(dirpath, name)
                files[module_of(root, path)] = path
    edges = {m: set() for m in files}
    for mod, path in files.items():
        is_dir_module = os.path.basename(path) in ("mod.rs", "lib.rs", "main.rs")
        here = mod if is_dir_module else mod[:-1]  # the module `self` resolves against
        text = strip_comments_and_tests(open(path, encoding="utf-8").read())
        # A module depends on the children it declares and re-exports
        # (`mod x;`, `pub use x::Y;`): that is how `crate::a::Y` reaches
        # the file that defines `Y`.
        if is_dir_module:
            for child in re.findall(r"\bmod\s+(\w+)\s*;", text):
                if mod + (child,) in files:
                    edges[mod].add(mod + (child,))
        for head, parts in paths_in(text):
            if head == "crate":
                base = ()
            else:
                # `self::` is this module; each `super` (the head and any
                # that follow it) goes up one level.
                ups = 1 if head == "super" else 0
                while parts and parts[0] == "super":
                    parts = parts[1:]
                    ups += 1
                base = mod[: len(mod) - ups] if ups <= len(mod) else None
                if base is None:
                    continue
            target = resolve(files, base, parts)
            if target is not None and target != mod and target != ():
                edges[mod].add(target)
    return edges


def components(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
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
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("src")
    parser.add_argument("--allow", type=int, default=1)
    args = parser.parse_args()
    edges = graph(args.src)
    cycles = [sorted(c) for c in components(edges) if len(c) > max(1, args.allow)]
    name = lambda m: "::".join(m) or "lib"
    for cycle in cycles:
        print(f"cycle of {len(cycle)} files: " + ", ".join(name(m) for m in cycle))
    print(f"{args.src}: {len(edges)} files, {len(cycles)} cycles")
    sys.exit(1 if cycles else 0)


if __name__ == "__main__":
    main()
