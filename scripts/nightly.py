#!/usr/bin/python3
"""nightly.py: the nightly campaign (the main job), run by `scripts/pollstorm nightly`.

  nightly.py [--budget 12m|8h] [--inject VARIANT] [--skip STEP[,STEP...]]

Steps, in order, sharing the time budget: build (tsan, release), storms (TSan
storms on every variant: time to detect for legacy and seed, the budget's share
on every profile for each variant under test), sim (corpus/sim under PCT with
its probability bound, then generated programs), fuzz, coverage (llvm-cov of
polldesc/ by the corpus), cross, bench, mutation (a rotating handful of
mutants on a short night, all of them on a long one).
A step whose tools are not built or installed yet is recorded as "skipped"
with the reason. Each run writes reports/runs/<UTC>/ (summary.json,
index.html, findings.jsonl, and findings.sarif: every finding of the run as
SARIF 2.1.0, known ones suppressed, scripts/sarif.py) and points reports/runs/latest at it before the
first step, so an interrupted run still leaves a partial report.

The variants under test are fixed (the audited port) and tip (Go's netpoll as
it ships today): storms, sim and fuzz run on both. Findings are classified
against corpus/known-findings.txt (one signature per line): the historical
variants (legacy, seed) must be caught, and their known signatures are
"known", as are the Go bugs fixed after the seed that fixed keeps (#59545,
#33624); anything else is "new", and so is every finding on tip. --inject
VARIANT makes that variant the only one under test (its findings count as
new), to check that the report puts them first.

Exit: 0 nothing new, 1 new findings, 2 usage error, 3 a step failed.
"""
import datetime
import fcntl
import json
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strictio  # noqa: E402  (scripts/strictio.py: strict inputs, exit 2/3)
from strictio import shown  # noqa: E402
import sarif  # noqa: E402  (scripts/sarif.py: findings as SARIF 2.1.0)

strictio.set_prog("nightly")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = ["legacy", "seed", "fixed", "tip"]
# The variants under test on a normal night: the audited port and Go's current code.
UNDER_TEST = ["fixed", "tip"]
PROFILES = ["mixed", "ready", "deadline", "reuse", "io", "timers"]
STEPS = ["build", "storms", "sim", "fuzz", "coverage", "cross", "bench", "mutation"]
HISTORICAL = {"legacy", "seed"}


def usage(msg):
    print(f"nightly: {msg}\nTry 'scripts/pollstorm nightly --help'.", file=sys.stderr)
    sys.exit(2)


def parse_budget(s):
    # [0-9], not \d: \d takes any Unicode digit ('²', '١').
    m = re.fullmatch(r"([0-9]{1,9}(?:\.[0-9]{1,9})?)([smh]?)", s)
    secs = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)] if m else 0
    if not m or not 0 < secs <= 7 * 86400:
        usage(f"--budget takes a time like 12m or 8h (at most 7 days), not '{shown(s)}'")
    return secs


def check_runs_dir():
    """reports/runs must be a folder and reports/runs/latest our symlink (or
    absent): the nightly replaces `latest`, and must never replace a file or
    a folder someone put there. Exit 2 before any work otherwise."""
    runs = os.path.join(ROOT, "reports", "runs")
    if os.path.lexists(runs) and not os.path.isdir(runs):
        usage(f"'{shown(runs)}' is not a folder (the nightly writes its runs there): move it away")
    latest = os.path.join(runs, "latest")
    if os.path.lexists(latest) and not os.path.islink(latest):
        kind = "a folder" if os.path.isdir(latest) else "a file"
        usage(f"'{shown(latest)}' is {kind}, not the nightly's symlink: move it away "
              f"(the nightly would replace it)")
    for path in (latest + ".tmp",):
        if os.path.lexists(path) and not os.path.islink(path):
            usage(f"'{shown(path)}' is not the nightly's temporary symlink: move it away")


