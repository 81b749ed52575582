#!/usr/bin/env python3
"""bench_report.py: read the Google Benchmark JSON written by pollstorm's suites
(and by the Go peer, bench/go/peer.go, which writes the same shape).

  bench_report.py ratios [--markdown] RUN [RUN ...]
      1. Each benchmark against its physical baseline measured in the same run.
      2. Derived ratios: the goals against Go's netpoll (pipe round trip,
         deadline re-arm, deadline lateness), park/unpark and deadline figures
         against their baselines, the cost of the `fixed` audit (fixed/seed,
         fixed/legacy) and scaling with descriptors and threads.
      --markdown prints both tables as Markdown (reports/BENCH-FIGURES.md).
  bench_report.py compare OLD NEW [--threshold 1.10] [--alpha 0.01]
      The same benchmarks across two runs: median ratio NEW/OLD and a
      Mann-Whitney U test over the repetitions. Exit 1 if any benchmark is
      slower by more than the threshold with p < alpha.

RUN, OLD and NEW are JSON files, or directories of them (one run of
scripts/pollstorm bench: reports/runs/bench-<UTC>/). Benchmarks are matched
by name without Google Benchmark's decorations (/iterations:N,
/process_time, /real_time, ...), so runs of older and newer suites still
compare. Times are medians over the repetitions, in ns.

Exit: 0 fine, 1 regression (compare), 2 bad input (the message names it).
Run the suites with --benchmark_repetitions=N (N >= 5 for compare) and
--benchmark_out=FILE --benchmark_out_format=json.
"""
import glob
import json
import math
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strictio  # noqa: E402  (scripts/strictio.py: strict inputs, exit 2/3)
from strictio import shown  # noqa: E402

PLACEMENT = {"0": "same core", "1": "cross core", "2": "unpinned"}
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
# Name segments Google Benchmark appends that do not identify a benchmark.
DECORATION = re.compile(r"^(iterations:\d+|repeats:\d+|threads:\d+|min_time:[\d.]+s?|"
                        r"min_warmup_time:[\d.]+s?|process_time|real_time|manual_time)$")
LATENESS = ("late_median_ns", "late_p99_ns")

# Per-benchmark baselines: (pattern on the key, baseline template over the
# match's groups, metric). The metric is what the ratio divides.
BASELINES = [
    (r"^BM_PollDescPingPong<\w+>/placement:(\d)$", "BM_FutexPingPong/placement:{0}", "real_time"),
    (r"^BM_(?:AtomicWait|CondVar)PingPong/placement:(\d)$", "BM_FutexPingPong/placement:{0}",
     "real_time"),
    (r"^BM_(?:PipePingPong<\w+>|PipePingPongWaiterPolls<\w+>|GoPipePingPong)/placement:(\d)$",
     "BM_EventfdEpollPingPong/placement:{0}", "real_time"),
    (r"^BM_Reset<\w+>$", "BM_Baseline_SeqCstStore", "real_time"),
    (r"^BM_(?:ConsumeReady|ReadyCoalesced|DeadlineAddDelete|DeadlineModify|OpenUnblockClose)<\w+>$",
     "BM_Baseline_Cas", "real_time"),
    (r"^BM_(?:FdDeadlineModify<\w+>|GoDeadlineModify)$", "BM_Baseline_TimerfdRearm", "real_time"),
    (r"^BM_(?:Lateness_PollDesc<\w+>|Lateness_FdPipe<\w+>|Lateness_Timerfd|GoLateness)$",
     "BM_Lateness_TimedFutex", "late_median_ns"),
]


strictio.set_prog("bench_report")
fail = strictio.fail


def key_of(name):
    """The benchmark's identity: its name without Google Benchmark's decorations."""
    return "/".join(p for p in name.split("/") if not DECORATION.match(p))


def number(b, field, path, i):
    """A figure: a finite number > 0 (a zero or negative time divides by zero
    in a ratio and has no logarithm in a geometric mean)."""
    v = b.get(field)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        fail(f"'{shown(path)}': benchmark #{i} ('{shown(b.get('name'))}') has no numeric '{field}'")
    if v <= 0:
        fail(f"'{shown(path)}': benchmark #{i} ('{shown(b.get('name'))}') has '{field}' {v}: "
             f"figures must be positive")
    return float(v)


