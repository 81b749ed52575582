#!/usr/bin/env python3
"""mutants_net.py: the net, across every kill matrix the project has run.

Usage: scripts/mutants_net.py [--markdown PATH] MATRIX.json [MATRIX.json ...]

Each MATRIX.json is what `scripts/pollstorm mutate --json` wrote. They are
merged in the order given: a later file's cell (mutant x mode) replaces an
earlier one's, so list older matrices first. For every mutant in
mutants/*.patch: which modes killed it (its witnesses) and how fast, which
modes were never run on it, and the net's figures: mutants killed, mutants
with fewer than two witnesses, the median of the fastest kill per mutant.
Mutants argued equivalent (mutants/equivalent.txt) are listed apart.
Exit: 0, or 2 on a bad argument or an unreadable matrix.
"""
import json
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import mutate  # noqa: E402  (the mutant list, modes and equivalents, defined once)


def fail(msg):
    print(f"mutants_net: {msg}", file=sys.stderr)
    sys.exit(2)


def read_matrix(path):
    """The (mutant, mode, cell) triples of one `mutate --json` file; any other
    shape is a usage error naming the file and what is wrong."""
    if not os.path.isfile(path):
        fail(f"matrix '{path}' is not a regular file" if os.path.exists(path)
             else f"cannot read matrix '{path}': no such file")
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except RecursionError:
        fail(f"cannot read matrix '{path}': nested too deeply")
    except UnicodeDecodeError:
        fail(f"cannot read matrix '{path}': it is not UTF-8 text")
    except (OSError, ValueError) as e:
        fail(f"cannot read matrix '{path}': {str(e)[:200]}")
    ms = d.get("mutants") if isinstance(d, dict) else None
    if not isinstance(ms, dict):
        fail(f"'{path}' is not a kill matrix: no \"mutants\" object (write one with mutate --json)")
    out = []
    for name, r in ms.items():
        modes = r.get("modes") if isinstance(r, dict) else None
        if not isinstance(modes, dict):
            fail(f"'{path}': mutant '{name}' has no \"modes\" object")
        for mode, cell in modes.items():
            if not (isinstance(cell, dict) and isinstance(cell.get("result"), str) and
                    isinstance(cell.get("seconds", 0), (int, float))):
                fail(f"'{path}': mutant '{name}', mode '{mode}': a cell needs a \"result\" "
                     "string and numeric \"seconds\"")
            out.append((name, mode, cell))
    return out


def main(argv):
    md, files = None, []
    i = 0
    while i < len(argv):
        if argv[i] == "--markdown":
            if i + 1 >= len(argv):
                fail("--markdown needs a path")
            md = argv[i + 1]
            i += 2
        elif argv[i].startswith("-"):
            fail(f"unknown option '{argv[i]}'")
        else:
            files.append(argv[i])
            i += 1
    if not files:
        fail("give at least one matrix JSON (mutants/*.json)")
    if md is not None:
        # Checked before any work: a bad path fails with nothing written.
        parent = os.path.dirname(os.path.abspath(md))
        if os.path.isdir(md):
            fail(f"--markdown '{md}' is a folder, not a file")
        if not os.path.isdir(parent):
            fail(f"--markdown '{md}': no folder '{parent}' to write it in")
        if os.path.exists(md) and not os.path.isfile(md):
            fail(f"--markdown '{md}' exists and is not a regular file")
    cells = {}
    for path in files:
        for name, mode, cell in read_matrix(path):
            if cell["result"] in ("killed", "survived"):
                cells.setdefault(name, {})[mode] = dict(cell, source=os.path.basename(path))
    all_m = mutate.mutants()
    eq = mutate.equivalents()
    rows, fastest, thin = [], [], []
    for name in sorted(all_m):
        c = cells.get(name, {})
        kills = sorted(((m, x.get("seconds", 0)) for m, x in c.items() if x["result"] == "killed"),
                       key=lambda t: t[1])
        missing = [m for m in mutate.MODES if m not in c]
        if name in eq:
            rows.append((name, "equivalent", kills, missing))
            continue
        if kills:
            fastest.append(kills[0][1])
        if len(kills) < 2:
            thin.append(name)
        rows.append((name, len(kills), kills, missing))
    killed = sum(1 for r in rows if r[1] != "equivalent" and r[2])
    considered = sum(1 for r in rows if r[1] != "equivalent")
    lines = ["| mutant | witnesses | killed by (fastest first) | modes not run |", "|---|---|---|---|"]
    for name, n, kills, missing in rows:
        k = ", ".join(f"{m} {s:.1f}s" for m, s in kills) or "none"
        lines.append(f"| {name} | {n} | {k} | {', '.join(missing) or '-'} |")
    lines.append("")
    lines.append(f"Killed: {killed}/{considered} non-equivalent mutants. "
                 f"Fewer than two witnesses: {len(thin)}" + (f" ({', '.join(thin)})" if thin else "")
                 + ". Median of the fastest kill per mutant: "
                 + (f"{statistics.median(fastest):.1f} s." if fastest else "n/a."))
    lines.append("")
    lines.append("Merged from: " + ", ".join(os.path.basename(f) for f in files)
                 + " (later files' cells replace earlier ones').")
    text = "\n".join(lines) + "\n"
    if md:
        with open(md + ".tmp", "w") as f:
            f.write(text)
        os.replace(md + ".tmp", md)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
