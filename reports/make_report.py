#!/usr/bin/python3
"""make_report.py RUN_DIR: render RUN_DIR/summary.json as RUN_DIR/index.html.

The page puts findings first (new, then known, then fixed), each with its
reproducer, then the plots (matplotlib, PNG files beside the page): storm
throughput and wake latency, time to detect per variant, benchmark ratios
against the previous run, the litmus canary table, the simulator's PCT bound.
A summary with "complete": false renders as a partial report and says so.
It is called after every step of a nightly run, so an interrupted run still
has a page that opens.
"""
import html
import json
import numbers
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import strictio  # noqa: E402  (scripts/strictio.py: strict inputs, exit 2/3)
from strictio import shown  # noqa: E402

strictio.set_prog("make_report")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # the page still renders, without plots
    plt = None


def esc(s):
    return html.escape(str(s))


def plot(path, draw):
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    try:
        draw(ax)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return os.path.basename(path)


def findings_section(s):
    fs = s.get("findings", [])
    order = {"new": 0, "known": 1, "fixed": 2}
    fs = sorted(fs, key=lambda f: (order.get(f.get("status"), 3), f.get("after_s", 0)))
    out = ["<h2>Findings</h2>"]
    new = [f for f in fs if f.get("status") == "new"]
    if new:
        out.append(f'<p class="bad">{len(new)} NEW finding(s): read these first.</p>')
    elif fs:
        out.append('<p class="good">No new findings. Known ones (the harness catching the '
                   'historical variants) are listed below.</p>')
    else:
        out.append('<p class="good">No findings.</p>')
    for f in fs:
        st = f.get("status", "?")
        if st == "known":
            continue
        out.append(f'<details class="finding {st}"{" open" if st == "new" else ""}>'
                   f'<summary><b>[{esc(st)}]</b> {esc(f.get("kind"))}: {esc(f.get("message"))}'
                   f' <span class="dim">({esc(f.get("variant"))}, after {f.get("after_s", 0):.3f} s,'
                   f' seen {f.get("count", 1)}x, step {esc(f.get("step", "?"))})</span></summary>'
                   f'<p>signature: <code>{esc(f.get("signature"))}</code></p>'
                   f'<p>repro: <code>{esc(f.get("repro"))}</code></p>'
                   f'<pre>{esc(f.get("detail", ""))}</pre></details>')
    known = [f for f in fs if f.get("status") == "known"]
    if known:
        out.append("<h3>Known (expected on the historical variants)</h3><table><tr><th>variant</th>"
                   "<th>kind</th><th>where</th><th>seen</th><th>first after</th></tr>")
        for f in known:
            out.append(f"<tr><td>{esc(f.get('variant'))}</td><td>{esc(f.get('kind'))}</td>"
                       f"<td>{esc(f.get('message'))}</td><td>{f.get('count', 1)}</td>"
                       f"<td>{f.get('after_s', 0):.3f} s</td></tr>")
        out.append("</table>")
    return "\n".join(out)


def storms_section(s, run_dir):
    storms = s.get("storms", [])
    if not storms:
        return ""
    out = ["<h2>Storms (real threads)</h2><table><tr><th>variant</th><th>profile</th>"
           "<th>lane</th><th>seconds</th><th>ops/s</th><th>findings</th><th>time to detect</th>"
           "<th>timeouts judged / early / late max</th></tr>"]
    for st in storms:
        sm = st.get("summary") or {}
        to = sm.get("timeouts", {})
        out.append(f"<tr><td>{esc(st['variant'])}</td><td>{esc(st['profile'])}</td>"
                   f"<td>{esc(st.get('lane'))}</td><td>{sm.get('elapsed_s', 0):.0f}</td>"
                   f"<td>{sm.get('ops_per_s', 0):,.0f}</td><td>{st.get('findings', 0)}</td>"
                   f"<td>{'' if st.get('ttd_s') is None else '%.3f s' % st['ttd_s']}</td>"
                   f"<td>{to.get('judged', 0)} / {to.get('early', 0)} / {to.get('late_max_us', 0)} us</td></tr>")
    out.append("</table>")
    with_sum = [st for st in storms if st.get("summary")]

    def draw_ops(ax):
        labels = [f"{st['variant']}\n{st['profile']}" for st in with_sum]
        ax.bar(range(len(with_sum)), [st["summary"].get("ops_per_s", 0) for st in with_sum])
        ax.set_xticks(range(len(with_sum)), labels, fontsize=7)
        ax.set_ylabel("pollDesc ops/s")
        ax.set_title("storm throughput (TSan lane unless noted)")

    def draw_lat(ax):
        for st in with_sum:
            h = st["summary"].get("wake_latency_log2us", [])
            if sum(h):
                ax.plot(range(len(h)), h, marker=".", label=f"{st['variant']}/{st['profile']}")
        ax.set_yscale("log")
        ax.set_xlabel("wake latency bucket: < 2^k us")
        ax.set_ylabel("wakes")
        ax.set_title("wake latency (notification or unblock -> waiter returns)")
        ax.legend(fontsize=6)

    if with_sum:
        for name, fn in (("storm_ops.png", draw_ops), ("wake_latency.png", draw_lat)):
            p = plot(os.path.join(run_dir, name), fn)
            if p:
                out.append(f'<img src="{p}" alt="{name}">')
    ttd = [st for st in storms if st.get("ttd_s") is not None]
    if ttd:
        def draw_ttd(ax):
            vs = sorted({st["variant"] for st in ttd})
            ax.boxplot([[st["ttd_s"] for st in ttd if st["variant"] == v] for v in vs], labels=vs)
            ax.set_ylabel("seconds to first finding")
            ax.set_title("time to detect, per variant (TSan storm)")
        p = plot(os.path.join(run_dir, "ttd.png"), draw_ttd)
        if p:
            out.append(f'<img src="{p}" alt="time to detect">')
    return "\n".join(out)


