"""tests/badinput/random_inputs.py: random bytes and random JSON into every
file input (run.py --random N). Seeded: the same seed, the same inputs.

Each input kind runs N times. Asserted each time: the exit code is one the
tool documents for that input (0, 1 or 2: a bad input is 2, never 3, never a
signal); an exit 2 names the input file on stderr; no traceback or
sanitizer report; nothing in the fixture folder changed except the output the
case allows, and no hang.
"""
import json
import os
import random

# Words of the operation language, so that random programs get past the
# first line often enough to exercise the parser and the runners.
WORDS = ["thread", "0", "1", "2", "3", "4", "5", "64", "open", "close", "reset", "wait", "ready",
         "everr", "deadline", "unblock", "io", "read", "advance", "d0", "d1", "d15", "d16", "r",
         "w", "rw", "on", "off", "past", "zero", "far", "50us", "1ns", "0ns", "10us",
         "9223372036854775807ns", "9223372036854775808ns", "5ms", "-1us", "#", "\t", "\r"]


def random_bytes(rng, n_max=300):
    return bytes(rng.randrange(256) for _ in range(rng.randrange(n_max)))


VALID_OPS = ["open d{d}", "close d{d}", "reset d{d} {m}", "wait d{d} {m}", "ready d{d} {mm}",
             "everr d{d} on", "everr d{d} off", "deadline d{d} {mm} {dl}", "unblock d{d}",
             "io d{d}", "read d{d}", "advance {du}"]
DURATIONS = ["1ns", "10us", "50us", "2530us", "9223372036854775807ns", "1ms", "3600000ms"]


def valid_program(rng):
    """A program that parses: the extreme durations (1 ns, INT64_MAX, sums
    that overflow) included."""
    lines = []
    for t in range(rng.randrange(1, 6)):
        lines.append(f"thread {t}")
        for _ in range(rng.randrange(6)):
            op = rng.choice(VALID_OPS).format(
                d=rng.randrange(3), m=rng.choice("rw"), mm=rng.choice(["r", "w", "rw"]),
                dl=rng.choice(["past", "zero", "far"] + DURATIONS), du=rng.choice(DURATIONS))
            lines.append("  " + op)
    return ("\n".join(lines) + "\n").encode()


