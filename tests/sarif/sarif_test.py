#!/usr/bin/python3
"""tests/sarif/sarif_test.py: SARIF from real runs, validated against the
SARIF 2.1.0 schema (tests/sarif/sarif-schema-2.1.0.json) and checked for
what docs/engines.md promises.

  sarif_test.py sim  POLLSTORM_SIM      a simulator finding (#45211's close
                                        race on seed: two sites) and a clean run
  sarif_test.py storm POLLSTORM_STORM LANE
                                        LANE tsan: two storms on legacy (TSan
                                        data races: both sides in polldesc/,
                                        known ones suppressed), merged by
                                        scripts/sarif.py merge (deduplicated by
                                        signature); any lane: a storm with a
                                        dropped wake (lost-wakeup, no stack:
                                        the fallback location)
  sarif_test.py nightly POLLSTORM_STORM  the nightly's findings.sarif: a real
                                        storm finding and a known legacy race,
                                        with and without --inject legacy
Each check prints what it saw; exit 1 on the first failed check.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import sarif  # noqa: E402

KNOWN = sarif.load_known()
FAILED = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILED.append(what)


def run(cmd, want_rc):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    check(r.returncode in want_rc, f"{' '.join(os.path.basename(c) for c in cmd[:3])}... exit "
          f"{r.returncode} (want {sorted(want_rc)})")
    if r.returncode not in want_rc:
        print(r.stdout[-2000:], r.stderr[-2000:])
    return r


def load_valid(path, name):
    with open(path) as f:
        doc = json.load(f)
    errs = sarif.validate(doc)
    check(not errs, f"{name}: valid SARIF 2.1.0 ({len(errs)} schema errors)")
    for e in errs[:10]:
        print("    ", e)
    return doc


def results(doc):
    return [r for run_ in doc["runs"] for r in run_["results"]]


def check_result_shape(r, name):
    sig = r["partialFingerprints"][sarif.FINGERPRINT]
    text = r["message"]["text"]
    check(f"signature: {sig}" in text and "\nrepro: scripts/pollstorm " in text,
          f"{name}: message carries the signature and a repro command ({sig[:70]})")
    for loc in r["locations"]:
        pl = loc["physicalLocation"]
        uri, line = pl["artifactLocation"]["uri"], pl.get("region", {}).get("startLine", 0)
        ok = uri.startswith("polldesc/") and os.path.isfile(os.path.join(ROOT, uri)) and line > 0
        check(ok, f"{name}: location {uri}:{line} is a line of the port")
    known = r["baselineState"] == "unchanged"
    want = sig in KNOWN and r["properties"]["variant"] != "tip"
    check(known == want and bool(r.get("suppressions")) == want,
          f"{name}: baselineState {r['baselineState']} matches corpus/known-findings.txt "
          f"({'listed' if sig in KNOWN else 'not listed'})")


def test_sim(sim, tmp):
    out = os.path.join(tmp, "sim.sarif")
    run([sim, "run", os.path.join(ROOT, "corpus", "sim", "45211-close.txt"), "--variant", "seed",
         "--sarif", out], {1})
    doc = load_valid(out, "sim finding")
    rs = results(doc)
    check(len(rs) == 1 and rs[0]["ruleId"] == "data-race", f"sim: one data-race result ({len(rs)})")
    if rs:
        check(len(rs[0]["locations"]) == 2, f"sim: both sides of the race ({len(rs[0]['locations'])} locations)")
        check_result_shape(rs[0], "sim")
    clean = os.path.join(tmp, "clean.sarif")
    run([sim, "run", os.path.join(ROOT, "corpus", "sim", "45211-close.txt"), "--variant", "fixed",
         "--iterations", "200", "--sarif", clean], {0})
    check(results(load_valid(clean, "sim clean")) == [], "sim clean: no results")
    # The validator can fail: a damaged copy must be refused.
    doc["runs"][0]["results"][0]["baselineState"] = "maybe"
    check(bool(sarif.validate(doc)), "a damaged log (baselineState 'maybe') is invalid")


def same_as_python(doc, jsonl, name):
    """The native writer (harness/findings/sarif.cc) and scripts/sarif.py,
    given the same findings, agree on every result's rule, fingerprint,
    baseline state and locations."""
    py = sarif.from_findings(sarif.read_jsonl(jsonl), "pollstorm-storm")
    key = lambda r: (r["ruleId"], r["partialFingerprints"][sarif.FINGERPRINT], r["baselineState"],
                     json.dumps(r["locations"], sort_keys=True))
    a, b = sorted(map(key, results(doc))), sorted(map(key, results(py)))
    check(a == b and len(a) > 0, f"{name}: scripts/sarif.py from-jsonl gives the same {len(a)} result(s)")


def test_storm(storm, lane, tmp):
    if lane == "tsan":
        logs = []
        for seed in ("1", "2"):
            out = os.path.join(tmp, f"storm-legacy-{seed}.sarif")
            jsonl = os.path.join(tmp, f"storm-legacy-{seed}.jsonl")
            run([storm, "--variant", "legacy", "--seed", seed, "--duration", "4", "--sarif", out,
                 "--findings", jsonl], {1})
            doc = load_valid(out, f"storm legacy seed {seed}")
            same_as_python(doc, jsonl, f"storm legacy seed {seed}")
            rs = results(doc)
            races = [r for r in rs if r["ruleId"] == "data-race"]
            check(len(races) > 0, f"storm legacy seed {seed}: {len(races)} data-race result(s)")
            for r in rs:
                check_result_shape(r, f"storm {seed}")
            for r in races:
                # data-race:VARIANT:SIDE:SIDE; a side outside the port is "?".
                sig = r["partialFingerprints"][sarif.FINGERPRINT]
                want = 2 - sig.split(":", 2)[2].split(":").count("?")
                check(len(r["locations"]) == want, f"storm {seed}: both sides of {sig} "
                      f"({len(r['locations'])} locations, {want} in the port)")
            logs.append((out, doc))
        merged = sarif.merge(logs, "pollstorm-storm-shards")
        check(not sarif.validate(merged), "merged shards: valid SARIF 2.1.0")
        sigs = [{r["partialFingerprints"][sarif.FINGERPRINT] for r in results(d)} for _, d in logs]
        mr = results(merged)
        msigs = [r["partialFingerprints"][sarif.FINGERPRINT] for r in mr]
        check(len(msigs) == len(set(msigs)) and set(msigs) == sigs[0] | sigs[1],
              f"merged shards: one result per signature ({len(msigs)} = |{len(sigs[0])} u {len(sigs[1])}|)")
        check(sum(r["properties"]["count"] for r in mr) == sum(len(results(d)) for _, d in logs),
              "merged shards: counts add up to the shards' results")
        both = sigs[0] & sigs[1]
        check(all(len(r["properties"]["shards"]) == 2 for r in mr
                  if r["partialFingerprints"][sarif.FINGERPRINT] in both),
              f"merged shards: {len(both)} signature(s) seen in both shards name both")
    out = os.path.join(tmp, "storm-drop.sarif")
    jsonl = os.path.join(tmp, "storm-drop.jsonl")
    run([storm, "--variant", "fixed", "--duration", "2", "--drop-wake", "200", "--watchdog-ms", "500",
         "--sarif", out, "--findings", jsonl], {1})
    doc = load_valid(out, "storm lost-wakeup")
    same_as_python(doc, jsonl, "storm lost-wakeup")
    rs = results(doc)
    lw = [r for r in rs if r["ruleId"] == "lost-wakeup"]
    check(len(lw) >= 1, f"storm lost-wakeup: {len(lw)} lost-wakeup result(s)")
    for r in lw:
        check_result_shape(r, "storm lost-wakeup")


def test_nightly(storm, tmp):
    """The nightly's findings.sarif (scripts/nightly.py Run.save): every
    finding the run recorded, with the run's verdict as baseline state; a real
    storm finding (a dropped wake) and a known legacy race, with and without
    --inject legacy."""
    import importlib.util
    import io
    import shutil
    from contextlib import redirect_stderr
    jsonl = os.path.join(tmp, "drop.jsonl")
    run([storm, "--variant", "fixed", "--duration", "2", "--drop-wake", "200", "--watchdog-ms", "500",
         "--findings", jsonl], {1})
    storm_findings = sarif.read_jsonl(jsonl)
    known_sig = "data-race:legacy:PollDesc::NetpollUnblock:PollDesc::Reset"
    check(known_sig in KNOWN, f"{known_sig} is listed in corpus/known-findings.txt")
    for inject in (None, "legacy"):
        root = os.path.join(tmp, f"root-{inject}")
        for d in ("scripts", "corpus", "reports/runs", "polldesc/tip"):
            os.makedirs(os.path.join(root, d))
        for f in ("scripts/nightly.py", "scripts/strictio.py", "scripts/sarif.py",
                  "reports/make_report.py", "corpus/known-findings.txt", "polldesc/poll_desc.h",
                  "polldesc/tip/netpoll_tip.h"):
            shutil.copy(os.path.join(ROOT, f), os.path.join(root, f))
        sys.path.insert(0, os.path.join(root, "scripts"))
        saved = sys.modules.pop("sarif")
        try:
            spec = importlib.util.spec_from_file_location(f"nightly_{inject}",
                                                          os.path.join(root, "scripts", "nightly.py"))
            nightly = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(nightly)
            with redirect_stderr(io.StringIO()):
                r = nightly.Run(60, inject, set())
                for f in storm_findings:
                    r.add_finding(dict(f), "storms")
                r.add_finding({"kind": "data-race", "message": "data race: ...", "variant": "legacy",
                               "signature": known_sig, "after_s": 0.5, "repro": "scripts/pollstorm storm --variant legacy",
                               "sites": [{"file": "polldesc/poll_desc.h", "line": 488, "function": "PollDesc::NetpollUnblock"}]},
                              "storms")
                r.save()
            r.lock.close()
        finally:
            sys.path.pop(0)
            sys.modules["sarif"] = saved
        doc = load_valid(os.path.join(r.dir, "findings.sarif"), f"nightly findings.sarif (inject {inject})")
        rs = results(doc)
        check(len(rs) == len(r.s["findings"]) == len(storm_findings) + 1,
              f"nightly (inject {inject}): {len(rs)} results for {len(r.s['findings'])} findings")
        by_sig = {x["partialFingerprints"][sarif.FINGERPRINT]: x for x in rs}
        want = "new" if inject == "legacy" else "unchanged"
        got = by_sig.get(known_sig, {}).get("baselineState")
        check(got == want, f"nightly (inject {inject}): the legacy race is {got} (want {want})")
        check(all(by_sig[f["signature"]]["baselineState"] == "new" for f in storm_findings),
              f"nightly (inject {inject}): the dropped wake on fixed is new")


def main(argv):
    with tempfile.TemporaryDirectory() as tmp:
        if argv[1] == "sim":
            test_sim(argv[2], tmp)
        elif argv[1] == "nightly":
            test_nightly(argv[2], tmp)
        elif argv[1] == "storm":
            test_storm(argv[2], argv[3], tmp)
        else:
            print(f"unknown test '{argv[1]}'")
            return 2
    print(f"{len(FAILED)} failed check(s)")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