def bench_section(s, run_dir):
    b = s.get("bench")
    if not b:
        return ""
    rows = b.get("ratios", [])
    out = ["<h2>Benchmarks</h2><p>Each figure is a ratio against its physical baseline "
           "measured in the same run (lower is better for times).</p><table><tr><th>benchmark</th>"
           "<th>median</th><th>baseline</th><th>ratio</th><th>vs previous run</th></tr>"]
    for r in rows:
        prev = r.get("prev_ratio")
        out.append(f"<tr><td>{esc(r['name'])}</td><td>{r['median']:.1f} {esc(r.get('unit', 'ns'))}</td>"
                   f"<td>{esc(r.get('baseline') or '(baseline)')}</td>"
                   f"<td>{'' if r.get('ratio') is None else '%.2fx' % r['ratio']}</td>"
                   f"<td>{'' if prev is None else '%.2fx' % prev}</td></tr>")
    out.append("</table>")
    out.append(derived_table(b.get("derived") or []))
    with_ratio = [r for r in rows if r.get("ratio") is not None]
    if with_ratio:
        def draw(ax):
            ax.barh(range(len(with_ratio)), [r["ratio"] for r in with_ratio], label="this run")
            prev = [r.get("prev_ratio") or 0 for r in with_ratio]
            if any(prev):
                ax.scatter(prev, range(len(with_ratio)), color="red", zorder=3, label="previous run")
            ax.set_yticks(range(len(with_ratio)), [r["name"] for r in with_ratio], fontsize=6)
            ax.axvline(1.0, color="gray", lw=0.8)
            ax.set_xlabel("ratio to baseline")
            ax.legend(fontsize=7)
        p = plot(os.path.join(run_dir, "bench.png"), draw)
        if p:
            out.append(f'<img src="{p}" alt="benchmark ratios" class="tall">')
    return "\n".join(out)


def derived_table(derived):
    """The derived ratios (scripts/bench_report.py derived_rows): the goals
    against Go's netpoll, the cost of the fixed audit, scaling. Goals first."""
    if not derived:
        return ""
    rows = sorted(derived, key=lambda d: (not d.get("goal"), d.get("group", "")))
    out = ["<h3>Derived ratios: goals against Go's netpoll, the audit's cost, scaling</h3>",
           "<table><tr><th>group</th><th>ratio</th><th>value</th><th>goal</th>"
           "<th>verdict</th></tr>"]
    for d in rows:
        v = d.get("value")
        verdict = d.get("verdict") or ""
        cls = "good" if verdict == "met" else "bad" if verdict.startswith("MISSED") else "dim"
        out.append(f"<tr><td>{esc(d.get('group', ''))}</td><td>{esc(d.get('label', ''))}</td>"
                   f"<td>{esc(d.get('note') or 'n/a') if v is None else '%.2fx' % v}</td>"
                   f"<td>{esc(d.get('goal_text', ''))}</td>"
                   f'<td class="{cls}">{esc(verdict)}</td></tr>')
    out.append("</table>")
    return "\n".join(out)


