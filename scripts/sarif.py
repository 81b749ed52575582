#!/usr/bin/env python3
"""sarif.py: pollstorm findings as SARIF 2.1.0 (docs/engines.md).

  sarif.py from-jsonl OUT.sarif IN.jsonl... [--tool NAME]
      findings, one JSON object per line (pollstorm-storm --findings, the
      nightly's findings.jsonl, the fuzz campaign's findings.jsonl), as one
      SARIF log; a finding with a "status" ("known"/"new", the nightly's
      verdict) keeps it, others are known when their signature is in
      corpus/known-findings.txt (never on tip)
  sarif.py merge OUT.sarif IN.sarif... [--tool NAME]
      SARIF logs of pollstorm tools (storm shards) as one run, deduplicated
      by signature (partialFingerprints["pollstormSignature/v1"]): the first
      result of a signature is kept, properties.count says how many shards
      had it and properties.shards which
  sarif.py validate FILE.sarif...
      each file against the SARIF 2.1.0 JSON schema vendored in
      tests/sarif/sarif-schema-2.1.0.json (python3-jsonschema)
  sarif.py summary FILE.sarif
      one line per result: baselineState, rule, signature

The shape is harness/findings/sarif.h's (the native tools' writer): rule =
the finding kind; locations = the port's source lines (both sides of a race
when the finding has two), else the Go function the oracle judged; the
message carries the signature and the repro command; known findings are
baselineState "unchanged" with an external, accepted suppression.

Exit: 0 done (validate: every file valid), 1 validate found an invalid
file, 2 bad usage or input, 3 internal error.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strictio  # noqa: E402
from strictio import fail, shown  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = os.path.join(ROOT, "tests", "sarif", "sarif-schema-2.1.0.json")
SCHEMA_URI = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
              "sarif-schema-2.1.0.json")
FINGERPRINT = "pollstormSignature/v1"

# A TSan frame in the port: "#0 pollstorm::PollDesc<..>::NetpollUnblock(int) /src/polldesc/poll_desc.h:488:7"
_TSAN_FRAME = re.compile(r"#\d+ (.*?) (?:/\S*?/)?(polldesc/\S+?):(\d+)(?::\d+)?\s*$", re.M)
# A simulator site: "at poll_desc.h:377 (InfoStore)"
_SIM_SITE = re.compile(r"at ([A-Za-z0-9_.]+):([0-9]+) \(([A-Za-z0-9_:~]+)\)")


def port_file(base, _cache={}):
    """The port's file with this base name, relative to ROOT; None if none."""
    if base not in _cache:
        _cache[base] = None
        for d, _, files in sorted(os.walk(os.path.join(ROOT, "polldesc"))):
            if base in files:
                _cache[base] = os.path.relpath(os.path.join(d, base), ROOT)
                break
    return _cache[base]


def line_of(rel, needle):
    try:
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if needle in line:
                    return n
    except OSError:
        pass
    return 0


def fallback_site(variant, message):
    """The Go function the oracle judged (harness/findings/sarif.h's SarifFallbackSite)."""
    go = ("netpollblockcommit" if "netpollWaiters" in message
          else "poll_runtime_pollReset"
          if "reset" in message and "wait" not in message and "parked" not in message
          else "poll_runtime_pollWait")
    rel = "polldesc/tip/netpoll_tip.h" if variant == "tip" else "polldesc/poll_desc.h"
    return {"file": rel, "line": line_of(rel, f"GO: {go}"), "function": go}


def sites_of(f):
    """The port's lines a finding names: its "sites" (the native tools), else
    the simulator's sites in its message and detail text."""
    if isinstance(f.get("sites"), list) and f["sites"]:
        return [{"file": s["file"], "line": s.get("line") if isinstance(s.get("line"), int) else 0,
                 "function": str(s.get("function") or "")}
                for s in f["sites"] if isinstance(s, dict) and isinstance(s.get("file"), str) and s["file"]]
    out = []
    # Not the notes: races seen earlier that were not the finding (--no-races),
    # as harness/simrun/sarif_result.cc leaves them out too.
    text = "\n".join(ln for ln in f"{f.get('message', '')}\n{f.get('detail', '')}".splitlines()
                     if not ln.lstrip().startswith("note:"))
    for m in _SIM_SITE.finditer(text):
        rel = port_file(m.group(1))
        site = {"file": rel, "line": int(m.group(2)), "function": m.group(3)}
        if rel and not any(o["file"] == rel and o["line"] == site["line"] for o in out):
            out.append(site)
    return out


