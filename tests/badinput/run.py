#!/usr/bin/env python3
"""tests/badinput/run.py: the table-driven bad-input suite (issue 15).

  run.py --bin DIR [--tool NAME] [--table FILE]   the cases of cases.txt
  run.py --bin DIR --random N [--seed S]          N random inputs per file input

Every case runs one tool in a fresh fixture folder (made here: programs,
seeds, JSON of every wrong shape, a FIFO, a directory, pre-existing outputs)
and asserts:
  - the exit code (2 for a bad input);
  - that stderr names the bad input (a substring given by the case);
  - that stderr holds no traceback, no sanitizer report, at most two lines
    for an exit 2 (the message and a "Try --help" line);
  - that nothing in the fixture folder changed: no output created, emptied
    or replaced (the pre-existing outputs are byte-compared);
  - that the tool ended within its time-out (60 s; a FIFO read would hang).
The random mode feeds random bytes and random JSON to every file input
(programs, seeds, replays, benchmark JSON, nightly summaries, mutation
matrices) and asserts the documented exit codes, never 3, a signal or a
traceback. Exit: 0 all passed, 1 a case failed, 2 usage.
"""
import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PY = sys.executable or "/usr/bin/python3"
TIMEOUT_S = 60  # per case: a hang fails the case; sanitizer lanes on a loaded machine are slow


def die(msg):
    print(f"badinput: {msg}", file=sys.stderr)
    sys.exit(2)


# ---- fixtures --------------------------------------------------------------

PRECIOUS = "precious: must survive every bad invocation\n"


def bench(rows):
    return json.dumps({"context": {}, "benchmarks": rows})


def bm(name="BM_Baseline_Cas", **kw):
    row = {"name": name, "run_type": "iteration", "real_time": 10.0, "cpu_time": 9.0,
           "time_unit": "ns"}
    row.update(kw)
    return row


def summary(**kw):
    s = {"started": "20261201T000000Z", "complete": True, "steps": [], "findings": [],
         "storms": []}
    s.update(kw)
    return json.dumps(s)