class Run:
    def __init__(self, budget_s, inject, skip):
        self.t0 = time.monotonic()
        self.budget = budget_s
        self.inject = inject
        self.skip = skip
        check_runs_dir()
        self.known = self.load_known()  # a damaged list is exit 2, before any work
        runs = os.path.join(ROOT, "reports", "runs")
        os.makedirs(runs, exist_ok=True)
        # One nightly at a time: two would share build trees and `latest`.
        self.lock = open(os.path.join(runs, ".lock"), "a")  # noqa: SIM115 (held until exit)
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            usage(f"another nightly is running (it holds '{shown(self.lock.name)}')")
        base = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        for n in range(1, 100):  # a run that started in the same second keeps its folder
            stamp = base if n == 1 else f"{base}-{n}"
            try:
                os.makedirs(os.path.join(runs, stamp), exist_ok=False)
                break
            except FileExistsError:
                continue
        else:
            usage(f"cannot find a free run folder for {base} under '{shown(runs)}'")
        self.dir = os.path.join(runs, stamp)
        latest = os.path.join(runs, "latest")
        self.prev = self.load_prev(latest)
        tmp = latest + ".tmp"
        if os.path.lexists(tmp):
            os.remove(tmp)
        os.symlink(stamp, tmp)
        os.replace(tmp, latest)
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        self.s = {"started": stamp, "budget": f"{budget_s:.0f} s", "commit": commit or "?",
                  "host": socket.gethostname(), "inject": inject, "complete": False,
                  "steps": [], "findings": [], "storms": []}
        self.save()

    def load_prev(self, latest):
        """The previous run's summary, for the benchmark trend; a missing or
        damaged one (binary, not JSON, a FIFO) only costs the trend."""
        path = os.path.join(latest, "summary.json")
        if not os.path.lexists(path):
            return None
        prev, why = strictio.try_load_json(path, "previous summary")
        if why or not isinstance(prev, dict):
            self.log(f"nightly: ignoring the previous run's summary: "
                     f"{why or 'not a JSON object'}")
            return None
        return prev

    @staticmethod
    def load_known():
        path = os.path.join(ROOT, "corpus", "known-findings.txt")
        if not os.path.lexists(path):
            return set()
        data = strictio.read_bytes(path, "known findings list", 16 << 20)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            usage(f"'{shown(path)}' is not UTF-8 text (byte {e.start}): one signature per line")
        known = set()
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                known.add(line)
        return known

    def left(self):
        return self.budget - (time.monotonic() - self.t0)

    def log(self, msg):
        el = time.monotonic() - self.t0
        print(f"[{el:7.1f}s | {max(self.left(), 0):6.0f}s left] {msg}", file=sys.stderr, flush=True)

    def save(self):
        tmp = os.path.join(self.dir, "summary.json.tmp")
        with open(tmp, "w") as f:
            json.dump(self.s, f, indent=1)
        os.replace(tmp, os.path.join(self.dir, "summary.json"))
        # findings.sarif beside it: every finding so far, with the run's verdict
        # (status known/new) as the baseline state.
        doc = sarif.from_findings(self.s["findings"], "pollstorm-nightly", known=self.known)
        tmp = os.path.join(self.dir, "findings.sarif.tmp")
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, os.path.join(self.dir, "findings.sarif"))
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "reports", "make_report.py"),
                        self.dir], check=False)

    def add_finding(self, f, step):
        """Deduplicated by signature: a repeat bumps the count and keeps the
        earliest time to detect."""
        for g in self.s["findings"]:
            if g["signature"] == f.get("signature"):
                g["count"] = g.get("count", 1) + 1
                g["after_s"] = min(g["after_s"], f.get("after_s", g["after_s"]))
                return
        # Known: a listed signature, on a variant not under the injection;
        # never on tip, where the harness hunts (every finding there is new).
        known = (f.get("signature") in self.known and f.get("variant") != "tip"
                 and f.get("variant") != self.inject)
        # Anything not known is new, including a historical variant caught by a
        # signature never seen before: new evidence that someone should read.
        f["status"] = "known" if known else "new"
        f["step"] = step
        f["count"] = 1
        self.s["findings"].append(f)
        with open(os.path.join(self.dir, "findings.jsonl"), "a") as out:
            out.write(json.dumps(f) + "\n")

    def step(self, name, fn):
        if name in self.skip:
            self.s["steps"].append({"name": name, "status": "skipped", "seconds": 0,
                                    "note": "--skip"})
            self.save()
            return
        self.log(f"step {name}: start")
        t = time.monotonic()
        try:
            status, note = fn()
        except Exception as e:  # a broken step must not lose the report
            status, note = "failed", f"internal error: {e!r}"
        rec = {"name": name, "status": status, "seconds": time.monotonic() - t, "note": note}
        self.s["steps"].append(rec)
        self.log(f"step {name}: {status} {note}")
        self.save()


