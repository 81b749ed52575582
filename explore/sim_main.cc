// explore/sim_main.cc: `pollstorm-sim`, operation-language programs in the
// deterministic simulator.
//
//   pollstorm-sim run FILE [options]        explore schedules; print the first finding
//   pollstorm-sim minimize FILE [options]   shrink a failing program (ops removed while
//                                           the same kind of finding still appears)
//   pollstorm-sim explore [options]         generated swarm programs (harness/ops/generate.h)
//                                           for a time budget; every finding minimised
// Exit: 0 clean, 1 finding, 2 usage or input error, 3 internal error.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <set>
#include <string>
#include <vector>

#include "harness/cli/cli.h"
#include "harness/findings/sarif.h"
#include "harness/ops/ops.h"
#include "harness/sim/choose/pct.h"
#include "harness/simrun/minimize.h"
#include "harness/sim/schedule.h"
#include "harness/simrun/program_runner.h"
#include "harness/simrun/sarif_result.h"
#include "harness/ops/generate.h"
#include "harness/simrun/sequential.h"
#include "polldesc/variants.h"

namespace pollstorm {
namespace {

constexpr const char* kUsage = R"(Usage: pollstorm-sim run|minimize PROGRAM.txt [options]
       pollstorm-sim explore [--time 60s] [--mode random|pct|weak] [options]

Runs a program in the operation language (see harness/ops/ops.h) in the
deterministic simulator: each program thread is a simulated thread; every
atomic access, lock, park and timer firing is a scheduling choice, and loads
may read older stores as the C++11 model allows (weak memory).

  --variant NAME     legacy, seed, fixed or tip (default fixed)
  --chooser NAME     random or pct (default random)
  --seed N           seed of the chooser (default 1)
  --iterations N     executions to explore (default 10000)
  --pct-depth D      PCT bug depth (default 3)
  --sc               sequential consistency (weak memory off)
  --replay HEX       replay one recorded schedule (the hex a finding prints)
  --no-races         do not stop at a data race: hunt what it leads to
  --sequential       fuzz_ops's oracle instead: ops one at a time, compared with
                     the model after each (one execution; replays a fuzz_ops crash)
                     (a lost wakeup, a deadlock); races are noted on it
  --trace            print the last operations with a finding
  --sarif PATH       also write the findings (none when clean) as SARIF 2.1.0;
                     known ones (corpus/known-findings.txt or
                     $POLLSTORM_KNOWN_FINDINGS) marked unchanged and suppressed
  --max-steps N      scheduling points per execution before a step-bound
                     finding (default: 100 per op of the program, at least 100000)
  --out PATH         minimize: write the minimised program here (default
                     PROGRAM.txt.min); never the program itself
  --force            minimize: replace an existing output file
                     explore: --out is the folder for findings (default: a new
                     one in $TMPDIR)

explore: generated programs (swarm testing: each draws its own subset of op
kinds and weights, 2-4 threads, 1-4 descriptors), each explored for
--per-program executions, until --time has passed or --programs ran; every
finding is minimised and printed as a text program with its replay.
  --time T           budget: 60s, 2m or seconds (default 60s)
  --mode M           random (random chooser, SC), pct (PCT, SC) or weak (weak
                     memory, random and PCT in turn) (default weak)
  --seed S           program i is generated from seed S+i (default 1)
  --programs N       stop after N programs
  --per-program N    executions per program (default 100)
  --max-findings N   stop after N findings (default 1)
  --sequential       judge each program with fuzz_ops's oracle instead (one
                     execution, compared with the model after every op)
  --help             this text

Exit status: 0 clean, 1 finding, 2 bad usage or input, 3 internal error.
)";

[[noreturn]] void Usage(const std::string& m) {
  std::fprintf(stderr, "pollstorm-sim: %s\nTry 'pollstorm-sim --help'.\n", m.c_str());
  std::exit(2);
}

struct Cli {
  std::string cmd, file, variant = "fixed", out, sarif;
  std::set<std::string> known;  // for --sarif
  bool sequential = false, force = false;
  uint64_t max_steps = 0;  // 0: scaled with the program (simrun::DefaultMaxSteps)
  // explore
  double time_s = 60;
  std::string mode = "weak";
  uint64_t programs = 0;  // 0: until the time is up
  uint64_t per_program = 100;
  uint64_t max_findings = 1;
  sim::RunConfig cfg;
};