def random_program(rng):
    """A third valid programs, the rest op-language-shaped junk or raw bytes."""
    pick = rng.random()
    if pick < 0.35:
        return valid_program(rng)
    if pick < 0.5:
        return random_bytes(rng)
    lines = []
    if pick < 0.75:
        lines.append("thread 0")
    for _ in range(rng.randrange(12)):
        if rng.random() < 0.2:
            lines.append(f"thread {len([x for x in lines if x.startswith('thread')])}")
        else:
            lines.append("  " + " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 5))))
    text = "\n".join(lines) + rng.choice(["\n", "", "\r\n", "\x00"])
    return text.encode("utf-8", "surrogateescape")


def random_json(rng, depth=0, keys=()):
    """A random JSON value, with keys drawn from the tool's vocabulary."""
    kinds = ["null", "bool", "int", "float", "str", "list", "obj"] if depth < 4 else \
        ["null", "bool", "int", "float", "str"]
    k = rng.choice(kinds)
    if k == "null":
        return None
    if k == "bool":
        return rng.random() < 0.5
    if k == "int":
        return rng.choice([0, -1, 1, 7, 2 ** 63, -(2 ** 70)])
    if k == "float":
        return rng.choice([0.0, -2.5, 1e-300, 3.5, 1e300])
    if k == "str":
        return rng.choice(["", "x", "ns", "ok", "fixed", "BM_Reset<Fixed>", "\u00b2", "\ud7ff"])
    if k == "list":
        return [random_json(rng, depth + 1, keys) for _ in range(rng.randrange(4))]
    return {rng.choice(keys) if keys and rng.random() < 0.8 else "k": random_json(rng, depth + 1, keys)
            for _ in range(rng.randrange(5))}


BENCH_KEYS = ("benchmarks", "name", "run_name", "run_type", "real_time", "cpu_time", "time_unit",
              "items_per_second", "late_median_ns", "error_occurred")
SUMMARY_KEYS = ("steps", "findings", "storms", "bench", "canary", "cross", "sim", "fuzz",
                "coverage", "mutation", "complete", "name", "status", "seconds", "variant",
                "summary", "after_s", "ratios", "derived", "mutants", "modes", "tests")
MATRIX_KEYS = ("mutants", "modes", "result", "how", "unit", "sim")
SARIF_KEYS = ("version", "runs", "results", "ruleId", "partialFingerprints", "pollstormSignature/v1",
              "kind", "message", "signature", "variant", "sites", "file", "line", "status")


def random_bench(rng):
    if rng.random() < 0.3:
        return random_bytes(rng)
    v = random_json(rng, 0, BENCH_KEYS)
    if rng.random() < 0.5:
        v = {"benchmarks": [random_json(rng, 1, BENCH_KEYS) for _ in range(rng.randrange(4))]}
    return json.dumps(v).encode()


def random_summary(rng):
    if rng.random() < 0.3:
        return random_bytes(rng)
    return json.dumps(random_json(rng, 0, SUMMARY_KEYS)).encode()


def random_matrix(rng):
    """Never a valid matrix (a valid one would start the mutation run): when
    the shape gets close, a mode result is made invalid."""
    if rng.random() < 0.3:
        return random_bytes(rng)
    v = random_json(rng, 0, MATRIX_KEYS)
    if isinstance(v, dict) and isinstance(v.get("mutants"), dict):
        v["mutants"]["precedence-swapped"] = {"modes": {"unit": {"result": "maybe", "seconds": 1}}}
    return json.dumps(v).encode()


def random_sarif(rng):
    """A SARIF-ish log (scripts/sarif.py merge): sometimes close to the shape."""
    if rng.random() < 0.3:
        return random_bytes(rng)
    v = random_json(rng, 0, SARIF_KEYS)
    if rng.random() < 0.5:
        v = {"version": "2.1.0", "runs": [{"results": [random_json(rng, 2, SARIF_KEYS)]}]}
    return json.dumps(v).encode()


def random_findings(rng):
    """Findings lines (scripts/sarif.py from-jsonl): random JSON, one per line."""
    if rng.random() < 0.3:
        return random_bytes(rng)
    return "\n".join(json.dumps(random_json(rng, 1, SARIF_KEYS)) for _ in range(rng.randrange(4))).encode()


def random_hex(rng):
    """Schedules: valid-looking hex of random bytes, sometimes with a valid
    header, sometimes not hex at all."""
    pick = rng.random()
    if pick < 0.2:
        return "".join(rng.choice("0123456789abcdefxyz -") for _ in range(rng.randrange(40)))
    body = random_bytes(rng, 40)
    if pick < 0.5:
        body = bytes([1, rng.randrange(2)]) + bytes(8) + body
    elif pick < 0.8:  # a well-formed schedule of random choices: replays, then mismatches
        n = rng.randrange(30)
        body = bytes([1, rng.randrange(2)]) + bytes(8) + bytes([n]) + bytes(
            rng.randrange(8) for _ in range(n))
    return body.hex()


def run_all(tools, d, env, n, seed, run_tool, snapshot, changes, bad_stderr):
    """Returns (failures, runs, {kind: 'exit codes seen'})."""
    rng = random.Random(seed)
    f_in = os.path.join(d, "rand.in")
    out = os.path.join(d, "rand.out")
    run_dir = os.path.join(d, "randrun")
    os.makedirs(run_dir, exist_ok=True)
    kinds = [
        # (kind, make input, argv after the tool, allowed exit codes, the file to name,
        #  outputs the case may create)
        ("sim-program", random_program, ("sim", ["run", f_in, "--iterations", "3"]), {0, 1, 2},
         "rand.in", ()),
        ("sim-sequential", random_program, ("sim", ["run", f_in, "--sequential"]), {0, 1, 2},
         "rand.in", ()),
        ("ops-encode", random_program, ("ops", ["encode-seed", "fuzz_ops", f_in, out]), {0, 2},
         "rand.in", ("rand.out",)),
        ("ops-encode-sched", random_program, ("ops", ["encode-seed", "fuzz_sched", f_in, out]),
         {0, 2}, "rand.in", ("rand.out",)),
        ("ops-decode", random_bytes, ("ops", ["decode-seed", "fuzz_ops", f_in]), {0}, "rand.in", ()),
        ("ops-decode-sched", random_bytes, ("ops", ["decode-seed", "fuzz_sched", f_in]), {0, 2},
         "rand.in", ()),
        ("sim-replay", None, ("sim", ["run", os.path.join(d, "clean.txt"), "--replay"]), {0, 1, 2},
         "--replay", ()),
        ("bench-json", random_bench, ("bench_report", ["ratios", f_in]), {0, 2}, "rand.in", ()),
        ("summary-json", random_summary, ("make_report", [run_dir]), {0, 2}, "summary.json",
         ("randrun/",)),
        ("sarif-merge", random_sarif, ("sarif", ["merge", out, f_in]), {0, 2}, "rand.in",
         ("rand.out",)),
        ("sarif-from-jsonl", random_findings, ("sarif", ["from-jsonl", out, f_in]), {0, 2},
         "rand.in", ("rand.out",)),
        ("matrix-json", random_matrix,
         ("mutate", ["--resume", "--json", f_in, "--mutants", "precedence-swapped", "--modes", "unit"]),
         {2}, "rand.in", ()),
    ]
    failed, runs, per = 0, 0, {}
    for kind, make, (tool, args), allowed, named, may_create in kinds:
        seen = {}
        for i in range(n):
            argv = tools[tool] + list(args)
            if kind == "sim-replay":
                argv.append(random_hex(rng))
            else:
                data = make(rng)
                target = os.path.join(run_dir, "summary.json") if kind == "summary-json" else f_in
                with open(target, "wb") as fh:
                    fh.write(data)
            before = snapshot(d)
            rc, _, err, _ = run_tool(argv, env, d)
            after = snapshot(d)
            problems = []
            if rc is None:
                problems.append("a hang")
            elif rc not in allowed:
                problems.append(f"exit {rc}, allowed {sorted(allowed)}")
            if rc == 2 and named not in err:
                problems.append(f"exit 2 without naming '{named}'")
            if bad_stderr.search(err):
                problems.append("a traceback or a sanitizer report")
            problems += [c for c in changes(before, after)
                         if not any(c.split(" ", 1)[1].startswith(m) and
                                    not c.endswith("summary.json") for m in may_create)]
            if problems:
                failed += 1
                print(f"FAIL random {kind} #{i}: {'; '.join(problems)}\n  argv tail: "
                      f"{argv[-3:]}\n  stderr: {err.strip()[:300]}")
            if os.path.exists(out):
                os.remove(out)
            for name in os.listdir(run_dir):  # the page and plots of a summary that rendered
                if name != "summary.json":
                    os.remove(os.path.join(run_dir, name))
            runs += 1
            seen[rc] = seen.get(rc, 0) + 1
        per[kind] = "/".join(f"{k}:{v}" for k, v in sorted(seen.items(), key=lambda kv: str(kv[0])))
    return failed, runs, per
