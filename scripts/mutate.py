#!/usr/bin/python3
"""mutate.py: the mutation self-test. How many planted bugs does the harness kill?

  mutate.py [--mutants NAME,...|all] [--modes MODE,...|all] [--budget S]
            [--json PATH [--resume]] [--markdown PATH] [--work DIR] [--smoke]

Each mutants/<name>.patch is applied to a scratch copy of the tree (one copy,
reset between mutants, so builds are incremental). Every detection mode then
runs against the mutated port with a time budget (--budget seconds per mode,
default 60) and the mutant is recorded as killed (with the time to kill and the
evidence) or survived. Modes whose tools are not built here are "n/a".

Modes:
  unit        GoogleTest suites on real threads (dev preset), variant fixed
  tsan-storm  TSan storms (tsan preset): profiles mixed, deadline, reuse, pipes, timers
  sim         the simulator, random chooser, sequential consistency, on fixed:
              the corpus/sim programs as regressions (a quarter of the
              budget), then generated swarm programs (pollstorm-sim explore
              --mode random) for the rest
  sim-pct     the same under the PCT chooser (depth 3), SC (explore --mode pct)
  sim-weak    the same under weak memory (C++11 reads-from choices), random
              chooser and PCT (explore --mode weak)
  fuzz_ops    libFuzzer's fuzz_ops on fixed from the seeds (fuzz preset)
  fuzz_sched  libFuzzer's fuzz_sched on fixed from the seeds (fuzz preset)
  aarch64     the cross suite through QEMU, when the cross presets exist
  go-diff     the Go differential (tests/go_diff): fixed's Fd-level trace
              against Go's runtime on the same scenarios, when go is on PATH,
              with the poller thread and then with the waiters polling
  waiter-storm  the io storm (real pipes, dev preset) with the waiters polling
              epoll themselves (--poller waiter, issue #17), then with the
              poller thread

mutants/equivalent.txt lists the mutants argued equivalent (name: argument);
they are excluded from the score, and a killed "equivalent" is flagged.
--resume keeps the results already in --json PATH (mutants run with every
requested mode are skipped), so an interrupted matrix goes on where it stopped
and separate runs add up to one matrix.
--markdown PATH also writes the matrix as a Markdown table (mutants/RESULTS.md).
--smoke runs the ctest subset: two mutants that unit tests must kill quickly.
Output: a kill matrix (text), --json PATH, and the mutation score.
Exit: 0 every non-equivalent mutant killed, 1 survivors, 2 usage, 3 internal.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strictio  # noqa: E402  (scripts/strictio.py: strict inputs, exit 2/3)
from strictio import shown  # noqa: E402

strictio.set_prog("mutate")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = ["unit", "tsan-storm", "sim", "sim-pct", "sim-weak", "fuzz_ops", "fuzz_sched", "aarch64",
         "go-diff", "waiter-storm"]
SMOKE = ["precedence-swapped", "zero-is-expired"]


def usage(msg):
    print(f"mutate: {msg}\nTry 'scripts/pollstorm mutate --help'.", file=sys.stderr)
    sys.exit(2)


def mutants():
    d = os.path.join(ROOT, "mutants")
    out = {}
    for n in sorted(os.listdir(d)):
        if n.endswith(".patch"):
            with open(os.path.join(d, n)) as f:
                first = f.readline().strip()
            out[n[:-6]] = first.removeprefix("pollstorm-mutant:").strip()
    return out


def mutant_variant(name):
    """The variant a mutant is planted in: its patch's `pollstorm-variant:`
    line (tip's mutants patch polldesc/tip/), else fixed."""
    with open(os.path.join(ROOT, "mutants", name + ".patch")) as f:
        for line in f:
            if line.startswith("pollstorm-variant:"):
                return line.split(":", 1)[1].strip()
            if line.startswith("---"):
                break
    return "fixed"


def equivalents():
    path = os.path.join(ROOT, "mutants", "equivalent.txt")
    eq = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if ":" in line and not line.startswith("#"):
                    k, v = line.split(":", 1)
                    eq[k.strip()] = v.strip()
    return eq


class Scratch:
    """One scratch copy of the tracked tree; builds live beside it."""

    def __init__(self, work):
        self.variant = "fixed"  # the variant the current mutant is planted in
        # The committed tree (git archive HEAD): reproducible, and untouched by
        # whatever is half-edited in the working tree.
        self.work = work
        self.src = os.path.join(work, "src")
        self.pristine = os.path.join(work, "pristine")
        shutil.rmtree(self.pristine, ignore_errors=True)
        os.makedirs(self.pristine)
        archive = subprocess.run(["git", "-C", ROOT, "archive", "HEAD"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", self.pristine], input=archive, check=True)
        self.files = []
        for d, _, fs in os.walk(self.pristine):
            for f in fs:
                self.files.append(os.path.relpath(os.path.join(d, f), self.pristine))
        os.makedirs(self.src, exist_ok=True)
        self.reset(all_files=True)
        self.configured = set()

    def reset(self, all_files=False):
        # Only polldesc/ is mutated; restoring it (content compare) keeps the
        # mtimes of untouched files, so rebuilds stay incremental.
        for f in self.files:
            if not all_files and not f.startswith("polldesc/"):
                continue
            a, b = os.path.join(self.pristine, f), os.path.join(self.src, f)
            os.makedirs(os.path.dirname(b), exist_ok=True)
            with open(a, "rb") as fa:
                data = fa.read()
            try:
                with open(b, "rb") as fb:
                    if fb.read() == data:
                        continue
            except OSError:
                pass
            with open(b, "wb") as fb:
                fb.write(data)
            shutil.copymode(a, b)

    def apply(self, name):
        self.variant = mutant_variant(name)
        patch = os.path.join(ROOT, "mutants", name + ".patch")
        r = subprocess.run(["patch", "-p1", "-s", "-i", patch], cwd=self.src,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"patch {name} does not apply: {r.stdout}{r.stderr}")

    def build(self, preset, targets):
        bdir = os.path.join(self.work, preset)
        if preset not in self.configured:
            r = subprocess.run(["cmake", "-S", self.src, "-B", bdir, "--preset", preset,
                                "-DPOLLSTORM_BENCH=OFF", "-DPOLLSTORM_WERROR=OFF"],
                               cwd=self.src, capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"configure {preset}: {r.stderr[-500:]}")
            self.configured.add(preset)
        r = subprocess.run(["cmake", "--build", bdir, "-j2", "--target"] + targets,
                           capture_output=True, text=True)
        return r.returncode == 0, (r.stdout + r.stderr)[-800:], bdir


def run_timed(cmd, budget, **kw):
    t = time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=budget, **kw)
        return r.returncode, r.stdout + r.stderr, time.monotonic() - t, False
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") + (e.stderr or b"").decode(errors="replace")
        return None, out, time.monotonic() - t, True


def unit_filter(variant):
    """The variant's typed suites and the death tests (plus tip's own)."""
    return f"*/{variant}.*:*DeathTest*" + (":Tip*" if variant == "tip" else "")


def mode_unit(scratch, budget):
    ok, log, bdir = scratch.build("dev", ["polldesc_test"])
    if not ok:
        return {"result": "killed", "how": "does not compile", "seconds": 0}
    rc, out, secs, timed_out = run_timed(
        [os.path.join(bdir, "tests", "polldesc_test"),
         "--gtest_filter=" + unit_filter(scratch.variant), "--gtest_fail_fast"], budget)
    if timed_out:
        return {"result": "killed", "how": "a test hung past the budget (lost wakeup)", "seconds": secs}
    if rc != 0:
        failed = [f.rstrip(",") for f in re.findall(r"\[  FAILED  \] (\S+\.\S+)", out)]
        how = "failed: " + ", ".join(sorted(set(failed))[:3]) if failed else f"exit {rc}"
        return {"result": "killed", "how": how, "seconds": secs}
    return {"result": "survived", "how": "all unit tests pass", "seconds": secs}


def storm_runs(scratch, preset, budget, runs):
    """Storms of the mutant's variant, one after the other, the budget shared:
    runs is [(label, extra args)]. The first finding (or hang) kills."""
    ok, log, bdir = scratch.build(preset, ["pollstorm-storm"])
    if not ok:
        return {"result": "killed", "how": "does not compile", "seconds": 0}
    storm = os.path.join(bdir, "stress", "pollstorm-storm")
    spent = 0.0
    for label, extra in runs:
        dur = max(budget / len(runs) - 2, 2)
        out_json = os.path.join(scratch.work, "storm.json")
        rc, out, secs, timed_out = run_timed(
            [storm, "--variant", scratch.variant] + extra +
            ["--duration", f"{dur:.0f}", "--watchdog-ms", "1000", "--stop-on-first",
             "--json", out_json], dur + 60)
        if timed_out or rc not in (0,):
            how = "storm overran (hang)" if timed_out else f"exit {rc}"
            try:
                with open(out_json) as f:
                    fs = json.load(f).get("findings", [])
                if fs:
                    first = min(fs, key=lambda x: x["after_s"])
                    how = f"{first['kind']}: {first['message'][:90]} ({label})"
                    return {"result": "killed", "how": how, "seconds": spent + first["after_s"]}
            except (OSError, json.JSONDecodeError):
                pass
            return {"result": "killed", "how": f"{how} ({label})", "seconds": spent + secs}
        spent += secs
    return {"result": "survived", "how": "no finding in " + ", ".join(l for l, _ in runs),
            "seconds": spent}


def mode_tsan_storm(scratch, budget):
    return storm_runs(scratch, "tsan", budget,
                      [(p, ["--profile", p]) for p in ("mixed", "deadline", "reuse", "pipes", "timers")])


def mode_waiter_storm(scratch, budget):
    """The io profile's storm, the waiter polling (issue #17), then the poller thread."""
    return storm_runs(scratch, "dev", budget,
                      [(f"io, --poller {m}", ["--profile", "io", "--poller", m])
                       for m in ("waiter", "thread")])


# Share of a sim mode's budget for corpus/sim (the regressions); generated
# programs get the rest.
SIM_CORPUS_SHARE = 0.25


def known_programs(src, variant):
    """corpus/known programs that must be clean on variant (their `# clean-on:`
    line names it), with their `# env:` settings: the Go bugs fixed after the
    seed, regressions for the variant that fixed them. [(relpath, env)]."""
    d = os.path.join(src, "corpus", "known")
    out = []
    for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if not f.endswith(".txt"):
            continue
        clean, env = [], {}
        with open(os.path.join(d, f)) as fh:
            for line in fh:
                if line.startswith("# clean-on:"):
                    clean = line.split(":", 1)[1].split()
                elif line.startswith("# env:"):
                    for kv in line.split(":", 1)[1].split():
                        k, _, v = kv.partition("=")
                        env[k] = v
        if variant in clean:
            out.append((os.path.join("corpus", "known", f), env))
    return out


def sim_programs(scratch, bdir, budget, chooser, weak):
    """corpus/sim programs (regressions), and the corpus/known programs the
    variant must be clean on, on the mutant's variant with the given chooser,
    under weak memory or sequential consistency: (result or None, spent)."""
    spent = 0.0
    progs = [(os.path.join("corpus", "sim", f), {})
             for f in sorted(os.listdir(os.path.join(scratch.src, "corpus", "sim")))
             if f.endswith(".txt")] + known_programs(scratch.src, scratch.variant)
    for rel, env in progs:
        prog = os.path.basename(rel)
        rc, out, secs, timed_out = run_timed(
            [os.path.join(bdir, "explore", "pollstorm-sim"), "run",
             os.path.join(scratch.src, rel), "--variant", scratch.variant,
             "--iterations", "2000", "--no-races", "--chooser", chooser]
            + ([] if weak else ["--sc"]),
            max(budget / len(progs), 1), env=dict(os.environ, **env))
        spent += secs
        if timed_out:
            # The simulator bounds every execution itself (a livelock is a
            # step-bound finding), so running out of time here is the budget
            # spent, not a kill.
            continue
        if rc == 1:
            m = re.search(r"FINDING ([^\n]{0,100})", out)
            return {"result": "killed", "how": f"{prog}: {m.group(1) if m else 'finding'}",
                    "seconds": spent}, spent
        if rc != 0:
            return {"result": "killed", "how": f"pollstorm-sim exit {rc} on {prog}", "seconds": spent}, spent
    return None, spent


def sim_explore(scratch, bdir, budget, mode):
    """Generated swarm programs (pollstorm-sim explore) on the mutant's variant for the
    budget: (result or None, spent). The kill time is when the finding
    appeared, before its minimisation."""
    out_dir = os.path.join(scratch.work, "explore-findings")
    shutil.rmtree(out_dir, ignore_errors=True)
    rc, out, secs, timed_out = run_timed(
        [os.path.join(bdir, "explore", "pollstorm-sim"), "explore", "--variant", scratch.variant,
         "--mode", mode, "--time", f"{max(int(budget), 1)}s", "--no-races", "--out", out_dir],
        budget + 180)
    if timed_out:
        return {"result": "n/a", "how": "pollstorm-sim explore overran its budget (minimising)",
                "seconds": secs}, secs
    if rc == 1:
        m = re.search(r"FINDING ([^\n]{0,100})", out)
        at = re.search(r"after ([0-9.]+) s and (\d+) executions", out)
        mp = re.search(r"minimised program \((\d+) ops\)", out)
        kill_s = float(at.group(1)) if at else secs
        how = (f"generated program ({mode}): {m.group(1) if m else 'finding'}"
               + (f"; {at.group(2)} executions" if at else "")
               + (f"; minimised to {mp.group(1)} ops" if mp else ""))
        return {"result": "killed", "how": how, "seconds": kill_s}, kill_s
    if rc != 0:
        return {"result": "killed", "how": f"pollstorm-sim explore exit {rc}", "seconds": secs}, secs
    return None, secs


def sim_mode(scratch, budget, runs, explore_mode, label):
    """runs: (chooser, weak) pairs sharing the corpus/sim share of the budget;
    then generated programs in explore_mode for the rest."""
    if not os.path.exists(os.path.join(scratch.src, "explore", "sim_main.cc")):
        return {"result": "n/a", "how": "simulator not in this tree", "seconds": 0}
    ok, log, bdir = scratch.build("dev", ["pollstorm-sim"])
    if not ok:
        return {"result": "killed", "how": "does not compile", "seconds": 0}
    spent = 0.0
    for chooser, weak in runs:
        res, secs = sim_programs(scratch, bdir, budget * SIM_CORPUS_SHARE / len(runs), chooser, weak)
        spent += secs
        if res is not None:
            res["seconds"] = spent
            return res
    res, secs = sim_explore(scratch, bdir, max(budget - spent, 1), explore_mode)
    if res is not None:
        res["seconds"] = round(spent + res["seconds"], 2)
        return res
    spent += secs
    return {"result": "survived", "how": f"corpus/sim and generated programs clean ({label})",
            "seconds": spent}


def mode_sim(scratch, budget):
    return sim_mode(scratch, budget, [("random", False)], "random", "random, SC")


def mode_sim_pct(scratch, budget):
    return sim_mode(scratch, budget, [("pct", False)], "pct", "PCT, SC")


def mode_sim_weak(scratch, budget):
    return sim_mode(scratch, budget, [("random", True), ("pct", True)], "weak",
                    "weak memory, random and PCT")


def mode_fuzz(scratch, budget, target):
    """libFuzzer on `fixed` from the seed corpus (fuzz preset), for the budget."""
    if not os.path.exists(os.path.join(scratch.src, "fuzz", f"{target}_fuzzer.cc")):
        return {"result": "n/a", "how": "fuzz target not in this tree", "seconds": 0}
    ok, log, bdir = scratch.build("fuzz", [f"{target}_fuzzer", f"{target}_seeds"])
    if not ok:
        return {"result": "n/a", "how": "fuzz build failed: " + log[-120:], "seconds": 0}
    corpus = os.path.join(scratch.work, f"corpus-{target}")
    shutil.rmtree(corpus, ignore_errors=True)
    os.makedirs(corpus)
    rc, out, secs, timed_out = run_timed(
        [os.path.join(bdir, "fuzz", f"{target}_fuzzer"), f"-max_total_time={int(budget)}",
         "-seed=1", f"-artifact_prefix={scratch.work}/", corpus,
         os.path.join(bdir, "fuzz", "seeds", target)],
        budget + 60, env=dict(os.environ, POLLSTORM_FUZZ_VARIANT=scratch.variant))
    if timed_out:
        return {"result": "killed", "how": "the fuzzer hung past its budget", "seconds": secs}
    if rc != 0:
        m = re.search(r"FINDING ([^\n]{0,100})", out)
        return {"result": "killed", "how": m.group(1) if m else f"exit {rc}", "seconds": secs}
    return {"result": "survived", "how": f"{target}: no crash in {int(budget)} s", "seconds": secs}


def mode_aarch64(scratch, budget):
    if shutil.which("qemu-aarch64") is None or \
            not os.path.exists(os.path.join(ROOT, "cmake", "aarch64-linux-gnu.cmake")):
        return {"result": "n/a", "how": "cross toolchain or qemu-user not installed", "seconds": 0}
    # pollstorm-qemu-exec: the LD_PRELOAD shim that makes a death test's
    # re-exec go through QEMU (cross/); without it every death test fails.
    ok, log, bdir = scratch.build("aarch64-lse", ["polldesc_test", "pollstorm-qemu-exec"])
    if not ok:
        return {"result": "n/a", "how": "cross build failed: " + log[-120:], "seconds": 0}
    # The same tests as the unit mode (the fixed variant and the death
    # tests), through ctest so the toolchain file's emulator runs them;
    # GoogleTest reads its flags from the environment, which qemu-user passes on.
    rc, out, secs, timed_out = run_timed(
        ["ctest", "--test-dir", bdir, "-R", "^unit", "--output-on-failure",
         "--timeout", str(int(budget))], budget + 30,
        env=dict(os.environ, GTEST_FILTER=unit_filter(scratch.variant), GTEST_FAIL_FAST="1"))
    if timed_out or rc != 0:
        failed = sorted(set(f.rstrip(",") for f in re.findall(r"\[  FAILED  \] (\S+\.\S+)", out)))
        fatal = re.search(r"fatal error: ([^\n]{0,80})", out)
        how = ("failed: " + ", ".join(failed[:3]) if failed else
               f"fatal: {fatal.group(1)}" if fatal else "unit tests failed or hung (ctest timeout)")
        return {"result": "killed", "how": "aarch64 " + how, "seconds": secs}
    return {"result": "survived", "how": "aarch64 unit tests pass", "seconds": secs}


def mode_go_diff(scratch, budget):
    """The Go differential on the mutant's variant: a disagreement with Go's trace kills.
    It runs with the poller thread, then with the waiters polling (issue #17)."""
    runner = os.path.join(scratch.src, "tests", "go_diff", "run.sh")
    if not os.path.exists(runner):
        return {"result": "n/a", "how": "tests/go_diff not in this tree", "seconds": 0}
    if shutil.which("go") is None:
        return {"result": "n/a", "how": "no go on PATH", "seconds": 0}
    ok, log, bdir = scratch.build("dev", ["go_diff"])
    if not ok:
        return {"result": "killed", "how": "does not compile", "seconds": 0}
    spent = 0.0
    for poller in ("thread", "waiter"):
        rc, out, secs, timed_out = run_timed(
            ["bash", runner, "compare", os.path.join(scratch.src, "tests", "go_diff", "scenarios.txt"),
             os.path.join(scratch.work, "go_diff.work"), "--",
             os.path.join(bdir, "tests", "go_diff"), "--variant", scratch.variant,
             "--poller", poller], budget + 30)
        spent += secs
        where = f" (--poller {poller})"
        if timed_out:
            return {"result": "killed", "how": "the differential hung past its budget" + where,
                    "seconds": spent}
        if rc == 1:
            m = re.findall(r"DISAGREE " + re.escape(scratch.variant) + r" (\S+ \([^)]*\)[^\n]{0,80})", out)
            how = f"{len(m)} step(s) differ from Go, first {m[0]}" if m else "disagreement"
            return {"result": "killed", "how": how + where, "seconds": spent}
        if rc == 0:
            continue
        if rc == 77 or rc == 3 and "Go side" in out:
            return {"result": "n/a", "how": out.strip().splitlines()[-1][:120], "seconds": spent}
        fatal = re.search(r"fatal error: ([^\n]{0,80})", out)
        how = f"the port threw: {fatal.group(1)}" if fatal else f"the port's driver exited {rc}"
        return {"result": "killed", "how": how + where, "seconds": spent}
    return {"result": "survived", "how": "every step agrees with Go (both pollers)", "seconds": spent}


RUNNERS = {"unit": mode_unit, "tsan-storm": mode_tsan_storm, "sim": mode_sim,
           "sim-pct": mode_sim_pct, "sim-weak": mode_sim_weak,
           "fuzz_ops": lambda sc, b: mode_fuzz(sc, b, "fuzz_ops"),
           "fuzz_sched": lambda sc, b: mode_fuzz(sc, b, "fuzz_sched"),
           "aarch64": mode_aarch64, "go-diff": mode_go_diff, "waiter-storm": mode_waiter_storm}


WORK_MARK = ".pollstorm-mutate"  # in every --work folder this script made
RESULTS = ("killed", "survived", "n/a", "not run")


def check_work(work):
    """--work must be new, empty, or ours (it holds WORK_MARK, or the
    pristine/ and src/ an older mutate.py made): Scratch deletes and rewrites
    what is inside, so a folder of someone else's files is exit 2, untouched."""
    if not os.path.lexists(work):
        return
    if not os.path.isdir(work):
        usage(f"--work '{shown(work)}' exists and is not a folder")
    inside = os.listdir(work)
    ours = WORK_MARK in inside or {"pristine", "src"} <= set(inside)
    if inside and not ours:
        usage(f"--work '{shown(work)}' is not a mutate.py work folder (no {WORK_MARK}); "
              f"give a new or empty folder")


def load_resume(json_path, all_m):
    """The results already in a --resume matrix, checked for the shape
    write_json gives it; anything else is exit 2 (move it away)."""
    old = strictio.load_json(json_path, "--resume matrix")

    def bad(why):
        usage(f"--resume: '{shown(json_path)}' is not a mutate.py matrix ({why}); move it away")
    if not isinstance(old, dict) or not isinstance(old.get("mutants"), dict):
        bad("no 'mutants' object")
    old_modes = old.get("modes", [])
    if not isinstance(old_modes, list) or not all(m in MODES for m in old_modes):
        bad("'modes' is not a list of known modes")
    results = {}
    for n, r in old["mutants"].items():
        if not isinstance(r, dict) or not isinstance(r.get("modes"), dict):
            bad(f"mutant '{shown(n)}' has no 'modes' object")
        for m, c in r["modes"].items():
            if (m not in MODES or not isinstance(c, dict) or c.get("result") not in RESULTS
                    or isinstance(c.get("seconds"), bool)
                    or not isinstance(c.get("seconds"), (int, float))
                    or not isinstance(c.get("how", ""), str)):
                bad(f"mutant '{shown(n)}' mode '{shown(m)}' is not a result")
        if n in all_m:
            results[n] = r["modes"]
    return results, old_modes


def main(argv):
    names, modes, budget, json_path, smoke, resume = None, list(MODES), 60.0, None, False, False
    md_path = None
    work = os.path.join(ROOT, "build", "mutate")
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(__doc__)
            return 0
        if a in ("--smoke", "--resume"):
            smoke = smoke or a == "--smoke"
            resume = resume or a == "--resume"
            i += 1
            continue
        if a not in ("--mutants", "--modes", "--budget", "--json", "--markdown", "--work"):
            usage(f"unknown option '{shown(a)}'")
        if i + 1 >= len(argv):
            usage(f"{a} needs a value")
        v = argv[i + 1]
        if a == "--mutants":
            names = None if v == "all" else v.split(",")
        elif a == "--modes":
            modes = list(MODES) if v == "all" else v.split(",")
            bad = [m for m in modes if m not in MODES]
            if bad:
                usage(f"unknown mode(s) {', '.join(shown(b) for b in bad)} (modes: {', '.join(MODES)})")
        elif a == "--budget":
            # Finite and bounded: nan, inf and 1e999 are not budgets.
            budget = strictio.parse_float("--budget", v, 1, 86400, "seconds in 1..86400")
        elif a in ("--json", "--markdown"):
            # Checked now, not after an hour of mutants: a writable regular
            # file (or none yet) in an existing folder.
            strictio.check_output(a, v)
            if a == "--json":
                json_path = v
            else:
                md_path = v
        elif a == "--work":
            work = os.path.abspath(v)
        i += 2
    check_work(work)
    all_m = mutants()
    if smoke:
        names, modes, budget = SMOKE, ["unit"], 120.0
    names = names or list(all_m)
    unknown = [n for n in names if n not in all_m]
    if unknown:
        usage(f"unknown mutant(s) {', '.join(shown(u) for u in unknown)} (see mutants/)")
    eq = equivalents()
    if resume and not json_path:
        usage("--resume needs --json PATH")
    results = {}
    if resume and os.path.lexists(json_path):
        results, old_modes = load_resume(json_path, all_m)
        modes = [m for m in MODES if m in modes or m in old_modes]
    todo = [n for n in names if not all(m in results.get(n, {}) for m in modes)]
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, WORK_MARK), "a"):
        pass
    scratch = Scratch(work) if todo else None
    t0 = time.monotonic()
    for n in todo:
        scratch.reset()
        try:
            scratch.apply(n)
        except RuntimeError as e:
            print(f"mutate: internal error: {e}", file=sys.stderr)
            return 3
        results.setdefault(n, {})
        for m in modes:
            if m in results[n]:
                continue
            r = RUNNERS[m](scratch, budget)
            results[n][m] = r
            print(f"[{time.monotonic() - t0:7.0f}s] {n:<30} {m:<11} {r['result']:<9} "
                  f"{r['seconds']:6.1f}s  {r['how']}", file=sys.stderr, flush=True)
        if json_path:  # partial results survive an interruption
            write_json(json_path, all_m, results, modes, eq)
    if scratch:
        scratch.reset()
    if md_path:
        write_markdown(md_path, all_m, results, modes, eq, budget)
    return report(all_m, results, modes, eq, json_path)