uint64_t Num(const std::string& flag, const std::string& v, uint64_t lo = 0,
            uint64_t hi = UINT64_MAX) {
  const std::optional<uint64_t> n = cli::ParseUint(v, lo, hi);
  if (!n) {
    Usage(flag + " takes a whole number in " + std::to_string(lo) + ".." + std::to_string(hi) +
          ", not '" + cli::Shown(v) + "'");
  }
  return *n;
}

Cli Parse(int argc, char** argv) {
  Cli c;
  c.cfg.iterations = 10000;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) Usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--variant") {
      c.variant = val();
      bool ok = false;
      for (auto v : kVariantNames) ok |= v == c.variant;
      if (!ok) Usage("unknown variant '" + cli::Shown(c.variant) + "' (known: " + std::string(kVariantList) + ")");
    } else if (a == "--chooser") {
      const std::string v = val();
      if (v == "random") c.cfg.chooser = sim::ChooserKind::kRandom;
      else if (v == "pct") c.cfg.chooser = sim::ChooserKind::kPct;
      else Usage("unknown chooser '" + cli::Shown(v) + "' (random, pct)");
    } else if (a == "--seed") {
      c.cfg.seed = Num(a, val());
    } else if (a == "--iterations") {
      c.cfg.iterations = Num(a, val(), 1);
    } else if (a == "--pct-depth") {
      c.cfg.pct_depth = static_cast<int>(Num(a, val(), 1, 16));
    } else if (a == "--sc") {
      c.cfg.weak_memory = false;
    } else if (a == "--replay") {
      c.cfg.replay = val();
      c.cfg.chooser = sim::ChooserKind::kReplay;
      // A schedule that does not parse is a bad input (exit 2), not a
      // replay-mismatch finding (which minimize would then "preserve").
      std::string why;
      if (!sim::Schedule::FromHex(c.cfg.replay, &why)) {
        Usage("--replay '" + cli::Shown(c.cfg.replay) + "': " + why);
      }
    } else if (a == "--no-races") {
      c.cfg.races_are_findings = false;
    } else if (a == "--sequential") {
      c.sequential = true;
    } else if (a == "--trace") {
      c.cfg.trace = true;
    } else if (a == "--out") {
      c.out = val();
    } else if (a == "--sarif") {
      c.sarif = val();
    } else if (a == "--time") {
      const std::string v = val();
      const bool min = !v.empty() && v.back() == 'm';
      const std::string digits = !v.empty() && (v.back() == 's' || min) ? v.substr(0, v.size() - 1) : v;
      c.time_s = static_cast<double>(Num(a, digits)) * (min ? 60 : 1);
      if (c.time_s <= 0) Usage("--time must be positive, like 60s or 2m");
    } else if (a == "--mode") {
      c.mode = val();
      if (c.mode != "random" && c.mode != "pct" && c.mode != "weak") {
        Usage("unknown mode '" + cli::Shown(c.mode) + "' (random, pct, weak)");
      }
    } else if (a == "--programs") {
      c.programs = Num(a, val());
      if (c.programs == 0) Usage("--programs must be positive");
    } else if (a == "--per-program") {
      c.per_program = Num(a, val());
      if (c.per_program == 0) Usage("--per-program must be positive");
    } else if (a == "--max-findings") {
      c.max_findings = Num(a, val());
      if (c.max_findings == 0) Usage("--max-findings must be positive");
    } else if (a == "--force") {
      c.force = true;
    } else if (a == "--max-steps") {
      c.max_steps = Num(a, val(), 1);
    } else if (!a.empty() && a[0] == '-') {
      Usage("unknown option '" + cli::Shown(a) + "'");
    } else if (c.cmd.empty()) {
      c.cmd = a;
    } else if (c.file.empty()) {
      c.file = a;
    } else {
      Usage("unexpected argument '" + cli::Shown(a) + "'");
    }
  }
  if (c.cmd.empty()) Usage("expected a command: run, minimize or explore");
  if (c.cmd != "run" && c.cmd != "minimize" && c.cmd != "explore") {
    Usage("unknown command '" + cli::Shown(c.cmd) + "' (run, minimize, explore)");
  }
  if (c.cmd == "explore") {
    if (!c.file.empty()) Usage("explore generates its programs: unexpected argument '" + cli::Shown(c.file) + "'");
    if (!c.cfg.replay.empty()) Usage("explore generates its programs: it takes no --replay");
  } else if (c.file.empty()) {
    Usage("expected a program file");
  }
  if (c.cmd == "run" && (!c.out.empty() || c.force)) {
    Usage(std::string(c.out.empty() ? "--force" : "--out") + " is for minimize; run writes nothing");
  }
  if (c.sequential && (c.cmd == "minimize" || !c.cfg.replay.empty())) {
    Usage("--sequential runs one execution of 'run': it takes no --replay and no minimize");
  }
  if (c.cmd == "minimize") {
    if (c.out.empty()) c.out = c.file + ".min";
    if (std::string e = cli::CheckOutput("--out", c.out); !e.empty()) Usage(e);
    if (c.out == c.file || cli::SameFile(c.out, c.file)) {
      Usage("--out '" + cli::Shown(c.out) + "' is the program itself");
    }
    if (!c.force && cli::Exists(c.out)) {
      Usage("'" + cli::Shown(c.out) + "' exists (--force replaces it, or choose --out)");
    }
  }
  if (!c.sarif.empty()) {
    if (std::string e = cli::CheckOutput("--sarif", c.sarif); !e.empty()) Usage(e);
    if (std::string e = LoadKnownSignatures(DefaultKnownFindingsPath(), &c.known); !e.empty()) {
      Usage("the known findings list (for --sarif): " + e);
    }
  }
  c.cfg.label = c.variant;
  return c;
}