def mutation_section(s):
    m = s.get("mutation")
    if not m or not m.get("mutants"):
        return generic_section("Mutation self-test", m)
    modes = m.get("modes", [])
    score = m.get("score")
    out = ["<h2>Mutation self-test</h2>",
           f"<p>score {m.get('killed')}/{m.get('considered')} killed"
           + (f" ({100 * score:.0f}%)" if score is not None else "")
           + f"; per-mode budget {esc(m.get('budget_s', '?'))} s; "
           f"{esc(m.get('note', ''))}</p>",
           "<table><tr><th>mutant</th>" + "".join(f"<th>{esc(x)}</th>" for x in modes)
           + "<th>what it plants</th></tr>"]
    for name, r in m["mutants"].items():
        cells = []
        for x in modes:
            c = r["modes"].get(x, {})
            res = c.get("result", "")
            cls = {"killed": "good", "survived": "bad"}.get(res, "dim")
            label = f"K {c.get('seconds', 0):.1f}s" if res == "killed" else res
            cells.append(f'<td class="{cls}" title="{esc(c.get("how", ""))}">{esc(label)}</td>')
        eq = " (argued equivalent)" if r.get("equivalent") else ""
        out.append(f"<tr><td>{esc(name)}</td>{''.join(cells)}"
                   f"<td>{esc(r.get('description', ''))}{esc(eq)}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def coverage_section(s):
    c = s.get("coverage")
    if not c:
        return ""
    out = ["<h2>Coverage of polldesc/ by the fuzz corpus</h2>",
           f"<p>lines {c.get('lines_pct', 0):.1f}% ({c.get('lines_covered')}/{c.get('lines')}), "
           f"branches {c.get('branches_pct', 0):.1f}% ({c.get('branches_covered')}/"
           f"{c.get('branches')}), functions {c.get('functions_pct', 0):.1f}%. "
           f'<a href="{esc(c.get("html", ""))}">source view (llvm-cov)</a></p>']
    return "\n".join(out)


def sim_section(s, key="sim"):
    """The simulator under PCT: per program, executions, the result, and the
    probability bound 1/(n k^(d-1)) for the schedules explored. key: sim, or
    sim_tip for the second variant under test."""
    m = s.get(key)
    if not m:
        return ""
    out = [f"<h2>Simulator: corpus/sim under PCT (depth {m.get('depth')}, weak memory) on "
           f"{esc(m.get('variant', '?'))}</h2>",
           "<p>PCT finds a given bug of depth d in one execution with probability at least "
           "1/(n&middot;k<sup>d&minus;1</sup>) (n threads, k scheduling points). The last "
           "column bounds the chance that such a bug survived every execution of the run.</p>",
           "<table><tr><th>program</th><th>executions</th><th>result</th><th>n</th><th>k</th>"
           "<th>bound per execution</th><th>P(depth-3 bug missed)</th></tr>"]
    for r in m.get("programs", []):
        res = r.get("finding")
        cls = "bad" if res else "good"
        out.append(f"<tr><td>{esc(r['program'])}</td><td>{r.get('executions') or ''}</td>"
                   f'<td class="{cls}">{esc(res or "clean")}</td><td>{r.get("n", "")}</td>'
                   f"<td>{r.get('k', '')}</td>"
                   f"<td>{'' if 'bound' not in r else '%.3g' % r['bound']}</td>"
                   f"<td>{'' if 'p_miss' not in r else '%.3g' % r['p_miss']}</td></tr>")
    out.append("</table>")
    ex = m.get("explore")
    if ex:
        found = ex.get("findings") or []
        out.append(f"<p>Generated programs (pollstorm-sim explore, mode {esc(ex.get('mode', '?'))}): "
                   f"{ex.get('programs', '?')} programs, {ex.get('executions', '?')} executions in "
                   f"{ex.get('seconds', '?')} s; never generated: {esc(ex.get('never_generated', '?'))}; "
                   + (f'<span class="bad">{len(found)} finding(s): '
                      + esc("; ".join(found)) + "</span>" if found else
                      '<span class="good">clean</span>') + "</p>")
    return "\n".join(out)


def fuzz_section(s, run_dir, key="fuzz"):
    """Fuzzing: executions per second and coverage over time, per target.
    key: fuzz, or fuzz_tip for the second variant under test."""
    f = s.get(key)
    if not f:
        return ""
    series = f.get("series") or {}
    out = [f"<h2>Fuzzing ({esc(f.get('variant', '?'))}, {esc(f.get('seconds_per_target', '?'))} s "
           "per target, -fork over the cores)</h2>"]
    if not series:
        out.append("<p>No progress lines were recorded.</p>")
        return "\n".join(out)
    out.append("<table><tr><th>target</th><th>executions</th><th>exec/s (last)</th>"
               "<th>coverage (edges)</th><th>features</th></tr>")
    for t, pts in series.items():
        p = pts[-1]
        out.append(f"<tr><td>{esc(t)}</td><td>{p['execs']:,}</td><td>{p['exec_s']:,}</td>"
                   f"<td>{p['cov']:,}</td><td>{p['ft']:,}</td></tr>")
    out.append("</table>")

    def draw(ax):
        ax2 = ax.twinx()
        for t, pts in series.items():
            ax.plot([p["t"] for p in pts], [p["exec_s"] for p in pts], marker=".", label=f"{t} exec/s")
            ax2.plot([p["t"] for p in pts], [p["ft"] for p in pts], ls="--", label=f"{t} features")
        ax.set_xlabel("seconds into the campaign")
        ax.set_ylabel("exec/s")
        ax2.set_ylabel("coverage features (dashed)")
        ax.legend(fontsize=7, loc="lower left")
        ax2.legend(fontsize=7, loc="lower right")
        ax.set_title("fuzz exec/s and coverage over time")
    p = plot(os.path.join(run_dir, f"{key}.png"), draw)
    if p:
        out.append(f'<img src="{p}" alt="fuzz exec/s and coverage over time">')
    return "\n".join(out)


def canary_section(s):
    """The litmus canary per platform (harness/litmus, scripts/cross.sh):
    weak outcomes seen out of the instances run, against C11."""
    c = s.get("canary")
    cross = s.get("cross") or {}
    if not c:
        return generic_section("Cross job (aarch64)", cross) if cross else ""
    plats = list(c)
    tests = []
    for p in plats:
        for t in c[p].get("tests", []):
            if t["name"] not in tests:
                tests.append(t["name"])
    out = ["<h2>Litmus canary per platform</h2>",
           "<p>Weak outcomes seen per test (instances in brackets). A forbidden outcome "
           "(C11 forbids it) seen on a platform means that platform cannot be trusted for "
           "that shape: a finding of the same shape there is explained by the platform, "
           "not by the port.</p>",
           "<table><tr><th>test</th>" + "".join(f"<th>{esc(p)}</th>" for p in plats)
           + "<th>C11</th></tr>"]
    for name in tests:
        cells, allowed = [], ""
        for p in plats:
            t = next((x for x in c[p].get("tests", []) if x["name"] == name), None)
            if t is None:
                cells.append("<td></td>")
                continue
            weak = [o for o in t.get("outcomes", []) if o.get("weak")]
            allowed = "allowed" if all(o.get("c11_allowed") for o in weak) else "FORBIDDEN"
            n = t.get("forbidden", 0) or t.get("weak", 0)
            cls = "bad" if t.get("forbidden") else "dim"
            cells.append(f'<td class="{cls}">{n} ({t.get("instances", "?")})</td>')
        orders = next((x.get("orders", "") for p in plats for x in c[p].get("tests", [])
                       if x["name"] == name), "")
        out.append(f"<tr><td>{esc(name)} ({esc(orders)})</td>" + "".join(cells)
                   + f"<td>{allowed}</td></tr>")
    out.append("</table>")
    if cross.get("summary"):
        out.append(f"<details><summary>cross job summary (exit {cross.get('exit')})</summary>"
                   f"<pre>{esc(cross['summary'])}</pre></details>")
    return "\n".join(out)


def generic_section(title, obj):
    if not obj:
        return ""
    return f"<h2>{esc(title)}</h2><pre>{esc(json.dumps(obj, indent=2))}</pre>"


# The summary's shape, as nightly.py writes it: (key, type) at the top, and
# the fields each list item must have. Checked before anything is rendered,
# so a damaged summary.json is exit 2 naming the field, not a traceback.
NUMBER = (numbers.Real,)
TOP = {"steps": list, "findings": list, "storms": list, "bench": dict, "canary": dict,
       "cross": dict, "sim": dict, "fuzz": dict, "sim_tip": dict, "fuzz_tip": dict,
       "coverage": dict, "mutation": dict,
       "complete": bool}
ITEMS = {
    "steps": {"name": (str,), "status": (str,)},
    "findings": {},
    "storms": {"variant": (str,)},
}
OPTIONAL = {
    "steps": {"seconds": NUMBER, "note": (str,)},
    "findings": {"status": (str,), "after_s": NUMBER, "count": (int,), "kind": (str,),
                 "message": (str,), "variant": (str,)},
    "storms": {"summary": (dict, type(None)), "ttd_s": NUMBER + (type(None),),
               "findings": (int,), "profile": (str,), "lane": (str,)},
}


TYPE_NAME = {list: "a list", dict: "an object", bool: "true or false"}


def check_shape(s, path):
    where = f"'{shown(path)}'"
    if not isinstance(s, dict):
        strictio.fail(f"{where} is not a nightly summary (a JSON {type(s).__name__}, not an object)")
    for key, typ in TOP.items():
        if s.get(key) is not None and not isinstance(s[key], typ):
            strictio.fail(f"{where}: '{key}' is not {TYPE_NAME[typ]}")
    for key, need in ITEMS.items():
        for i, item in enumerate(s.get(key) or []):
            if not isinstance(item, dict):
                strictio.fail(f"{where}: {key}[{i}] is not an object")
            for field, types in need.items():
                if not isinstance(item.get(field), types) or isinstance(item.get(field), bool):
                    strictio.fail(f"{where}: {key}[{i}] has no {field} string")
            for field, types in OPTIONAL[key].items():
                v = item.get(field)
                if field in item and (not isinstance(v, types) or isinstance(v, bool)):
                    strictio.fail(f"{where}: {key}[{i}].{field} has the wrong type ({type(v).__name__})")


def render(run_dir):
    if not os.path.isdir(run_dir):
        strictio.fail(f"RUN_DIR '{shown(run_dir)}' is not a directory")
    path = os.path.join(run_dir, "summary.json")
    out_path = os.path.join(run_dir, "index.html")
    strictio.check_output("the page", out_path)
    s = strictio.load_json(path, "summary")
    check_shape(s, path)
    try:
        page = page_of(s, run_dir)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        # A field deeper than check_shape looks is of the wrong shape.
        strictio.fail(f"'{shown(path)}' has the wrong shape for a nightly summary "
                      f"({type(e).__name__}: {shown(e)})")
    strictio.write_atomic(out_path, page)
    return 0


def page_of(s, run_dir):
    complete = s.get("complete", False)
    steps = s.get("steps", [])
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>pollstorm nightly "
             f"{esc(s.get('started', ''))}</title><style>"
             "body{font-family:sans-serif;max-width:1100px;margin:1em auto;color:#222}"
             ".bad{color:#b00;font-weight:bold}.good{color:#070}.dim{color:#777;font-weight:normal}"
             ".partial{background:#fec;padding:.5em;border:1px solid #c90}"
             "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px}"
             "details.finding{border:1px solid #ccc;margin:.3em 0;padding:.3em}"
             "details.new{border-color:#b00;background:#fff4f4}pre{font-size:80%;overflow-x:auto}"
             "img{max-width:100%;display:block;margin:.5em 0}</style></head><body>",
             f"<h1>pollstorm nightly — {esc(s.get('started', ''))}</h1>",
             f"<p>budget {esc(s.get('budget'))}, commit <code>{esc(s.get('commit'))}</code>, "
             f"host {esc(s.get('host'))}</p>"]
    if not complete:
        parts.append('<p class="partial">PARTIAL REPORT: this run did not finish (interrupted or '
                     'still running). What is below is what completed.</p>')
    parts.append(findings_section(s))
    parts.append("<h2>Steps</h2><table><tr><th>step</th><th>status</th><th>seconds</th>"
                 "<th>note</th></tr>")
    for st in steps:
        parts.append(f"<tr><td>{esc(st['name'])}</td><td>{esc(st['status'])}</td>"
                     f"<td>{st.get('seconds', 0):.0f}</td><td>{esc(st.get('note', ''))}</td></tr>")
    parts.append("</table>")
    parts.append(storms_section(s, run_dir))
    parts.append(bench_section(s, run_dir))
    parts.append(canary_section(s))
    parts.append(sim_section(s))
    parts.append(sim_section(s, "sim_tip"))
    parts.append(fuzz_section(s, run_dir))
    parts.append(fuzz_section(s, run_dir, "fuzz_tip"))
    parts.append(coverage_section(s))
    parts.append(mutation_section(s))
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)


def main(argv):
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0
    if len(argv) != 2:
        strictio.fail("expected one argument, RUN_DIR" if len(argv) < 2
                      else f"unexpected argument '{shown(argv[2])}'")
    return render(argv[1])


if __name__ == "__main__":
    strictio.run(main)