# name -> contents (str or bytes). Folders, FIFOs and run roots are made below.
FILES = {
    "prog.txt": open(os.path.join(ROOT, "corpus", "sim", "48925-lost-ready.txt")).read(),
    "clean.txt": "thread 0\n  ready d0 r\n  wait d0 r\n",
    "empty.txt": "",
    "blank.txt": "\n\n# only a comment\n",
    "nul.txt": b"thread 0\n  wait d0 r\n\x00\x01\x02",
    "bom.txt": "\ufeffthread 0\n  wait d0 r\n",
    "cr.txt": "thread 0\r  ready d0 r\r  wait d0 r\r",
    "crlf.txt": "thread 0\r\n  ready d0 r\r\n  wait d0 r\r\n",
    "nonutf8.txt": b"thread 0\n  w\xffit d0 r\n",
    "huge_token.txt": "thread 0\n  " + "x" * 5_000_000 + "\n",
    "t65.txt": "".join(f"thread {t}\n" for t in range(65)),
    "t6.txt": "".join(f"thread {t}\n  ready d0 r\n" for t in range(6)),
    "t5.txt": "".join(f"thread {t}\n  ready d0 r\n" for t in range(5)),
    "skip_thread.txt": "thread 0\nthread 2\n",
    "op_first.txt": "  wait d0 r\nthread 0\n",
    "bad_op.txt": "thread 0\n  wiat d0 r\n",
    "bad_desc.txt": "thread 0\n  wait d16 r\n",
    "bad_mode.txt": "thread 0\n  wait d0 x\n",
    "bad_dl.txt": "thread 0\n  deadline d0 r soon\n",
    "bad_adv.txt": "thread 0\n  advance 0us\n",
    "neg_adv.txt": "thread 0\n  advance -5us\n",
    "ovf_adv.txt": "thread 0\n  advance 9223372036854775807ms\n",
    "bad_everr.txt": "thread 0\n  everr d0 maybe\n",
    "extra_word.txt": "thread 0\n  unblock d0 now\n",
    "write_mode.txt": "thread 0\n  write d0 w\n",
    "epollerr_on.txt": "thread 0\n  epollerr d0 on\n",
    "hangup_nodesc.txt": "thread 0\n  hangup\n",
    "drain_d16.txt": "thread 0\n  drain d16\n",
    "hangp.txt": "thread 0\n  hangp d0\n",
    "dl5ms.txt": "thread 0\n  deadline d0 w 5ms\n",
    "dl5ns.txt": "thread 0\n  deadline d0 r 5ns\n",
    "dl15us.txt": "thread 0\n  deadline d0 r 15us\n",
    "adv5ms.txt": "thread 0\n  advance 5ms\n",
    "adv1ns.txt": "thread 0\n  advance 1ns\n",
    "sched25.txt": "thread 0\n" + "  ready d0 r\n" * 25,
    "big300k.txt": "".join(f"thread {t}\n" + "  ready d0 r\n  reset d0 r\n  advance 10us\n" * 33334
                           for t in range(3)),
    "max.txt": ("thread 0\nthread 1\n  advance 9223372036854775807ns\n  deadline d2 w 50us\n"
                "thread 2\n  ready d1 r\n  reset d2 w\n"),
    "existing.min": PRECIOUS,
    "existing.json": PRECIOUS,
    "existing.bin": PRECIOUS,
    "existing.md": PRECIOUS,
    "prog.txt.min": PRECIOUS,
    "seed.bin": bytes([0x03, 0x00, 0x00, 0x04, 0x00, 0x00]),
    "sched_short.bin": bytes([5, 0x03, 0x00]),
    "sched_empty.bin": b"",
    "bench_ok.json": bench([bm(), bm("BM_Reset<Fixed>")]),
    "bench_ok2.json": bench([bm(real_time=11.0), bm("BM_Reset<Fixed>", real_time=12.0)]),
    "bench_zero.json": bench([bm(real_time=0)]),
    "bench_neg.json": bench([bm(real_time=-3.5)]),
    "bench_cpu_zero.json": bench([bm(cpu_time=0)]),
    "bench_items_zero.json": bench([bm(items_per_second=0)]),
    "bench_late_neg.json": bench([bm("BM_Lateness_TimedFutex", late_median_ns=-1)]),
    "bench_nan.json": '{"benchmarks":[{"name":"BM_A","real_time":NaN,"cpu_time":1}]}',
    "bench_inf.json": '{"benchmarks":[{"name":"BM_A","real_time":Infinity,"cpu_time":1}]}',
    "bench_bool.json": bench([bm(real_time=True)]),
    "bench_str_time.json": bench([bm(real_time="10")]),
    "bench_list.json": "[]",
    "bench_string.json": '"benchmarks"',
    "bench_number.json": "42",
    "bench_null.json": "null",
    "bench_nobench.json": "{}",
    "bench_bench_str.json": '{"benchmarks": "many"}',
    "bench_bench_obj.json": '{"benchmarks": {"a": 1}}',
    "bench_item_num.json": '{"benchmarks": [1, 2]}',
    "bench_noname.json": bench([{"real_time": 1, "cpu_time": 1}]),
    "bench_name_num.json": bench([bm(name=5)]),
    "bench_unit_list.json": bench([bm(time_unit=["ns"])]),
    "bench_unit_bad.json": bench([bm(time_unit="fortnights")]),
    "bench_runname_list.json": bench([bm(run_name=["x"])]),
    "bench_runtype_obj.json": bench([bm(run_type={"a": 1})]),
    "bench_norows.json": bench([]),
    "bench_aggregate_only.json": bench([bm(run_type="aggregate")]),
    "bench_deep.json": "[" * 100000 + "]" * 100000,
    "bench_trunc.json": '{"benchmarks": [',
    "bench_nonutf8.json": b'{"benchmarks": ["\xff\xfe"]}',
    "bench_binary.json": bytes(range(256)),
    "bench_bom.json": "\ufeff" + bench([bm()]),
    "resume_list.json": "[]",
    "resume_nomut.json": '{"modes": ["unit"]}',
    "resume_mut_list.json": '{"mutants": []}',
    "resume_mut_num.json": '{"mutants": {"precedence-swapped": 3}}',
    "resume_modes_str.json": '{"mutants": {}, "modes": "unit"}',
    "resume_modes_bad.json": '{"mutants": {}, "modes": ["bogus"]}',
    "resume_mode_list.json": '{"mutants": {"precedence-swapped": {"modes": []}}}',
    "resume_result_bad.json": ('{"mutants": {"precedence-swapped": {"modes": {"unit": '
                               '{"result": "maybe", "seconds": 1, "how": ""}}}}}'),
    "resume_seconds_str.json": ('{"mutants": {"precedence-swapped": {"modes": {"unit": '
                                '{"result": "killed", "seconds": "1", "how": ""}}}}}'),
    "resume_binary.json": b"\x00\xff\x10",
    "resume_deep.json": '{"mutants":' + "[" * 50000 + "]" * 50000 + "}",
}