// Programs are text; 64 MiB holds millions of ops.
constexpr size_t kMaxProgramBytes = 64u << 20;

ops::Program Load(Cli& c) {
  std::string text;
  if (std::string e = cli::ReadInput(c.file, kMaxProgramBytes, &text); !e.empty()) Usage(e);
  ops::ParseError err;
  auto p = ops::ParseProgram(text, &err);
  if (!p) Usage(cli::Shown(c.file) + ": " + err.ToString());
  if (std::string e = simrun::CheckProgram(*p); !e.empty()) Usage(cli::Shown(c.file) + ": " + e);
  c.cfg.max_steps = c.max_steps != 0 ? c.max_steps : simrun::DefaultMaxSteps(*p);
  // A bad POLLSTORM_SIM_* value is a usage error before any work, and so is
  // a schedule given through POLLSTORM_SIM_REPLAY that does not parse.
  const sim::RunConfig eff = c.cfg.WithEnv();
  std::string why;
  if (eff.chooser == sim::ChooserKind::kReplay && !sim::Schedule::FromHex(eff.replay, &why)) {
    Usage("the schedule to replay ('" + cli::Shown(eff.replay) + "', --replay or " +
          "POLLSTORM_SIM_REPLAY): " + why);
  }
  return *p;
}

std::string Repro(const Cli& c, const std::string& file, const sim::Finding& f) {
  return "scripts/pollstorm sim run " + cli::ShellQuote(file) + " --variant " + c.variant + " --replay " +
         f.schedule_hex.substr(0, f.schedule_hex.find_first_of(" \n")) +
         (c.cfg.weak_memory ? "" : " --sc") + (c.cfg.races_are_findings ? "" : " --no-races") +
         " --trace";
}

// --sarif: the findings of this run (none when clean) as SARIF; a write
// that fails is an internal error (the path was checked before any work).
int WriteSarif(const Cli& c, const std::vector<SarifResult>& results, int rc) {
  if (c.sarif.empty()) return rc;
  if (std::string e = cli::WriteOutput(c.sarif, ToSarif("pollstorm-sim", results)); !e.empty()) {
    std::fprintf(stderr, "pollstorm-sim: internal error: cannot write --sarif: %s\n", e.c_str());
    return 3;
  }
  return rc;
}

// Flattened hex (a finding wraps it at 76 columns).
std::string OneLine(std::string hex) {
  std::string o;
  for (char ch : hex) {
    if (ch != '\n' && ch != ' ') o += ch;
  }
  return o;
}