def sh(cmd, timeout=None, **kw):
    return subprocess.run(cmd, cwd=ROOT, timeout=timeout, **kw)


def step_build(run):
    for preset in ("tsan", "release"):
        r = sh(["scripts/pollstorm", "build", preset], capture_output=True, text=True)
        if r.returncode != 0:
            return "failed", f"build {preset}: {r.stderr.strip()[-300:]}"
    return "ok", "tsan, release"


def storm(run, variant, profile, seconds, lane="tsan", extra=()):
    binary = os.path.join(ROOT, "build", "release" if lane == "native" else "tsan",
                          "stress", "pollstorm-storm")
    out = os.path.join(run.dir, f"storm-{variant}-{profile}-{len(run.s['storms'])}.json")
    cmd = [binary, "--variant", variant, "--profile", profile, "--duration", f"{seconds:.0f}",
           "--json", out] + list(extra)
    r = sh(cmd, capture_output=True, text=True, timeout=seconds + 120)
    try:
        with open(out) as f:
            res = json.load(f)
    except (OSError, json.JSONDecodeError):
        res = {"storm": None, "findings": []}
    fs = res.get("findings", [])
    rec = {"variant": variant, "profile": profile, "lane": lane, "exit": r.returncode,
           "summary": res.get("storm"), "findings": len(fs),
           "ttd_s": min((f["after_s"] for f in fs), default=None)}
    run.s["storms"].append(rec)
    for f in fs:
        run.add_finding(f, "storms")
    return rec


def under_test(run):
    """The variants whose findings are new: the injected one, or fixed and tip."""
    return [run.inject] if run.inject else list(UNDER_TEST)


def step_storms(run):
    variants = under_test(run)
    # Time to detect for the historical variants: a few seeds each, short.
    for v in ("legacy", "seed"):
        if v in variants:
            continue
        for seed in (1, 2, 3):
            storm(run, v, "mixed", 20, extra=["--seed", str(seed), "--stop-on-first"])
            run.log(f"  storm {v} seed {seed}: ttd {run.s['storms'][-1]['ttd_s']}")
    # The variants under test: the storms' share of what is left, over every profile.
    per = max(run.left() * 0.45 / len(PROFILES) / len(variants), 5)
    for v in variants:
        for p in PROFILES:
            rec = storm(run, v, p, per, extra=["--seed", str(int(time.time()) % 100000)])
            run.log(f"  storm {v}/{p}: {rec['findings']} finding(s), "
                    f"{(rec['summary'] or {}).get('ops_per_s', 0):,.0f} ops/s")
    # Native throughput on the same profile, for the TSan cost ratio.
    storm(run, variants[0], "mixed", 10, lane="native")
    bad = [s for s in run.s["storms"] if s["exit"] not in (0, 1)]
    if bad:
        return "failed", f"{len(bad)} storm(s) ended with an internal error"
    return "ok", f"{len(run.s['storms'])} storms"


def step_sim(run):
    """step_sim_one for each variant under test (summary keys sim, sim_tip)."""
    notes = []
    for i, v in enumerate(under_test(run)):
        status, note = step_sim_one(run, v, "sim" if i == 0 else f"sim_{v}", len(under_test(run)))
        if status != "ok":
            return status, note
        notes.append(note)
    return "ok", "; ".join(notes)