SUMMARIES = {
    "ok": summary(steps=[{"name": "build", "status": "ok", "seconds": 1}]),
    "list": "[]",
    "string": '"summary"',
    "null": "null",
    "steps_str": summary(steps="build"),
    "steps_obj": summary(steps={"a": 1}),
    "step_num": summary(steps=[5]),
    "step_nostatus": summary(steps=[{"name": "build"}]),
    "step_noname": summary(steps=[{"status": "ok"}]),
    "step_seconds_str": summary(steps=[{"name": "b", "status": "ok", "seconds": "1"}]),
    "findings_str": summary(findings="none"),
    "finding_num": summary(findings=[7]),
    "finding_after_str": summary(findings=[{"kind": "x", "after_s": "soon"}]),
    "finding_count_str": summary(findings=[{"kind": "x", "count": "1"}]),
    "finding_status_num": summary(findings=[{"kind": "x", "status": 1}]),
    "storms_obj": summary(storms={"a": 1}),
    "storm_novariant": summary(storms=[{"profile": "mixed"}]),
    "storm_variant_num": summary(storms=[{"variant": 1}]),
    "storm_summary_list": summary(storms=[{"variant": "fixed", "summary": []}]),
    "storm_ttd_str": summary(storms=[{"variant": "fixed", "ttd_s": "1"}]),
    "bench_list": summary(bench=[]),
    "bench_ratio_noname": summary(bench={"ratios": [{"median": 1}]}),
    "bench_ratio_median_str": summary(bench={"ratios": [{"name": "x", "median": "1"}]}),
    "mutation_list": summary(mutation=[1]),
    "mutation_mutants_list": summary(mutation={"mutants": [1]}),
    "canary_list": summary(canary=[]),
    "canary_tests_num": summary(canary={"x86": {"tests": 5}}),
    "complete_str": summary(complete="yes"),
    "sim_str": summary(sim="pct"),
    "fuzz_list": summary(fuzz=[]),
    "coverage_list": summary(coverage=[]),
    "nonutf8": b'{"steps": ["\xff"]}',
    "binary": bytes(range(256)),
    "trunc": '{"steps": [',
    "empty": "",
    "deep": "[" * 100000 + "]" * 100000,
}