int Run(Cli& c) {
  const ops::Program p = Load(c);
  if (c.sequential) {
    auto f = simrun::RunSequential(p, c.variant, c.cfg.seed, c.cfg.max_steps);
    if (!f) {
      std::printf("clean: sequential run agrees with the model (variant %s)\n",
                  c.variant.c_str());
      return WriteSarif(c, {}, 0);
    }
    std::printf("%s  program (%zu ops):\n%s", f->ToString().c_str(), p.NumOps(),
                ops::FormatProgram(p).c_str());
    const std::string repro = "scripts/pollstorm sim run " + cli::ShellQuote(c.file) +
                              " --variant " + c.variant + " --sequential";
    std::printf("  repro: %s\n", repro.c_str());
    std::fflush(stdout);
    return WriteSarif(c, {simrun::SimSarifResult(*f, c.variant, c.file, repro, c.known)}, 1);
  }
  sim::CheckStats st;
  auto f = simrun::RunProgram(p, c.variant, c.cfg, &st);
  if (!f) {
    std::printf("clean: %llu executions, %llu scheduling points (variant %s, %s)\n",
                static_cast<unsigned long long>(st.executions),
                static_cast<unsigned long long>(st.steps), c.variant.c_str(),
                c.cfg.weak_memory ? "weak memory" : "sequential consistency");
    const sim::RunConfig eff = c.cfg.WithEnv();  // what ran: the environment may override
    if (eff.chooser == sim::ChooserKind::kPct && st.executions > 0) {
      // The guarantee PCT gives for this run: each execution finds a given
      // bug of depth d with probability at least 1/(n k^(d-1)), n threads
      // and k scheduling points measured here (thread choices only: the
      // weak-memory reads-from choices come on top, at random).
      const double bound = sim::PctChooser::ProbabilityBound(st.max_threads, st.max_steps,
                                                            eff.pct_depth);
      std::printf("PCT depth %d: n = %u threads, k = %llu steps, bound 1/(n k^(d-1)) = %.3g per "
                  "execution; a depth-%d bug survives all %llu executions with probability "
                  "<= %.3g\n",
                  eff.pct_depth, st.max_threads, static_cast<unsigned long long>(st.max_steps),
                  bound, eff.pct_depth, static_cast<unsigned long long>(st.executions),
                  std::exp(static_cast<double>(st.executions) *
                           std::log1p(-std::min(bound, 1.0 - 1e-12))));
    }
    return WriteSarif(c, {}, 0);
  }
  f->schedule_hex = OneLine(f->schedule_hex);
  std::printf("%s", f->ToString().c_str());
  std::printf("  program (%zu ops):\n", p.NumOps());
  std::string text = ops::FormatProgram(p);
  std::printf("%s", text.c_str());
  std::printf("  repro: %s\n", Repro(c, c.file, *f).c_str());
  std::fflush(stdout);
  return WriteSarif(c, {simrun::SimSarifResult(*f, c.variant, c.file, Repro(c, c.file, *f), c.known)}, 1);
}

int Minimize(Cli& c) {
  ops::Program p = Load(c);
  auto f = simrun::RunProgram(p, c.variant, c.cfg);
  if (!f) {
    std::printf("clean: nothing to minimise\n");
    return 0;
  }
  if (f->kind == sim::FindingKind::kReplayMismatch) {
    // The schedule does not fit this program: no bug to keep while ops go
    // (every smaller program "keeps" the mismatch). Report it, write nothing.
    std::printf("%s  nothing minimised: the schedule does not replay on %s\n",
                f->ToString().c_str(), cli::ShellQuote(c.file).c_str());
    return 1;
  }
  p = simrun::MinimizeProgram(p, c.variant, c.cfg, &*f);
  const std::string text = ops::FormatProgram(p);
  const std::string& out = c.out;
  if (std::string e = cli::WriteOutput(out, text); !e.empty()) {
    std::fprintf(stderr, "pollstorm-sim: internal error: %s\n", e.c_str());
    return 3;
  }
  f->schedule_hex = OneLine(f->schedule_hex);
  std::printf("%s", f->ToString().c_str());
  std::printf("  minimised program (%zu ops), written to %s:\n%s", p.NumOps(), out.c_str(),
              text.c_str());
  std::printf("  repro: %s\n", Repro(c, out, *f).c_str());
  std::fflush(stdout);
  return WriteSarif(c, {simrun::SimSarifResult(*f, c.variant, c.file, Repro(c, out, *f), c.known)}, 1);
}

