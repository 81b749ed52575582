#!/usr/bin/env python3
"""bench_report.py: read Google Benchmark JSON output written by pollstorm's suites.

  bench_report.py ratios RUN.json [RUN.json ...]
      Each benchmark against its physical baseline measured in the same run
      (the table the README and the nightly report quote).
  bench_report.py compare OLD.json NEW.json [--threshold 1.10] [--alpha 0.01]
      The same benchmarks across two runs: median ratio NEW/OLD and a
      Mann-Whitney U test over the repetitions. Exit 1 if any benchmark is
      slower by more than the threshold with p < alpha.

Exit: 0 fine, 1 regression (compare), 2 bad input (the message names it).
Run the suites with --benchmark_repetitions=N (N >= 5 for compare) and
--benchmark_out=FILE --benchmark_out_format=json.
"""
import json
import math
import re
import statistics
import sys

# (pattern, baseline template). The template uses the match's groups.
BASELINES = [
    (r"^BM_PollDescPingPong<(\w+)>/placement:(\d)", "BM_FutexPingPong/placement:{1}"),
    (r"^BM_AtomicWaitPingPong/placement:(\d)", "BM_FutexPingPong/placement:{0}"),
    (r"^BM_CondVarPingPong/placement:(\d)", "BM_FutexPingPong/placement:{0}"),
    (r"^BM_PipePingPong<(\w+)>/placement:(\d)", "BM_EventfdEpollPingPong/placement:{1}"),
    (r"^BM_Reset<(\w+)>", "BM_Baseline_SeqCstStore"),
    (r"^BM_(ConsumeReady|ReadyCoalesced|DeadlineAddDelete|DeadlineModify|OpenUnblockClose)<(\w+)>",
     "BM_Baseline_Cas"),
    (r"^BM_Lateness_PollDesc<(\w+)>", "BM_Lateness_TimedFutex"),
    (r"^BM_Lateness_Timerfd", "BM_Lateness_TimedFutex"),
]
PLACEMENT = {"0": "same core", "1": "cross core", "2": "unpinned"}


def fail(msg):
    print(f"bench_report: {msg}", file=sys.stderr)
    sys.exit(2)


def load(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except OSError as e:
        fail(f"cannot read '{path}': {e.strerror}")
    except json.JSONDecodeError as e:
        fail(f"'{path}' is not JSON ({e.msg}, line {e.lineno})")
    if not isinstance(data, dict) or "benchmarks" not in data:
        fail(f"'{path}' is not Google Benchmark JSON output (no 'benchmarks')")
    runs = {}  # name -> list of iteration rows (repetitions)
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" or "error_occurred" in b and b["error_occurred"]:
            continue
        runs.setdefault(b["run_name"] if "run_name" in b else b["name"], []).append(b)
    if not runs:
        fail(f"'{path}' has no benchmark runs")
    return runs


def median_of(rows, key="real_time"):
    vals = [r[key] for r in rows if key in r]
    return statistics.median(vals) if vals else None


def ratio_rows(paths):
    """One row per benchmark: name, median, unit, baseline, ratio, counters."""
    runs = {}
    for p in paths:
        runs.update(load(p))
    rows = []
    for name in sorted(runs):
        base = None
        for pat, tmpl in BASELINES:
            m = re.match(pat, name)
            if m:
                base = tmpl.format(*m.groups())
                break
        med = median_of(runs[name])
        row = {"name": name, "median": med, "unit": runs[name][0].get("time_unit", "ns"),
               "baseline": base if base in runs else None, "ratio": None}
        if base in runs:
            row["ratio"] = med / median_of(runs[base])
        pm = re.search(r"placement:(\d)", name)
        if pm:
            row["placement"] = PLACEMENT[pm.group(1)]
        for c in ("late_median_ns", "late_p99_ns"):
            if c in runs[name][0]:
                row[c] = median_of(runs[name], c)
        rows.append(row)
    return rows


def ratios(paths):
    print(f"{'benchmark':<48} {'median':>12} {'baseline':<34} {'ratio':>7}")
    for r in ratio_rows(paths):
        line = f"{r['name']:<48} {r['median']:>10.1f}{r['unit']:>2} "
        if r["ratio"] is not None:
            line += f"{r['baseline']:<34} {r['ratio']:>6.2f}x"
        else:
            line += f"{'(baseline)':<34}"
        if "placement" in r:
            line += f"  [{r['placement']}]"
        for c in ("late_median_ns", "late_p99_ns"):
            if c in r:
                line += f"  {c}={r[c]:.0f}"
        print(line)
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
    old, new = load(old_path), load(new_path)
    common = sorted(set(old) & set(new))
    if not common:
        fail(f"'{old_path}' and '{new_path}' share no benchmark names")
    regressions = 0
    print(f"{'benchmark':<48} {'old':>11} {'new':>11} {'new/old':>8} {'p':>7}")
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
        print(f"{name:<48} {statistics.median(a):>11.1f} {statistics.median(b):>11.1f} "
              f"{ratio:>7.2f}x {p:>7.3f}{flag}")
    if any(len(v) < 5 for v in list(old.values()) + list(new.values())):
        print("note: fewer than 5 repetitions somewhere; p-values are weak", file=sys.stderr)
    print(f"{regressions} regression(s) (ratio > {threshold} with p < {alpha})")
    return 1 if regressions else 0


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help", "help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    cmd = argv[1]
    if cmd == "ratios":
        if len(argv) < 3:
            fail("ratios needs at least one JSON file")
        return ratios(argv[2:])
    if cmd == "compare":
        args = argv[2:]
        threshold, alpha = 1.10, 0.01
        files = []
        i = 0
        while i < len(args):
            if args[i] in ("--threshold", "--alpha"):
                if i + 1 >= len(args):
                    fail(f"{args[i]} needs a value")
                try:
                    v = float(args[i + 1])
                except ValueError:
                    fail(f"{args[i]} takes a number, not '{args[i + 1]}'")
                if args[i] == "--threshold":
                    threshold = v
                else:
                    alpha = v
                i += 2
            elif args[i].startswith("--"):
                fail(f"unknown option '{args[i]}'")
            else:
                files.append(args[i])
                i += 1
        if len(files) != 2:
            fail("compare needs exactly two JSON files: OLD NEW")
        return compare(files[0], files[1], threshold, alpha)
    fail(f"unknown command '{cmd}' (ratios, compare)")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