def location(s):
    loc = {"physicalLocation": {"artifactLocation": {"uri": s["file"], "uriBaseId": "%SRCROOT%"}}}
    if isinstance(s.get("line"), int) and s["line"] > 0:
        loc["physicalLocation"]["region"] = {"startLine": s["line"]}
    if s.get("function"):
        loc["logicalLocations"] = [{"fullyQualifiedName": s["function"], "kind": "function"}]
    return loc


def load_known():
    path = os.environ.get("POLLSTORM_KNOWN_FINDINGS") or os.path.join(ROOT, "corpus",
                                                                     "known-findings.txt")
    text = strictio.read_text(path, "known findings list", 16 << 20)
    return {ln.split("#", 1)[0].strip() for ln in text.splitlines()} - {""}


def result(f, rule_index, known):
    """One SARIF result of a finding dict (kind, message, signature, repro,
    variant, and sites or detail; status when the caller judged it)."""
    kind = str(f.get("kind") or "finding")
    sig = str(f.get("signature") or f"{kind}:{f.get('variant', '?')}:{f.get('message', '')}")
    variant = str(f.get("variant", ""))
    if f.get("status") in ("known", "new"):
        is_known = f["status"] == "known"
    else:
        is_known = variant != "tip" and sig in known
    sites = sites_of(f) or [fallback_site(variant, str(f.get("message", "")))]
    r = {"ruleId": kind, "ruleIndex": rule_index, "level": "error",
         "message": {"text": f"{f.get('message', '')}\nsignature: {sig}\nrepro: {f.get('repro', '')}"},
         "locations": [location(s) for s in sites],
         "partialFingerprints": {FINGERPRINT: sig},
         "baselineState": "unchanged" if is_known else "new",
         "properties": {"variant": variant, "signature": sig, "repro": str(f.get("repro", "")),
                        "known": is_known}}
    if is_known:
        r["suppressions"] = [{"kind": "external", "status": "accepted",
                              "justification": "a known finding: listed in corpus/known-findings.txt"}]
    for k in ("step", "count", "after_s", "seed"):
        if k in f:
            r["properties"][k] = f[k]
    return r


def log(tool, rules, results):
    return {"$schema": SCHEMA_URI, "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": tool, "rules": [
                {"id": r, "shortDescription": {"text": f"pollstorm finding: {r}"}} for r in rules]}},
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the pollstorm source tree"}}},
                "results": results}]}


def from_findings(findings, tool="pollstorm", known=None):
    """A SARIF log (dict) of finding dicts."""
    known = load_known() if known is None else known
    rules, results = [], []
    for f in findings:
        kind = str(f.get("kind") or "finding")
        if kind not in rules:
            rules.append(kind)
        results.append(result(f, rules.index(kind), known))
    return log(tool, rules, results)


def read_jsonl(path):
    out = []
    text = strictio.read_text(path, "findings file")
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            f = json.loads(line)
        except json.JSONDecodeError as e:
            fail(f"findings file '{shown(path)}' line {n}: not JSON ({e.msg})")
        if not isinstance(f, dict):
            fail(f"findings file '{shown(path)}' line {n}: not a JSON object")
        out.append(f)
    return out