// explore: see the usage text. Program i comes from seed S+i and is explored
// with chooser seed S+i, so `--seed S+i --programs 1` regenerates it.
int Explore(const Cli& c) {
  std::string dir = c.out;
  if (!dir.empty()) {  // checked up front: a bad folder is a usage error, not a late failure
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir)) Usage("--out: cannot create folder '" + dir + "'");
  }
  auto ensure_dir = [&dir]() {
    if (!dir.empty()) return;
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr && *tmp != 0 ? tmp : "/tmp") +
                       "/pollstorm-explore-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::fprintf(stderr, "pollstorm-sim: cannot create a folder in %s\n", tmpl.c_str());
      std::exit(3);
    }
    dir = tmpl;
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&t0] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  ops::Coverage cov;
  std::vector<SarifResult> sarif;
  uint64_t executions = 0, findings = 0, n = 0;
  for (; (c.programs == 0 || n < c.programs) && elapsed() < c.time_s; n++) {
    const uint64_t seed = c.cfg.seed + n;
    const ops::Program p = ops::Generate(seed);
    cov.Add(ops::Classes(p));
    sim::RunConfig cfg = c.cfg;
    cfg.seed = seed;
    cfg.iterations = c.per_program;
    cfg.weak_memory = c.mode == "weak";
    cfg.chooser = c.mode == "pct" || (c.mode == "weak" && n % 2 == 1) ? sim::ChooserKind::kPct
                                                                      : sim::ChooserKind::kRandom;
    // --sequential: fuzz_ops's oracle (one execution, compared with the model).
    const simrun::ProgramCheck check = [&](const ops::Program& q) {
      return c.sequential ? simrun::RunSequential(q, c.variant, seed)
                          : simrun::RunProgram(q, c.variant, cfg);
    };
    sim::CheckStats st;
    auto f = c.sequential ? simrun::RunSequential(p, c.variant, seed)
                          : simrun::RunProgram(p, c.variant, cfg, &st);
    executions += c.sequential ? 1 : st.executions;
    if (!f) continue;
    findings++;
    const std::string shape = simrun::FindingShape(*f);
    const ops::Program q = simrun::MinimizeProgram(p, check, &*f);
    ensure_dir();
    const std::string file = dir + "/finding-" + std::to_string(findings) + ".txt";
    const std::string text = ops::FormatProgram(q);
    {
      std::ofstream o(file);
      if (!o) Usage("cannot write '" + file + "' (--out)");
      o << "# found by: pollstorm-sim explore --variant " << c.variant << " --mode " << c.mode
        << " --seed " << seed << " --programs 1 --per-program " << c.per_program
        << (c.sequential ? " --sequential" : "") << "\n"
        << "# " << shape << "\n" << text;
    }
    f->schedule_hex = OneLine(f->schedule_hex);
    std::printf("%s", f->ToString().c_str());
    std::printf("  generated program #%llu (seed %llu, %zu ops), after %.1f s and %llu executions:\n%s",
                static_cast<unsigned long long>(n), static_cast<unsigned long long>(seed), p.NumOps(),
                elapsed(), static_cast<unsigned long long>(executions), ops::FormatProgram(p).c_str());
    std::printf("  minimised program (%zu ops), written to %s:\n%s", q.NumOps(), file.c_str(),
                text.c_str());
    std::string repro;
    if (c.sequential) {
      repro = "scripts/pollstorm sim run " + file + " --variant " + c.variant +
              " --sequential --seed " + std::to_string(seed);
    } else {
      Cli rc = c;
      rc.cfg.weak_memory = cfg.weak_memory;
      repro = Repro(rc, file, *f);
    }
    std::printf("  repro: %s\n", repro.c_str());
    sarif.push_back(simrun::SimSarifResult(*f, c.variant, "", repro, c.known));
    std::printf("  regenerate: scripts/pollstorm sim explore --variant %s --mode %s --seed %llu "
                "--programs 1 --per-program %llu%s\n",
                c.variant.c_str(), c.mode.c_str(), static_cast<unsigned long long>(seed),
                static_cast<unsigned long long>(c.per_program), c.sequential ? " --sequential" : "");
    std::fflush(stdout);
    if (findings >= c.max_findings) {
      n++;
      break;
    }
  }
  std::printf("%s: %llu generated programs, %llu executions in %.1f s (variant %s, mode %s, seed %llu)\n",
              findings ? "findings" : "clean", static_cast<unsigned long long>(n),
              static_cast<unsigned long long>(executions), elapsed(), c.variant.c_str(),
              c.sequential ? "sequential" : c.mode.c_str(), static_cast<unsigned long long>(c.cfg.seed));
  std::printf("coverage: %s", cov.ToString().c_str());
  return WriteSarif(c, sarif, findings ? 1 : 0);
}

}  // namespace
}  // namespace pollstorm

int main(int argc, char** argv) {
  using namespace pollstorm;
  Cli c = Parse(argc, argv);
  const int rc = c.cmd == "explore" ? Explore(c) : c.cmd == "run" ? Run(c) : Minimize(c);
  if (rc == 0) return 0;  // clean: LeakSanitizer's exit check runs as usual
  // After a finding the abandoned fibers' objects are alive by design, and
  // LeakSanitizer's exit check would replace the exit code: end without it.
  cli::ExitNow(rc);
}