def step_sim_one(run, variant, key, shares):
    """The simulator under PCT (weak memory) on the variant under test: every
    corpus/sim program (the historical race shapes, the Fd read, the fired
    deadlines) as regressions, with PCT's probability bound for the schedules
    explored; then generated swarm programs (pollstorm-sim explore --mode weak)
    for 5 minutes (30 on a long night), every finding minimised."""
    sim = os.path.join(ROOT, "build", "release", "explore", "pollstorm-sim")
    if not os.path.exists(sim):
        return "skipped", "build/release has no pollstorm-sim"
    iters = 200000 if run.left() < 2 * 3600 else 5000000
    progs = sorted(f for f in os.listdir(os.path.join(ROOT, "corpus", "sim")) if f.endswith(".txt"))
    rows = []
    for prog in progs:
        path = os.path.join(ROOT, "corpus", "sim", prog)
        t0 = time.monotonic()
        r = sh([sim, "run", path, "--variant", variant, "--chooser", "pct", "--iterations",
                str(iters), "--no-races"], capture_output=True, text=True, timeout=1800)
        row = {"program": prog, "exit": r.returncode, "seconds": round(time.monotonic() - t0, 1)}
        m = re.search(r"clean: (\d+) executions", r.stdout)
        if m:
            row["executions"] = int(m.group(1))
        b = re.search(r"n = (\d+) threads, k = (\d+) steps, bound [^=]+= ([0-9.e+-]+) per "
                      r"execution; .* probability <= ([0-9.e+-]+)", r.stdout)
        if b:
            row.update(n=int(b.group(1)), k=int(b.group(2)), bound=float(b.group(3)),
                       p_miss=float(b.group(4)))
        f = re.search(r"^FINDING ([a-z-]+): ([^\n]*)", r.stdout, re.M)
        if f:
            e = re.search(r"execution: (\d+)", r.stdout)
            rep_ = re.search(r"repro: ([^\n]*)", r.stdout)
            row["finding"] = f.group(2)
            row["executions"] = int(e.group(1)) if e else None
            msg = re.sub(r" \(at [^)]*\)+$", "", f.group(2))
            run.add_finding({"kind": "lost-wakeup" if "lost wakeup" in msg else f.group(1),
                             "message": msg, "variant": variant,
                             "signature": f"sim:{variant}:{prog}:{re.sub(r'[0-9]+', '#', msg)}",
                             "after_s": row["seconds"], "repro": rep_.group(1) if rep_ else "",
                             "detail": r.stdout[-3000:]}, "sim")
        elif r.returncode != 0:
            return "failed", f"pollstorm-sim exit {r.returncode} on {prog}: {r.stderr.strip()[-200:]}"
        rows.append(row)
    run.s[key] = {"variant": variant, "chooser": "pct", "depth": 3, "iterations": iters,
                  "programs": rows}
    found = sum("finding" in r for r in rows)
    # Programs nobody wrote: generated swarm programs (pollstorm-sim explore),
    # weak memory, random and PCT in turn. corpus/sim above is the regressions.
    secs = (300 if run.left() < 2 * 3600 else 1800) // shares
    t0 = time.monotonic()
    r = sh([sim, "explore", "--variant", variant, "--mode", "weak", "--time", f"{secs}s",
            "--no-races", "--max-findings", "3", "--out", os.path.join(run.dir, "sim-explore")],
           capture_output=True, text=True, timeout=secs + 1800)
    ex = {"mode": "weak", "seconds": round(time.monotonic() - t0, 1), "exit": r.returncode}
    m = re.search(r"^(?:clean|findings): (\d+) generated programs, (\d+) executions", r.stdout, re.M)
    if m:
        ex.update(programs=int(m.group(1)), executions=int(m.group(2)))
    never = re.search(r"never generated: ([^\n]*)", r.stdout)
    ex["never_generated"] = never.group(1).strip() if never else "?"
    ex["findings"] = []
    for block in r.stdout.split("FINDING ")[1:]:
        msg = re.sub(r" \(at [^)]*\)+$", "", block.split("\n", 1)[0].split(": ", 1)[-1])
        rep_ = re.search(r"repro: ([^\n]*)", block)
        kind = block.split(":", 1)[0]
        ex["findings"].append(msg)
        run.add_finding({"kind": "lost-wakeup" if "lost wakeup" in msg else kind,
                         "message": msg, "variant": variant,
                         "signature": f"sim-explore:{variant}:{re.sub(r'[0-9]+', '#', msg)}",
                         "after_s": ex["seconds"], "repro": rep_.group(1) if rep_ else "",
                         "detail": block[-3000:]}, "sim")
    run.s[key]["explore"] = ex
    if r.returncode not in (0, 1):
        return "failed", f"pollstorm-sim explore exit {r.returncode}: {r.stderr.strip()[-200:]}"
    return "ok", (f"{len(rows)} programs x {iters} PCT executions on {variant}: {found} with a "
                  f"finding; {ex.get('programs', '?')} generated programs "
                  f"({ex.get('executions', '?')} executions): {len(ex['findings'])} finding(s)")