NOT_RUN = {"result": "not run", "seconds": 0, "how": ""}


def score(results, eq):
    killed = [n for n, r in results.items() if any(x["result"] == "killed" for x in r.values())]
    considered = [n for n in results if n not in eq or n in killed]
    return killed, considered


def write_json(path, all_m, results, modes, eq):
    killed, considered = score(results, eq)
    with open(path + ".tmp", "w") as f:
        json.dump({"modes": modes, "mutants": {n: {"description": all_m[n],
                                                   "equivalent": eq.get(n), "modes": results[n]}
                                               for n in results},
                   "killed": len(killed), "considered": len(considered),
                   "score": len(killed) / len(considered) if considered else None}, f, indent=1)
    os.replace(path + ".tmp", path)


def only_killed_by(results, modes, m):
    return [n for n, r in results.items() if r.get(m, NOT_RUN)["result"] == "killed" and
            not any(r.get(o, NOT_RUN)["result"] == "killed" for o in modes if o != m)]


def write_markdown(path, all_m, results, modes, eq, budget):
    killed, considered = score(results, eq)
    cell = {"killed": None, "survived": "survived", "n/a": "n/a", "not run": "not run"}
    lines = ["| mutant | what it plants | " + " | ".join(modes) + " |",
             "|---|---|" + "---|" * len(modes)]
    for n, r in results.items():
        cells = []
        for m in modes:
            x = r.get(m, NOT_RUN)
            cells.append(f"K {x['seconds']:.1f}s" if x["result"] == "killed" else cell[x["result"]])
        tag = " (argued equivalent)" if n in eq else ""
        lines.append(f"| {n}{tag} | {all_m.get(n, '')} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"**Score: {len(killed)}/{len(considered)} non-equivalent mutants killed"
                 + (f" ({100 * len(killed) / len(considered):.0f}%)" if considered else "") + ".**"
                 + f" Per-mode budget {budget:.0f} s unless the cell took longer (a hang is a kill"
                 " at the mode's time-out).")
    lines.append("")
    lines.append("Killed by only one mode: " + "; ".join(
        f"{m}: {len(o)}" + (f" ({', '.join(o)})" if o else "")
        for m in modes for o in [only_killed_by(results, modes, m)]))
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)


