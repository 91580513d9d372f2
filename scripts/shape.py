#!/usr/bin/env python3
"""The code's shape, for reviews: lines per top-level module of src/, the longest functions, and
cycles between top-level modules (a `crate::x` path in module y is an edge y -> x).
Usage: python3 scripts/shape.py [--max-fn 120]  (exit 1 if a function is longer or a cycle exists)"""
import os, re, sys
from collections import defaultdict

SRC = os.environ.get("SHAPE_SRC") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
limit = int(sys.argv[sys.argv.index("--max-fn") + 1]) if "--max-fn" in sys.argv else 120

def top(path):
    rel = os.path.relpath(path, SRC)
    return rel.split(os.sep)[0].removesuffix(".rs")

lines, edges, fns = defaultdict(int), defaultdict(set), []
fn_re = re.compile(r"^(\s*)(pub(\([^)]*\))? )?(const )?(async )?(unsafe )?fn (\w+)")
for root, _, files in os.walk(SRC):
    for f in files:
        if not f.endswith(".rs"):
            continue
        path = os.path.join(root, f)
        text = open(path, encoding="utf-8").read().splitlines()
        module = top(path)
        lines[module] += len(text)
        in_tests = False
        for i, line in enumerate(text):
            if line.startswith("#[cfg(test)]"):
                in_tests = True
            for m in re.finditer(r"crate::(\w+)", line):
                if m.group(1) != module and not in_tests:
                    edges[module].add(m.group(1))
            m = fn_re.match(line)
            if m and not line.rstrip().endswith(";"):
                indent = m.group(1)
                for j in range(i, len(text)):
                    if text[j] == indent + "}" or (j > i and text[j].rstrip() == indent + "}"):
                        fns.append((j - i + 1, f"{os.path.relpath(path, SRC)}:{i + 1} {m.group(7)}"))
                        break
                    if j == i and line.rstrip().endswith("}"):
                        break
        # `use super::` inside a top-level file's submodules stays inside the module.

def cycles():
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in lines:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(tuple(sorted(group)))
    for v in sorted(lines):
        if v not in index:
            strong(v)
    return out

print("| module | lines |\n| --- | ---: |")
for m, n in sorted(lines.items(), key=lambda x: -x[1]):
    print(f"| {m} | {n} |")
print(f"| all | {sum(lines.values())} |")
print("\nlongest functions:")
for n, where in sorted(fns, reverse=True)[:10]:
    print(f"  {n:4} {where}")
cyc = cycles()
print("\nmodules in a cycle:", "none" if not cyc else "")
for c in cyc:
    print("  " + ", ".join(c))
long = [f for f in fns if f[0] > limit]
sys.exit(1 if long or cyc else 0)