def load(path):
    """{key: [repetition rows]}, times converted to ns; exit 2 on bad input."""
    data = strictio.load_json(path, "benchmark JSON")
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        fail(f"'{shown(path)}' is not Google Benchmark JSON output (no 'benchmarks' list)")
    runs = {}
    for i, b in enumerate(data["benchmarks"]):
        if not isinstance(b, dict) or not isinstance(b.get("name"), str):
            fail(f"'{shown(path)}': benchmark #{i} is not an object with a 'name'")
        for field in ("run_name", "run_type", "time_unit"):
            if field in b and not isinstance(b[field], str):
                fail(f"'{shown(path)}': benchmark #{i} ('{shown(b['name'])}'): '{field}' is not a string")
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        unit = b.get("time_unit", "ns")
        if unit not in UNIT_NS:
            fail(f"'{shown(path)}': benchmark #{i} ('{shown(b['name'])}') has unknown time_unit '{shown(unit)}'")
        row = dict(b)
        for field in ("real_time", "cpu_time"):
            row[field] = number(b, field, path, i) * UNIT_NS[unit]
        for field in LATENESS + ("items_per_second",):
            if field in b:
                row[field] = number(b, field, path, i)
        if row.get("items_per_second"):
            row["ns_per_item"] = 1e9 / row["items_per_second"]
        runs.setdefault(key_of(b.get("run_name") or b["name"]), []).append(row)
    if not runs:
        fail(f"'{path}' has no benchmark runs")
    return runs