def step_fuzz(run):
    """step_fuzz_one for each variant under test (summary keys fuzz, fuzz_tip)."""
    variants = under_test(run)
    per = max(int(run.left() * 0.2 / 2 / len(variants)), 15)
    notes = []
    for i, v in enumerate(variants):
        status, note = step_fuzz_one(run, v, "fuzz" if i == 0 else f"fuzz_{v}", per)
        if status != "ok":
            return status, note
        notes.append(note)
    return "ok", "; ".join(notes)


def step_fuzz_one(run, variant, key, per):
    """Both targets on one variant, resuming from and merging back
    into build/fuzz-corpus/ (scripts/pollstorm fuzz)."""
    r = sh(["scripts/pollstorm", "fuzz", "--time", str(per), "--variant", variant],
           capture_output=True, text=True, timeout=per * 2 + 900)
    stats = re.findall(r"(fuzz_\w+) stat::(\w+):\s+(\d+)", r.stdout + r.stderr)
    # The -fork progress lines of each target's log: executions, coverage and
    # exec/s over time, for the page's plots.
    series = {}
    m = re.search(r"artefacts in (\S+)", r.stderr)
    for t in ("fuzz_ops", "fuzz_sched"):
        try:
            with open(os.path.join(ROOT, m.group(1), t, "log")) as f:
                log = f.read()
        except (OSError, AttributeError):
            continue
        pts = [{"t": int(ts), "execs": int(n), "cov": int(cov), "ft": int(ft), "exec_s": int(eps)}
               for n, cov, ft, eps, ts in re.findall(
                   r"^#(\d+): cov: (\d+) ft: (\d+) corp: \d+ exec/s:? (\d+) .*? time: (\d+)s",
                   log, re.M)]
        if pts:
            series[t] = pts
    run.s[key] = {"variant": variant, "seconds_per_target": per,
                     "stats": {f"{t} {k}": int(v) for t, k, v in stats}, "series": series}
    for m in re.finditer(r"^(FINDING ([a-z-]+): [^\n]*)\n  reproducer \(([^)]*)\):\n((?:    .*\n)*)"
                         r"  repro: ([^\n]*)(?:\n  signature: ([^\n]*))?", r.stdout, re.M):
        run.add_finding({"kind": m.group(2), "message": m.group(1)[8:], "variant": variant,
                         "signature": m.group(6) or f"fuzz:{variant}:{m.group(1)[8:]}", "after_s": 0,
                         "repro": m.group(5), "detail": m.group(4)}, "fuzz")
    if r.returncode not in (0, 1):
        return "failed", f"exit {r.returncode}: {r.stderr.strip()[-200:]}"
    last = {t: p[-1] for t, p in series.items()}
    return "ok", f"{per}s per target on {variant}: " + ", ".join(
        f"{t} {p['execs']} execs, {p['exec_s']} exec/s, cov {p['cov']}" for t, p in last.items())