def make_fixture(d):
    for name, content in FILES.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(os.path.join(d, name), mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
            f.write(content)
    os.mkdir(os.path.join(d, "dir"))
    os.mkfifo(os.path.join(d, "fifo"))
    os.mkdir(os.path.join(d, "fifodir"))
    os.mkfifo(os.path.join(d, "fifodir", "a.json"))
    os.mkdir(os.path.join(d, "sp ace"))
    shutil.copy(os.path.join(d, "prog.txt"), os.path.join(d, "sp ace", "p.txt"))
    # make_report run folders
    for name, content in SUMMARIES.items():
        rd = os.path.join(d, "runs", name)
        os.makedirs(rd)
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(os.path.join(rd, "summary.json"), mode) as f:
            f.write(content)
    os.makedirs(os.path.join(d, "runs", "html_dir", "index.html"))
    with open(os.path.join(d, "runs", "html_dir", "summary.json"), "w") as f:
        f.write(SUMMARIES["ok"])
    os.makedirs(os.path.join(d, "runs", "fifo_summary"))
    os.mkfifo(os.path.join(d, "runs", "fifo_summary", "summary.json"))
    os.makedirs(os.path.join(d, "runs", "dir_summary", "summary.json"))
    os.makedirs(os.path.join(d, "runs", "no_summary"))
    # mutate.py work folders: someone's files, and an empty one
    os.makedirs(os.path.join(d, "foreign", "pristine"))
    with open(os.path.join(d, "foreign", "pristine", "thesis.tex"), "w") as f:
        f.write(PRECIOUS)
    with open(os.path.join(d, "foreign", "notes.txt"), "w") as f:
        f.write(PRECIOUS)
    # nightly roots: a copy of the script beside a damaged reports/runs
    for root, make in (("latest_file", lambda r: open(os.path.join(r, "reports", "runs", "latest"), "w").write(PRECIOUS)),
                       ("latest_dir", lambda r: os.makedirs(os.path.join(r, "reports", "runs", "latest", "keep"))),
                       ("latest_tmp_file", lambda r: open(os.path.join(r, "reports", "runs", "latest.tmp"), "w").write(PRECIOUS)),
                       ("runs_file", None),
                       ("known_binary", lambda r: open(os.path.join(r, "corpus", "known-findings.txt"), "wb").write(b"\xff\xfe\x00sig")),
                       ("known_fifo", lambda r: os.mkfifo(os.path.join(r, "corpus", "known-findings.txt")))):
        r = os.path.join(d, "nroot", root)
        os.makedirs(os.path.join(r, "scripts"))
        os.makedirs(os.path.join(r, "corpus"))
        for s in ("nightly.py", "strictio.py", "sarif.py"):
            shutil.copy(os.path.join(ROOT, "scripts", s), os.path.join(r, "scripts", s))
        if root == "runs_file":
            os.makedirs(os.path.join(r, "reports"))
            with open(os.path.join(r, "reports", "runs"), "w") as f:
                f.write(PRECIOUS)
        else:
            os.makedirs(os.path.join(r, "reports", "runs"))
            make(r)


def snapshot(d):
    """Every entry under d: type, and contents' hash for files (FIFOs are not read)."""
    snap = {}
    for base, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(base, n)
            st = os.lstat(p)
            key = os.path.relpath(p, d)
            if stat.S_ISREG(st.st_mode) and st.st_size > (1 << 20):
                # Big inputs are never outputs: identity, not contents (speed).
                snap[key] = ("file", st.st_size, st.st_mtime_ns, st.st_ino)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    snap[key] = ("file", hashlib.sha1(f.read()).hexdigest())
            elif stat.S_ISLNK(st.st_mode):
                snap[key] = ("link", os.readlink(p))
            else:
                snap[key] = (stat.S_IFMT(st.st_mode), "")
    return snap


def changes(before, after):
    out = []
    for k in sorted(set(before) | set(after)):
        if k not in after:
            out.append(f"removed {k}")
        elif k not in before:
            out.append(f"created {k}")
        elif before[k] != after[k]:
            out.append(f"changed {k}")
    return out


# ---- tools -----------------------------------------------------------------

def tools(bin_dir):
    return {
        "sim": [os.path.join(bin_dir, "explore", "pollstorm-sim")],
        "ops": [os.path.join(bin_dir, "explore", "pollstorm-ops")],
        "storm": [os.path.join(bin_dir, "stress", "pollstorm-storm")],
        "canary": [os.path.join(bin_dir, "canary", "pollstorm-canary")],
        "pollstorm": ["bash", os.path.join(ROOT, "scripts", "pollstorm")],
        "cross": ["bash", os.path.join(ROOT, "scripts", "cross.sh")],
        "bench_report": [PY, os.path.join(ROOT, "scripts", "bench_report.py")],
        "make_report": [PY, os.path.join(ROOT, "reports", "make_report.py")],
        "mutate": [PY, os.path.join(ROOT, "scripts", "mutate.py")],
        "fuzz_ttd": [PY, os.path.join(ROOT, "scripts", "fuzz_ttd.py")],
        "sarif": [PY, os.path.join(ROOT, "scripts", "sarif.py")],
        "mutants_net": [PY, os.path.join(ROOT, "scripts", "mutants_net.py")],
        # nightly runs from a fixture root: its first word is the root's name
        "nightly": [PY],
    }


BAD_STDERR = re.compile(r"Traceback|AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:|"
                        r"terminate called|Aborted|core dumped")


def run_tool(argv, env, cwd, timeout=TIMEOUT_S):
    t = time.monotonic()
    try:
        r = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", "", time.monotonic() - t
    return (r.returncode, r.stdout.decode("utf-8", "replace"),
            r.stderr.decode("utf-8", "replace"), time.monotonic() - t)


def base_env():
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("POLLSTORM_SIM_") or k.startswith("POLLSTORM_FUZZ"):
            del env[k]
    # Leak checking on: a tool's exit code must be its own under ASan too.
    env["ASAN_OPTIONS"] = "detect_leaks=1"
    env["LC_ALL"] = "C.UTF-8"
    return env


# ---- the table -------------------------------------------------------------

NONREG = [("missing", "missing"), ("dir", "dir"), ("fifo", "fifo"), ("/dev/null", "/dev/null")]


def parse_table(path):
    """Lines 'TOOL RC | ARGS | EXPECT'. ARGS may start with VAR=VALUE words
    (environment). {F}/{FN} in a line expand it over the non-regular files
    (missing, dir, fifo, /dev/null). EXPECT 'stdout:TEXT' looks at stdout."""
    cases = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = [p.strip() for p in line.split(" | ")]
            if len(parts) != 3:
                die(f"{path}:{lineno}: expected 'TOOL RC | ARGS | EXPECT'")
            head = parts[0].split()
            if len(head) != 2 or not head[1].isdigit():
                die(f"{path}:{lineno}: expected 'TOOL RC' before the first '|'")
            variants = NONREG if "{F}" in line else [(None, None)]
            for fpath, fname in variants:
                args, expect = parts[1], parts[2]
                if fpath is not None:
                    args = args.replace("{F}", fpath)
                    expect = expect.replace("{FN}", fname)
                cases.append({"tool": head[0], "rc": int(head[1]), "args": args,
                              "expect": expect, "where": f"{os.path.basename(path)}:{lineno}"})
    return cases


def run_case(c, tl, d, env0):
    words = shlex.split(c["args"].replace("{D}", d).replace("{BIG}", "9" * 5000))
    env = dict(env0)
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        k, v = words.pop(0).split("=", 1)
        env[k] = v
    if c["tool"] == "nightly":
        root = os.path.join(d, "nroot", words.pop(0))
        argv = [PY, os.path.join(root, "scripts", "nightly.py")] + words
    else:
        argv = tl[c["tool"]] + words
    before = snapshot(d)
    rc, out, err, secs = run_tool(argv, env, d)
    problems = []
    if rc is None:
        problems.append(f"no exit within {TIMEOUT_S} s (a hang)")
    else:
        if rc != c["rc"]:
            problems.append(f"exit {rc}, expected {c['rc']}")
        want = c["expect"].replace("{D}", d)
        if want.startswith("writes:"):  # writes:NAME:TEXT, NAME is the one output allowed
            name, text = want[7:].split(":", 1)
            try:
                with open(os.path.join(d, name), encoding="utf-8", errors="replace") as f:
                    if text not in f.read():
                        problems.append(f"{name} lacks '{text}'")
            except OSError:
                problems.append(f"{name} was not written")
        elif want.startswith("stdout:"):
            if want[7:] not in out:
                problems.append(f"stdout lacks '{want[7:]}'")
        elif want and want not in err:
            problems.append(f"stderr does not name '{want}'")
        if BAD_STDERR.search(err):
            problems.append("stderr has a traceback or a sanitizer report")
        if rc == 2 and len([ln for ln in err.splitlines() if ln.strip()]) > 2:
            problems.append("more than one message line on stderr for a usage error")
    after = snapshot(d)
    allowed = c["expect"][7:].split(":", 1)[0] if c["expect"].startswith("writes:") else None
    problems += [ch for ch in changes(before, after) if ch.split(" ", 1)[1] != allowed]
    return problems, rc, err, secs


def main(argv):
    ap = argparse.ArgumentParser(description="the bad-input suite (issue 15)")
    ap.add_argument("--bin", required=True, help="the build folder")
    ap.add_argument("--tool", help="only this tool's cases")
    ap.add_argument("--table", default=os.path.join(HERE, "cases.txt"))
    ap.add_argument("--random", type=int, default=0, help="random inputs per file input")
    ap.add_argument("--seed", type=int, default=1)
    ns = ap.parse_args(argv[1:])
    bin_dir, tool, table, nrandom, seed = os.path.abspath(ns.bin), ns.tool, ns.table, ns.random, ns.seed
    tl = tools(bin_dir)
    for t in ("sim", "ops", "storm", "canary"):
        if not os.access(tl[t][0], os.X_OK):
            die(f"{tl[t][0]} is not built")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pollstorm-badinput-") as d:
        make_fixture(d)
        if nrandom:
            import random_inputs  # noqa: E402  (tests/badinput/random_inputs.py)
            failed, n, per = random_inputs.run_all(tl, d, base_env(), nrandom, seed, run_tool,
                                                   snapshot, changes, BAD_STDERR)
            summary_line = ", ".join(f"{k} exit {v}" for k, v in per.items())
            print(f"random inputs: {n} runs ({summary_line}), {failed} failed, "
                  f"{time.monotonic() - t0:.1f} s")
            return 1 if failed else 0
        cases = parse_table(table)
        if tool:
            cases = [c for c in cases if c["tool"] == tool]
            if not cases:
                die(f"no case for tool '{tool}'")
        unknown = {c["tool"] for c in cases} - set(tl)
        if unknown:
            die(f"unknown tool(s) in the table: {', '.join(sorted(unknown))}")
        env = base_env()
        failed = 0
        for c in cases:
            problems, rc, err, secs = run_case(c, tl, d, env)
            if problems or c["expect"].startswith("writes:"):
                failed += 1 if problems else 0
                if problems:
                    print(f"FAIL {c['where']} {c['tool']} {c['args'][:120]}\n  "
                          + "\n  ".join(problems) + f"\n  stderr: {err.strip()[:300]}")
                # A case that changed the fixture must not spoil the next ones.
                shutil.rmtree(d)
                os.mkdir(d)
                make_fixture(d)
        per = {}
        for c in cases:
            per[c["tool"]] = per.get(c["tool"], 0) + 1
        print(f"bad-input table: {len(cases)} cases ("
              + ", ".join(f"{k} {v}" for k, v in sorted(per.items()))
              + f"), {failed} failed, {time.monotonic() - t0:.1f} s")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    sys.exit(main(sys.argv))