def expand(paths):
    """JSON files as given; a directory (a run of scripts/pollstorm bench) stands
    for the *.json files in it."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            inside = sorted(glob.glob(os.path.join(glob.escape(p), "*.json")))
            if not inside:
                fail(f"directory '{shown(p)}' has no *.json files")
            files.extend(inside)
        else:
            files.append(p)
    return files


def load_all(paths):
    """Every file's runs together (a run's suites are one file each)."""
    files = expand(paths)
    if not files:
        fail("no JSON files given")
    runs = {}
    for p in files:
        for k, rows in load(p).items():
            runs.setdefault(k, []).extend(rows)
    return runs


def median(runs, key, metric="real_time"):
    vals = [r[metric] for r in runs.get(key, []) if metric in r]
    return statistics.median(vals) if vals else None


def placement_of(key):
    m = re.search(r"placement:(\d)", key)
    return PLACEMENT.get(m.group(1)) if m else None


def ratio_rows(paths, runs=None):
    """One row per benchmark: key, medians (real, cpu, counters), its baseline
    and the ratio to it (None for baselines and benchmarks without one)."""
    runs = runs if runs is not None else load_all(paths)
    rows = []
    for name in sorted(runs, key=natural):
        times = [r["real_time"] for r in runs[name]]
        row = {"name": name, "median": median(runs, name), "cpu": median(runs, name, "cpu_time"),
               "unit": "ns", "baseline": None, "ratio": None, "reps": len(times),
               "min": min(times), "max": max(times)}
        for pat, tmpl, metric in BASELINES:
            m = re.match(pat, name)
            if m:
                base = tmpl.format(*m.groups())
                num, den = median(runs, name, metric), median(runs, base, metric)
                if num is not None and den:
                    row.update(baseline=base, ratio=num / den, metric=metric)
                break
        if placement_of(name):
            row["placement"] = placement_of(name)
        for c in LATENESS + ("ns_per_item",):
            if median(runs, name, c) is not None:
                row[c] = median(runs, name, c)
        rows.append(row)
    return rows


# ---- derived ratios ---------------------------------------------------------

AUDIT = "Cost of the fixed audit (fixed / older variant; lower is better)"


def audit_kind(name):
    """Single-threaded hot paths, or benchmarks that park and wake threads."""
    return "park/unpark and scaling" if "placement:" in name else "hot paths"


GO_NOTE = "no Go figure in this run (no 'go' on PATH, or filtered out)"


def natural(name):
    """Sort key: numbers in names compare as numbers (waiters:8 < waiters:64)."""
    return [(0, int(x), "") if x.isdigit() else (1, 0, x) for x in re.split(r"(\d+)", name)]


def spec(group, label, num, den, metric="real_time", goal=None, note=None):
    """A derived ratio num/den on metric. goal: ('>=', g) or ('<=', g)."""
    return {"group": group, "label": label, "num": num, "den": den, "metric": metric,
            "goal": goal, "note": note}


def derived_specs(runs):
    out = []
    g = "Go netpoll peer (goals)"
    for p in "012":
        where = PLACEMENT[p]
        note = GO_NOTE if p != "1" else \
            "Go pins no goroutine to a core without LockOSThread (bench/go/peer.go)"
        out.append(spec(g, f"pipe round trip, Go / PollDesc<Fixed> [{where}]",
                        f"BM_GoPipePingPong/placement:{p}", f"BM_PipePingPong<Fixed>/placement:{p}",
                        goal=(">=", 1.3), note=note))
        out.append(spec(g, f"pipe round trip process CPU, Go / PollDesc<Fixed> [{where}]",
                        f"BM_GoPipePingPong/placement:{p}", f"BM_PipePingPong<Fixed>/placement:{p}",
                        metric="cpu_time", note=note))
        # The waiter polls (issue #17): the same goals on that mode.
        out.append(spec(g, f"pipe round trip, Go / PollDesc<Fixed> waiter-polls [{where}]",
                        f"BM_GoPipePingPong/placement:{p}",
                        f"BM_PipePingPongWaiterPolls<Fixed>/placement:{p}",
                        goal=(">=", 1.3) if p == "0" else None, note=note))
    g_w = "Waiter polls (issue #17 goals)"
    for p in "012":
        out.append(spec(g_w, f"PipePingPongWaiterPolls<Fixed> / EventfdEpollPingPong [{PLACEMENT[p]}]",
                        f"BM_PipePingPongWaiterPolls<Fixed>/placement:{p}",
                        f"BM_EventfdEpollPingPong/placement:{p}", goal=("<=", 1.2)))
        out.append(spec(g_w, f"PipePingPongWaiterPolls<Fixed> / PipePingPong<Fixed> (thread) [{PLACEMENT[p]}]",
                        f"BM_PipePingPongWaiterPolls<Fixed>/placement:{p}",
                        f"BM_PipePingPong<Fixed>/placement:{p}"))
    out.append(spec(g_w, "PipePingPongWaiterPolls<Fixed>: unpinned / same core",
                    "BM_PipePingPongWaiterPolls<Fixed>/placement:2",
                    "BM_PipePingPongWaiterPolls<Fixed>/placement:0", goal=("<=", 2.0)))
    out.append(spec(g, "read deadline re-arm, Fd<Fixed>.SetDeadline / Go SetReadDeadline",
                    "BM_FdDeadlineModify<Fixed>", "BM_GoDeadlineModify", goal=("<=", 0.5),
                    note=GO_NOTE))
    out.append(spec(g, "deadline re-arm, bare PollDesc<Fixed>.SetDeadline / Go SetReadDeadline",
                    "BM_DeadlineModify<Fixed>", "BM_GoDeadlineModify", note=GO_NOTE))
    for c, what in zip(LATENESS, ("median", "p99")):
        out.append(spec(g, f"100 us deadline lateness {what}, Go / Fd<Fixed> pipe read",
                        "BM_GoLateness", "BM_Lateness_FdPipe<Fixed>", c, (">=", 20), GO_NOTE))
        out.append(spec(g, f"100 us deadline lateness {what}, Go / PollDesc<Fixed> wait",
                        "BM_GoLateness", "BM_Lateness_PollDesc<Fixed>", c, note=GO_NOTE))

    g = "Park/unpark round trip (lower is better)"
    for p in "012":
        where = PLACEMENT[p]
        for num, den in (("BM_PollDescPingPong<Fixed>", "BM_FutexPingPong"),
                         ("BM_PollDescPingPong<Fixed>", "BM_AtomicWaitPingPong"),
                         ("BM_PollDescPingPong<Fixed>", "BM_CondVarPingPong"),
                         ("BM_PipePingPong<Fixed>", "BM_EventfdEpollPingPong")):
            out.append(spec(g, f"{num[3:]} / {den[3:]} [{where}]",
                            f"{num}/placement:{p}", f"{den}/placement:{p}"))

    g = "Deadlines (lower is better)"
    for num in ("BM_DeadlineModify<Fixed>", "BM_FdDeadlineModify<Fixed>", "BM_GoDeadlineModify"):
        out.append(spec(g, f"{num[3:]} / timerfd_settime re-arm", num, "BM_Baseline_TimerfdRearm"))
    for c, what in zip(LATENESS, ("median", "p99")):
        for num in ("BM_Lateness_PollDesc<Fixed>", "BM_Lateness_FdPipe<Fixed>", "BM_GoLateness"):
            for den in ("BM_Lateness_TimedFutex", "BM_Lateness_Timerfd"):
                out.append(spec(g, f"lateness {what}: {num[12:] if 'Lateness_' in num else 'Go'}"
                                   f" / {den[12:]}", num, den, c))

    for name in sorted(runs, key=natural):
        if "<Fixed>" not in name:
            continue
        metric = "ns_per_item" if median(runs, name, "ns_per_item") is not None else "real_time"
        for older in ("Seed", "Legacy"):
            other = name.replace("<Fixed>", f"<{older}>")
            if other in runs:
                out.append(dict(spec(AUDIT, f"{name} / {older.lower()}", name, other, metric),
                                older=older.lower(), kind=audit_kind(name)))

    # Go's current code against the audit: tip / fixed on every benchmark
    # both ran (the packed info word and fdseq against separate atomics).
    g_tip = "Tip against fixed (tip / fixed; lower is better)"
    for name in sorted(runs, key=natural):
        if "<Fixed>" not in name:
            continue
        other = name.replace("<Fixed>", "<Tip>")
        if other in runs:
            metric = "ns_per_item" if median(runs, name, "ns_per_item") is not None else "real_time"
            out.append(spec(g_tip, f"{other} / fixed", other, name, metric))

    g = "Scaling (ns per item; ratio to the smallest size; unpinned)"
    for name in sorted(runs, key=natural):
        m = re.match(r"^(BM_(?:ReadyStorm|FanOutPingPong)<Fixed>)/(waiters|partners):(\d+)/(.*)$",
                     name)
        if m:
            smallest = f"{m.group(1)}/{m.group(2)}:1/{m.group(4)}"
            out.append(spec(g, f"{name[3:]} / {m.group(2)}:1", name, smallest, "ns_per_item"))
    return out


def verdict(value, goal):
    if goal is None or value is None:
        return ""
    op, g = goal
    if op == ">=":
        return "met" if value >= g else f"MISSED ({g / value:.2f}x short)"
    return "met" if value <= g else f"MISSED ({value / g:.2f}x over)"


def derived_rows(paths, runs=None):
    """The derived ratio rows (group, label, value, figures, goal, verdict)."""
    runs = runs if runs is not None else load_all(paths)
    rows = []
    for s in derived_specs(runs):
        num, den = median(runs, s["num"], s["metric"]), median(runs, s["den"], s["metric"])
        row = dict(s, num_value=num, den_value=den,
                   value=num / den if num is not None and den else None)
        if row["value"] is None:
            if s["note"] is None and (s["num"] in runs or s["den"] in runs):
                row["note"] = f"missing: {s['den'] if s['num'] in runs else s['num']}"
            elif s["note"] is None:
                continue  # neither side ran (a filter): nothing to say
            elif s["num"] not in runs and s["den"] not in runs:
                continue
        row["goal_text"] = f"{s['goal'][0]} {s['goal'][1]}x" if s["goal"] else ""
        row["verdict"] = verdict(row["value"], s["goal"])
        rows.append(row)
    return rows + audit_geomeans(rows)


def audit_geomeans(rows):
    """The audit's cost in one figure per kind and older variant: the
    geometric mean of its fixed/older ratios."""
    out = []
    for kind in ("hot paths", "park/unpark and scaling"):
        for older in ("seed", "legacy"):
            vals = [r["value"] for r in rows if r.get("kind") == kind and r.get("older") == older
                    and r["value"] is not None]
            if len(vals) >= 2:
                gm = math.exp(sum(math.log(v) for v in vals) / len(vals))
                out.append({"group": AUDIT, "label": f"geometric mean, {kind} ({len(vals)}) / {older}",
                            "metric": "geomean", "value": gm, "num_value": None, "den_value": None,
                            "goal": None, "goal_text": "", "verdict": "", "note": None})
    return out


def fmt_ns(v):
    if v is None:
        return "-"
    if v >= 1e6:
        return f"{v / 1e6:.2f} ms"
    if v >= 1e3:
        return f"{v / 1e3:.2f} us"
    return f"{v:.1f} ns"


def md(text):
    """Markdown cell text: <Fixed> would otherwise render as an HTML tag."""
    return (text.replace("<", "&lt;").replace(">", "&gt;").replace("&gt;=", "≥")
            .replace("&lt;=", "≤"))


def print_tables(runs, markdown):
    rows = ratio_rows(None, runs)
    used = {r["baseline"] for r in rows if r["ratio"] is not None}
    if markdown:
        print("| benchmark | real (median) | real min..max | process CPU | baseline | ratio "
              "| placement | extra |")
        print("|---|---|---|---|---|---|---|---|")
    else:
        print(f"{'benchmark':<58} {'real':>10} {'min..max':>21} {'cpu':>10}  {'baseline':<36} "
              f"{'ratio':>8}")
    for r in rows:
        extra = "  ".join(f"{c}={fmt_ns(r[c])}" for c in LATENESS + ("ns_per_item",) if c in r)
        base = r["baseline"] if r["ratio"] is not None else "(baseline)" if r["name"] in used else ""
        spread = f"{fmt_ns(r['min'])}..{fmt_ns(r['max'])}"
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else ""
        if r.get("metric", "real_time") != "real_time" and ratio:
            ratio += f" ({r['metric']})"
        if markdown:
            base = f"`{base}`" if base.startswith("BM_") else base
            print(f"| `{r['name']}` | {fmt_ns(r['median'])} | {spread} | {fmt_ns(r['cpu'])} | {base} "
                  f"| {ratio} | {r.get('placement', '')} | {extra} |")
        else:
            line = (f"{r['name']:<58} {fmt_ns(r['median']):>10} {spread:>21} {fmt_ns(r['cpu']):>10}  "
                    f"{base:<36} {ratio:>8}")
            if "placement" in r:
                line += f"  [{r['placement']}]"
            print(line + (f"  {extra}" if extra else ""))
    print()
    group = None
    for d in derived_rows(None, runs):
        if d["group"] != group:
            group = d["group"]
            if markdown:
                print(f"\n**{md(group)}**\n")
                print("| ratio | value | numerator | denominator | goal | verdict |")
                print("|---|---|---|---|---|---|")
            else:
                print(f"\n== {group}")
        value = f"{d['value']:.2f}x" if d["value"] is not None else "n/a"
        verdict_text = d["verdict"] or (d["note"] if d["value"] is None else "")
        if markdown:
            print(f"| {md(d['label'])} ({d['metric']}) | {value} | {fmt_ns(d['num_value'])} "
                  f"| {fmt_ns(d['den_value'])} | {md(d['goal_text'])} | {md(verdict_text)} |")
        else:
            print(f"  {d['label'] + ' (' + d['metric'] + ')':<86} {value:>8}  "
                  f"{fmt_ns(d['num_value']):>10} / {fmt_ns(d['den_value']):<10} "
                  f"{d['goal_text']:>8} {verdict_text}")
    return 0


def mann_whitney_p(a, b):
    """Two-sided p-value, normal approximation with tie correction."""
    n1, n2 = len(a), len(b)
    allv = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(allv)
    i = 0
    ties = 0.0
    while i < len(allv):
        j = i
        while j + 1 < len(allv) and allv[j + 1][0] == allv[i][0]:
            j += 1
        r = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[k] = r
        t = j - i + 1
        ties += t ** 3 - t
        i = j + 1
    r1 = sum(r for r, (_, g) in zip(ranks, allv) if g == 0)
    u1 = r1 - n1 * (n1 + 1) / 2
    mu = n1 * n2 / 2
    n = n1 + n2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))) if n > 1 else 0
    if sigma == 0:
        return 1.0
    z = (abs(u1 - mu) - 0.5) / sigma
    return math.erfc(max(z, 0) / math.sqrt(2))


def compare(old_path, new_path, threshold, alpha):
    old, new = load_all([old_path]), load_all([new_path])
    common = sorted(set(old) & set(new))
    if not common:
        fail(f"'{shown(old_path)}' and '{shown(new_path)}' share no benchmark names")
    regressions = 0
    print(f"{'benchmark':<58} {'old':>11} {'new':>11} {'new/old':>8} {'p':>7}")
    for name in common:
        a = [r["real_time"] for r in old[name]]
        b = [r["real_time"] for r in new[name]]
        ratio = statistics.median(b) / statistics.median(a)
        p = mann_whitney_p(a, b) if len(a) > 1 and len(b) > 1 else float("nan")
        flag = ""
        if ratio > threshold and p < alpha:
            flag = "  REGRESSION"
            regressions += 1
        elif ratio < 1 / threshold and p < alpha:
            flag = "  faster"
        print(f"{name:<58} {statistics.median(a):>11.1f} {statistics.median(b):>11.1f} "
              f"{ratio:>7.2f}x {p:>7.3f}{flag}")
    if any(len(v) < 5 for v in list(old.values()) + list(new.values())):
        print("note: fewer than 5 repetitions somewhere; p-values are weak", file=sys.stderr)
    print(f"{regressions} regression(s) (ratio > {threshold} with p < {alpha})")
    return 1 if regressions else 0


def main(argv):
    if len(argv) < 2:
        fail("expected a command: ratios or compare (see --help)")
    if argv[1] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    cmd = argv[1]
    if cmd == "ratios":
        args = argv[2:]
        markdown = "--markdown" in args
        files = [a for a in args if a != "--markdown"]
        for a in files:
            if a.startswith("-"):
                fail(f"unknown option '{shown(a)}' (ratios takes --markdown)")
        if not files:
            fail("ratios needs at least one JSON file")
        return print_tables(load_all(files), markdown)
    if cmd == "compare":
        args = argv[2:]
        threshold, alpha = 1.10, 0.01
        files = []
        i = 0
        while i < len(args):
            if args[i] in ("--threshold", "--alpha"):
                if i + 1 >= len(args):
                    fail(f"{args[i]} needs a value")
                # A threshold below 1 would call every benchmark slower; alpha
                # is a probability.
                if args[i] == "--threshold":
                    threshold = strictio.parse_float(args[i], args[i + 1], 1.0, 1000.0,
                                                     "a ratio in 1..1000 (e.g. 1.10)")
                else:
                    alpha = strictio.parse_float(args[i], args[i + 1], 1e-12, 1.0,
                                                 "a probability in (0, 1] (e.g. 0.01)")
                i += 2
            elif args[i].startswith("-"):
                fail(f"unknown option '{shown(args[i])}'")
            else:
                files.append(args[i])
                i += 1
        if len(files) != 2:
            fail("compare needs exactly two runs (JSON files or run directories): OLD NEW")
        return compare(files[0], files[1], threshold, alpha)
    fail(f"unknown command '{shown(cmd)}' (ratios, compare)")


if __name__ == "__main__":
    strictio.run(main)  # internal errors exit 3: compare's 1 means a regression, nothing else