def step_cross(run):
    """The aarch64 job (scripts/cross.sh): cross builds through QEMU, a short
    storm per variant, the litmus canary natively and under QEMU. A short
    night takes the LSE preset, 3 s storms and 2e5 canary instances; a night
    with more than 2 h left takes both presets, the TSan preset and 1e6."""
    script = os.path.join(ROOT, "scripts", "cross.sh")
    if not os.path.exists(script):
        return "skipped", "cross job not available yet"
    out = os.path.join(run.dir, "cross")
    # What the cross step needs is installed here, as for the other steps:
    # qemu-user, the aarch64 cross toolchain and the arm64 libraries on
    # x86-64 (nothing of QEMU on an aarch64 host, where the job runs natively).
    r = sh(["bash", script, "--install-only", "--out", out], capture_output=True, text=True,
           timeout=1800)
    if r.returncode != 0:
        why = (r.stderr.strip().splitlines() or ["?"])[-1]
        return "skipped", f"cannot install what it needs (cross.sh --install-only exit {r.returncode}: {why})"
    run.log(f"  cross: {(r.stderr.strip().splitlines() or ['installed'])[-1]}")
    if run.left() > 2 * 3600:
        args = ["--tsan"]
    else:
        args = ["--presets", "aarch64-lse", "--storm-duration", "3",
                "--canary-instances", "200000"]
    r = sh(["bash", script, "--out", out] + args, capture_output=True, text=True,
           timeout=max(run.left() * 0.5, 300))
    summary = ""
    try:
        with open(os.path.join(out, "summary.txt")) as f:
            summary = f.read()
    except OSError:
        summary = (r.stdout + r.stderr)[-4000:]
    run.s["cross"] = {"exit": r.returncode, "summary": summary}
    canary = {}
    for name in sorted(os.listdir(out)) if os.path.isdir(out) else []:
        if name.startswith("canary-") and name.endswith(".json"):
            try:
                with open(os.path.join(out, name)) as f:
                    canary[name[len("canary-"):-len(".json")]] = json.load(f)
            except (OSError, json.JSONDecodeError):
                pass
    if canary:
        run.s["canary"] = canary
    return ("ok" if r.returncode == 0 else "failed"), \
        f"exit {r.returncode}, canary on {len(canary)} platform(s)"