def merge(logs, tool):
    """One run of every result of `logs` (name, parsed SARIF), one per signature."""
    rules, results, by_sig = [], [], {}
    for name, doc in logs:
        runs = doc.get("runs") if isinstance(doc, dict) else None
        if not isinstance(runs, list) or doc.get("version") != "2.1.0" or \
                not all(isinstance(r, dict) and isinstance(r.get("results", []), list) for r in runs):
            fail(f"'{shown(name)}' is not a SARIF 2.1.0 log")
        for run in runs:
            for r in run.get("results", []):
                fp = r.get("partialFingerprints") if isinstance(r, dict) else None
                sig = fp.get(FINGERPRINT) if isinstance(fp, dict) else None
                if not isinstance(sig, str) or not sig or not isinstance(r.get("ruleId"), str):
                    fail(f"'{shown(name)}': a result without partialFingerprints['{FINGERPRINT}'] "
                         "(not a pollstorm log)")
                if sig in by_sig:
                    p = by_sig[sig]["properties"]
                    p["count"] = p.get("count", 1) + 1
                    if name not in p["shards"]:
                        p["shards"].append(name)
                    continue
                r = json.loads(json.dumps(r))
                if r["ruleId"] not in rules:
                    rules.append(r["ruleId"])
                r["ruleIndex"] = rules.index(r["ruleId"])
                r.setdefault("properties", {})
                r["properties"]["count"] = 1
                r["properties"]["shards"] = [name]
                by_sig[sig] = r
                results.append(r)
    return log(tool, rules, results)


def validate(doc):
    """The schema's errors for `doc` (an empty list when valid)."""
    try:
        import jsonschema  # Debian's python3-jsonschema; scripts/pollstorm setup installs it
    except ImportError:
        print("sarif.py: python3-jsonschema is not installed (scripts/pollstorm setup)", file=sys.stderr)
        sys.exit(3)
    schema = strictio.load_json(SCHEMA, "SARIF schema")
    v = jsonschema.Draft4Validator(schema)
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
            for e in sorted(v.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


def main(argv):
    strictio.set_prog("sarif.py")
    if len(argv) >= 2 and argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0
    if len(argv) < 2:
        fail("expected a command: from-jsonl, merge, validate or summary (--help)")
    cmd, args = argv[1], argv[2:]
    tool = "pollstorm"
    if "--tool" in args:
        i = args.index("--tool")
        if i + 1 >= len(args) or not args[i + 1]:
            fail("--tool needs a name")
        tool = args[i + 1]
        del args[i:i + 2]
    for a in args:
        if a.startswith("--"):
            fail(f"unknown option '{shown(a)}'")
    if cmd == "validate":
        if not args:
            fail("validate: expected SARIF files")
        bad = 0
        for path in args:
            errs = validate(strictio.load_json(path, "SARIF log"))
            if errs:
                bad += 1
                print(f"INVALID {path}: {len(errs)} schema error(s)")
                for e in errs[:20]:
                    print(f"  {e}")
            else:
                n = sum(len(r.get("results", [])) for r in strictio.load_json(path)["runs"])
                print(f"valid SARIF 2.1.0: {path} ({n} result(s))")
        return 1 if bad else 0
    if cmd == "summary":
        if len(args) != 1:
            fail("summary: expected one SARIF file")
        doc = strictio.load_json(args[0], "SARIF log")
        if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
            fail(f"'{shown(args[0])}' is not a SARIF log")
        for run in doc["runs"]:
            for r in (run.get("results") or []) if isinstance(run, dict) else []:
                print(f"{r.get('baselineState', '?'):9} {r.get('ruleId')}  "
                      f"{(r.get('partialFingerprints') or {}).get(FINGERPRINT, '?')}")
        return 0
    if cmd in ("from-jsonl", "merge"):
        if len(args) < 2:
            fail(f"{cmd}: expected OUT.sarif and at least one input")
        out, inputs = args[0], args[1:]
        strictio.check_output("output", out)
        for p in inputs:
            if os.path.abspath(p) == os.path.abspath(out):
                fail(f"output '{shown(out)}' is also an input")
        if cmd == "from-jsonl":
            findings = [f for p in inputs for f in read_jsonl(p)]
            doc = from_findings(findings, tool)
        else:
            doc = merge([(p, strictio.load_json(p, "SARIF log")) for p in inputs], tool)
        strictio.write_atomic(out, json.dumps(doc, indent=1) + "\n")
        print(f"{out}: {len(doc['runs'][0]['results'])} result(s) from {len(inputs)} input(s)")
        return 0
    fail(f"unknown command '{shown(cmd)}' (from-jsonl, merge, validate, summary)")
    return 2


if __name__ == "__main__":
    strictio.run(main)
