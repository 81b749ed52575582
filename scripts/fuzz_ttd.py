#!/usr/bin/python3
"""fuzz_ttd.py: time and executions to the first finding of fuzz_sched on a
historical variant, from an empty corpus, over several seeds (the figures of
the fuzzing section of the README).

  fuzz_ttd.py [--variant legacy|seed] [--runs N] [--max-time S]

Uses build/fuzz (scripts/pollstorm build fuzz) and build/dev's pollstorm-sim
to minimise each reproducer. Prints one line per run and the medians.
Exit: 0 every run found something, 1 a run found nothing, 2 usage.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strictio  # noqa: E402  (scripts/strictio.py: strict inputs, exit 2/3)
from strictio import shown  # noqa: E402

strictio.set_prog("fuzz_ttd")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv):
    variant, runs, max_time = "legacy", 5, 300
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(__doc__)
            return 0
        if a not in ("--variant", "--runs", "--max-time"):
            strictio.fail(f"unknown option '{shown(a)}'")
        if i + 1 >= len(argv):
            strictio.fail(f"{a} needs a value")
        v = argv[i + 1]
        if a == "--variant":
            known = ("legacy", "seed", "fixed", "tip")
            if v not in known:
                strictio.fail(f"unknown variant '{shown(v)}' (known: {', '.join(known)})")
            variant = v
        elif a == "--runs":  # ASCII digits: str.isdigit() took '²'
            runs = strictio.parse_int(a, v, 1, 1000)
        else:
            max_time = strictio.parse_int(a, v, 1, 86400)
        i += 2
    fuzzer = os.path.join(ROOT, "build", "fuzz", "fuzz", "fuzz_sched_fuzzer")
    ops = os.path.join(ROOT, "build", "fuzz", "explore", "pollstorm-ops")
    sim = os.path.join(ROOT, "build", "dev", "explore", "pollstorm-sim")
    for tool in (fuzzer, ops, sim):
        if not os.path.exists(tool):
            print(f"fuzz_ttd: {tool} is not built (scripts/pollstorm build fuzz dev)",
                  file=sys.stderr)
            return 2
    secs, execs, min_ops, missed = [], [], [], 0
    for seed in range(1, runs + 1):
        work = tempfile.mkdtemp(prefix="pollstorm-ttd-")
        os.makedirs(os.path.join(work, "corpus"))
        t = time.monotonic()
        r = subprocess.run([fuzzer, f"-seed={seed}", f"-max_total_time={max_time}",
                            "-print_final_stats=1", f"-artifact_prefix={work}/",
                            os.path.join(work, "corpus")],
                           capture_output=True, text=True,
                           env=dict(os.environ, POLLSTORM_FUZZ_VARIANT=variant))
        el = time.monotonic() - t
        crashes = [f for f in os.listdir(work) if f.startswith("crash-")]
        m = re.search(r"stat::number_of_executed_units:\s+(\d+)", r.stderr)
        if not crashes:
            missed += 1
            print(f"seed {seed}: nothing in {el:.0f} s")
            shutil.rmtree(work)
            continue
        n = int(m.group(1)) if m else -1
        kind = re.search(r"FINDING ([a-z-]+: [^(\n]{0,80})", r.stderr)
        prog = os.path.join(work, "prog.txt")
        with open(prog, "w") as f:
            subprocess.run([ops, "decode-seed", "fuzz_sched", os.path.join(work, crashes[0])],
                           stdout=f, check=True)
        with open(prog) as f:
            text = [ln for ln in f if not ln.startswith("#")]
        with open(prog, "w") as f:
            f.writelines(text)
        nops = sum(1 for ln in text if ln.startswith("  "))
        mr = subprocess.run([sim, "minimize", prog, "--variant", variant, "--no-races",
                             "--iterations", "20000", "--out", prog + ".min"],
                            capture_output=True, text=True)
        mm = re.search(r"minimised program \((\d+) ops\)", mr.stdout)
        mops = int(mm.group(1)) if mm else None
        secs.append(el)
        execs.append(n)
        if mops is not None:
            min_ops.append(mops)
        print(f"seed {seed}: {el:6.1f} s, {n:8d} execs, {nops} ops -> "
              f"{mops if mops is not None else '?'} after minimising; "
              f"{kind.group(1).strip() if kind else '?'}")
        shutil.rmtree(work)
    if secs:
        print(f"{variant}: median {statistics.median(secs):.1f} s, "
              f"{statistics.median(execs):.0f} execs to the first finding "
              f"({len(secs)}/{runs} runs); minimised reproducer median "
              f"{statistics.median(min_ops) if min_ops else '?'} ops")
    return 1 if missed else 0


if __name__ == "__main__":
    strictio.run(main)