def step_bench(run):
    """Every benchmark suite and, when Go is installed, the Go netpoll peer,
    through `scripts/pollstorm bench` (3 short repetitions): the ratios to the
    same-run baselines, each with the previous run's ratio, and the derived
    ratios (goals against Go, the cost of the fixed audit, scaling)."""
    out = os.path.join(run.dir, "bench")
    r = sh(["scripts/pollstorm", "bench", "--reps", "3", "--out", out,
            "--benchmark_min_time=0.05"], capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        return "failed", f"exit {r.returncode}: {(r.stderr or r.stdout).strip()[-300:]}"
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import bench_report  # noqa: E402  (scripts/ is not a package)
    try:
        runs = bench_report.load_all([out])
    except SystemExit:  # bench_report said why on stderr
        return "failed", f"bench_report rejected the JSON in {out}"
    rows = bench_report.ratio_rows(None, runs)
    prev = {r["name"]: r.get("ratio") for r in ((run.prev or {}).get("bench") or {}).get("ratios", [])}
    for row in rows:
        row["prev_ratio"] = prev.get(row["name"])
    derived = bench_report.derived_rows(None, runs)
    run.s["bench"] = {"ratios": rows, "derived": derived}
    goals = [d for d in derived if d["goal"] and d["value"] is not None]
    met = sum(d["verdict"] == "met" for d in goals)
    go = "Go peer run" if "Go peer skipped" not in r.stderr else "Go peer skipped (no go)"
    return "ok", f"{len(rows)} benchmarks, goals met {met}/{len(goals)}, {go}"


def step_coverage(run):
    """llvm-cov source coverage of polldesc/ by the fuzz corpus (seeds plus
    build/fuzz-corpus/, which the fuzz step just merged into)."""
    out = os.path.join(run.dir, "coverage")
    r = sh(["scripts/pollstorm", "coverage", "--out", out], capture_output=True, text=True,
           timeout=1800)
    if r.returncode != 0:
        return "failed", f"exit {r.returncode}: {(r.stderr or r.stdout).strip()[-200:]}"
    with open(os.path.join(out, "summary.json")) as f:
        t = json.load(f)["data"][0]["totals"]
    run.s["coverage"] = {
        "html": "coverage/html/index.html",
        "lines": t["lines"]["count"], "lines_covered": t["lines"]["covered"],
        "lines_pct": t["lines"]["percent"],
        "branches": t["branches"]["count"], "branches_covered": t["branches"]["covered"],
        "branches_pct": t["branches"]["percent"], "functions_pct": t["functions"]["percent"]}
    c = run.s["coverage"]
    return "ok", f"polldesc/: lines {c['lines_pct']:.1f}%, branches {c['branches_pct']:.1f}%"


def step_mutation(run):
    """The mutation self-test (scripts/mutate.py). A short night takes a
    rotating handful of mutants through the fast modes (unit, sim, sim-weak:
    one dev build; sim-weak is what kills the weakened memory orders); a long one (over 2 h left) takes every mutant through every
    mode. The kill matrix goes into the report."""
    names = sorted(n[:-6] for n in os.listdir(os.path.join(ROOT, "mutants"))
                   if n.endswith(".patch"))
    if not names:
        return "skipped", "no mutants"
    left = run.left()
    if left > 2 * 3600:
        pick, modes = names, ["unit", "tsan-storm", "sim", "sim-pct", "sim-weak", "fuzz_ops",
                              "fuzz_sched", "aarch64"]
    else:
        k = 3
        start = (datetime.date.today().toordinal() * k) % len(names)
        pick = [names[(start + i) % len(names)] for i in range(k)]
        modes = ["unit", "sim", "sim-weak"]
    budget = max(min(left * 0.8 / (len(pick) * len(modes)) - 10, 300), 10)
    path = os.path.join(run.dir, "mutation.json")
    r = sh(["/usr/bin/python3", "scripts/mutate.py", "--mutants", ",".join(pick), "--modes",
            ",".join(modes), "--budget", f"{budget:.0f}", "--json", path],
           capture_output=True, text=True)
    try:
        with open(path) as f:
            m = json.load(f)
    except (OSError, json.JSONDecodeError):
        return "failed", f"mutate.py exit {r.returncode}: {r.stderr.strip()[-200:]}"
    m["budget_s"] = round(budget)
    m["note"] = ("every mutant, every mode" if len(pick) == len(names)
                 else f"tonight's rotation: {len(pick)} of {len(names)} mutants")
    run.s["mutation"] = m
    survivors = [n for n, x in m["mutants"].items()
                 if not x.get("equivalent") and
                 not any(c["result"] == "killed" for c in x["modes"].values())]
    for n in survivors:
        run.add_finding({"kind": "mutant-survived", "variant": "fixed", "after_s": 0,
                         "message": f"mutant {n} survived every mode: a gap in the harness",
                         "signature": f"mutation:survived:{n}",
                         "repro": f"scripts/pollstorm mutate --mutants {n} --modes all"},
                        "mutation")
    if r.returncode not in (0, 1):
        return "failed", f"mutate.py exit {r.returncode}"
    return "ok", f"{m['killed']}/{m['considered']} killed ({', '.join(pick) if len(pick) < 6 else 'all'})"


def main(argv):
    budget, inject, skip = 12 * 60, None, set()
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(__doc__)
            return 0
        if a not in ("--budget", "--inject", "--skip"):
            usage(f"unknown option '{shown(a)}'")
        if i + 1 >= len(argv):
            usage(f"{a} needs a value")
        if a == "--budget":
            budget = parse_budget(argv[i + 1])
        elif a == "--inject":
            inject = argv[i + 1]
            if inject not in VARIANTS:
                usage(f"unknown variant '{shown(inject)}' (known: {', '.join(VARIANTS)})")
        elif a == "--skip":
            skip = set(argv[i + 1].split(","))
            bad = skip - set(STEPS)
            if bad:
                usage(f"unknown step(s) {', '.join(shown(b) for b in sorted(bad))} "
                      f"(steps: {', '.join(STEPS)})")
        i += 2
    run = Run(budget, inject, skip)
    run.log(f"nightly: report in {run.dir} (reports/runs/latest)")
    for name, fn in (("build", step_build), ("storms", step_storms), ("sim", step_sim),
                     ("fuzz", step_fuzz),
                     ("coverage", step_coverage), ("cross", step_cross), ("bench", step_bench),
                     ("mutation", step_mutation)):
        run.step(name, lambda fn=fn: fn(run))
    run.s["complete"] = True
    run.save()
    new = [f for f in run.s["findings"] if f["status"] == "new"]
    known = [f for f in run.s["findings"] if f["status"] == "known"]
    failed = [s for s in run.s["steps"] if s["status"] == "failed"]
    print(f"\nnightly: {len(new)} new finding(s), {len(known)} known, "
          f"{len(failed)} failed step(s); report: {os.path.join(run.dir, 'index.html')}")
    for f in new:
        print(f"  NEW {f['kind']} ({f['variant']}): {f['message']}\n      repro: {f['repro']}")
    if new:
        return 1
    return 3 if failed else 0


if __name__ == "__main__":
    strictio.run(main)