def report(all_m, results, modes, eq, json_path):
    killed, considered = score(results, eq)
    w = max(len(n) for n in results)
    print(f"\n{'mutant':<{w}}  " + "  ".join(f"{m:<10}" for m in modes))
    for n, r in results.items():
        cells = []
        for m in modes:
            x = r.get(m, NOT_RUN)
            cells.append({"killed": f"K {x['seconds']:5.1f}s", "survived": "survived",
                          "n/a": "n/a", "not run": "not run"}[x["result"]])
        tag = "  (argued equivalent)" if n in eq else ""
        print(f"{n:<{w}}  " + "  ".join(f"{c:<10}" for c in cells) + tag)
    print(f"\nmutation score: {len(killed)}/{len(considered)} killed"
          + (f" ({100 * len(killed) / len(considered):.0f}%)" if considered else ""))
    for m in modes:
        only = only_killed_by(results, modes, m)
        print(f"  killed only by {m}: {len(only)}" + (f" ({', '.join(only)})" if only else ""))
    survivors = [n for n in results if n not in killed]
    for n in survivors:
        why = f"equivalent: {eq[n]}" if n in eq else "GAP IN THE HARNESS (becomes work)"
        print(f"  survivor {n}: {all_m[n]} -- {why}")
    for n in killed:
        if n in eq:
            print(f"  NOTE: {n} is listed as equivalent but was killed; revisit the argument")
    if json_path:
        write_json(json_path, all_m, results, modes, eq)
    gaps = [n for n in survivors if n not in eq]
    return 1 if gaps else 0


if __name__ == "__main__":
    strictio.run(main)
