// tests/sim_golden_test.cc: the simulator's golden test. It replays a fixed
// set of programs with fixed seeds and records every execution's schedule
// and outcome, then compares the record, line for line, with a committed
// golden file generated from the engine as it was before a refactoring.
//
//   sim_golden_test SOURCE_DIR GOLDEN       compare; exit 0 same, 1 differs
//   sim_golden_test SOURCE_DIR --print      the record on stdout (to regenerate:
//                                           ... --print > tests/golden/sim_golden.txt)
//
// What it runs (each line of the record says which):
//   - the programs named in kPrograms (corpus/sim, corpus/regressions,
//     corpus/fuzz_sched), on legacy, seed and fixed, each under five
//     configurations: random and PCT choosers, sequential consistency and
//     weak memory, races as findings or as notes, lazy time with the race
//     detector off, one with the trace on. A regression's own `# replay:`
//     schedule is replayed on its `found-in` variant; a `--sequential` one
//     runs the sequential oracle instead;
//   - every litmus test (harness/litmus) under weak memory, outcome counts.
// Per execution it records the schedule (versioned hex), the scheduling
// points, the threads and the outcome; per finding its whole text (the trace
// as a digest plus its last lines: it is 400 lines long); per run CheckStats.
//
// The golden file holds the behaviour of the ENGINE and of the program runner
// (harness/simrun) together: an intended change to either (an op that takes
// one more scheduling point, a new choice) changes it, and the fix is to
// regenerate it in the same commit and say why. An unintended one is exactly
// what this test is for. The list of programs is fixed here, not globbed, so
// a new corpus file does not change the record.
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "harness/litmus/sim_litmus.h"
#include "harness/ops/ops.h"
#include "harness/sim/check.h"
#include "harness/simrun/program_runner.h"
#include "harness/simrun/sequential.h"

namespace {

using pollstorm::sim::CheckStats;
using pollstorm::sim::ChooserKind;
using pollstorm::sim::ExecutionRecord;
using pollstorm::sim::Finding;
using pollstorm::sim::RunConfig;

constexpr const char* kPrograms[] = {
    "corpus/sim/45211-close.txt",
    "corpus/sim/45211-deadline.txt",
    "corpus/sim/48925-fd-read.txt",
    "corpus/sim/48925-lost-ready.txt",
    "corpus/regressions/45211-close.txt",
    "corpus/regressions/45211-deadline.txt",
    "corpus/regressions/48925-fd-read.txt",
    "corpus/regressions/48925-stale-ready.txt",
    "corpus/regressions/harness-fuzz_ops-time-inside-op.txt",
    "corpus/regressions/harness-fuzz_sched-double-open.txt",
    "corpus/regressions/harness-fuzz_sched-overlapping-deadline-sets.txt",
    "corpus/fuzz_sched/45211-close.txt",
    "corpus/fuzz_sched/45211-deadline.txt",
    "corpus/fuzz_sched/48925-lost-ready.txt",
    "corpus/fuzz_sched/deadline_race.txt",
    "corpus/fuzz_sched/fd_read.txt",
    "corpus/fuzz_sched/pingpong.txt",
};

// Not polldesc/variants.h's list: a variant added there must not change
// the record.
constexpr const char* kVariants[] = {"legacy", "seed", "fixed"};

struct Config {
  const char* name;
  ChooserKind chooser;
  bool weak;
  bool races_are_findings;
  bool detect_races;
  bool lazy_time;
  bool trace;
  uint64_t seed;
  uint64_t iterations;
};

// Every engine path a program can reach: both thread choosers, both memory
// modes, races stopping or noted, lazy time, the trace formatting.
constexpr Config kConfigs[] = {
    {"random-sc", ChooserKind::kRandom, false, false, true, false, false, 11, 10},
    {"random-weak", ChooserKind::kRandom, true, false, true, false, false, 12, 10},
    {"pct-sc", ChooserKind::kPct, false, false, true, false, false, 13, 10},
    {"pct-weak-races", ChooserKind::kPct, true, true, true, false, true, 14, 10},
    {"random-weak-lazy", ChooserKind::kRandom, true, false, false, true, false, 15, 8},
};

constexpr uint64_t kLitmusIterations = 300;

// Two things in the text are not the engine's behaviour, and are replaced:
//   - source line numbers in sites ("poll_desc.h:344" -> "poll_desc.h:#"): a
//     comment added to polldesc/ or to the runner moves them; the site's file
//     and function stay;
//   - addresses in the trace (a slot holding a parked G, a descriptor):
//     12-digit hex values become "0x<addr>", as ASLR moves them per run.
std::string Normalise(const std::string& in) {
  auto hex = [&](size_t i) {
    return i < in.size() && std::isxdigit(static_cast<unsigned char>(in[i]));
  };
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); i++) {
    if (in.compare(i, 2, "0x") == 0 && (i == 0 || !hex(i - 1))) {
      size_t n = 0;
      while (hex(i + 2 + n)) n++;
      if (n == 12) {
        out += "0x<addr>";
        i += 1 + n;
        continue;
      }
    }
    out += in[i];
    const bool after_ext =
        (i >= 2 && in.compare(i - 1, 2, ".h") == 0) || (i >= 3 && in.compare(i - 2, 3, ".cc") == 0);
    if (after_ext && i + 2 < in.size() && in[i + 1] == ':' &&
        std::isdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += ":#";
      i += 2;
      while (i + 1 < in.size() && std::isdigit(static_cast<unsigned char>(in[i + 1]))) i++;
    }
  }
  return out;
}

uint64_t Fnv(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// A digest of lines (race notes, a trace), line numbers removed first.
uint64_t Digest(const std::vector<std::string>& lines) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const std::string& l : lines) h = Fnv(Fnv(h, Normalise(l)), "\n");
  return h;
}

std::string Hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

std::string OneLine(const std::string& hex) {
  std::string s;
  for (char c : hex) {
    if (c != '\n') s += c;
  }
  return s;
}

// A finding's text, with the trace (up to 400 operations) as its length, a
// digest and its last three lines.
std::string FindingText(const Finding& in) {
  Finding f = in;
  f.trace.clear();
  std::string s = f.ToString();
  if (!in.trace.empty()) {
    s +=
        "  trace: " + std::to_string(in.trace.size()) + " ops, fnv " + Hex(Digest(in.trace)) + "\n";
    for (size_t i = in.trace.size() > 3 ? in.trace.size() - 3 : 0; i < in.trace.size(); i++) {
      s += "    " + in.trace[i] + "\n";
    }
  }
  return s;
}

std::string StatsLine(const CheckStats& st) {
  return "stats executions=" + std::to_string(st.executions) +
         " steps=" + std::to_string(st.steps) + " choices=" + std::to_string(st.choices) +
         " digest=" + Hex(st.digest) + " race_notes=" + std::to_string(st.race_notes) +
         " max_steps=" + std::to_string(st.max_steps) +
         " max_threads=" + std::to_string(st.max_threads) + "\n";
}

std::string ExecLine(const ExecutionRecord& r) {
  std::string s = "e" + std::to_string(r.execution) + " " +
                  (r.finished ? std::string("clean")
                              : std::string(pollstorm::sim::FindingKindName(r.finding.kind))) +
                  " steps=" + std::to_string(r.steps) + " threads=" + std::to_string(r.threads) +
                  " seed=" + Hex(r.finding.seed) +
                  " choices=" + std::to_string(r.finding.schedule.choices.size()) +
                  " notes=" + std::to_string(r.finding.notes.size()) + "\n";
  s += "  " + OneLine(r.finding.schedule_hex) + "\n";
  if (r.finished && !r.finding.notes.empty()) {
    // The race notes of a clean execution, as a digest (they repeat a lot).
    s += "  notes fnv " + Hex(Digest(r.finding.notes)) + "\n";
  }
  return s;
}

struct Header {
  std::string found_in;
  std::string flags;
  std::string replay;
};

Header ParseHeader(const std::string& text) {
  Header h;
  std::istringstream in(text);
  std::string line;
  auto value = [&](std::string_view key, std::string* out) {
    if (line.rfind(key, 0) == 0) *out = line.substr(key.size());
  };
  while (std::getline(in, line)) {
    value("# found-in: ", &h.found_in);
    value("# flags: ", &h.flags);
    value("# replay: ", &h.replay);
  }
  return h;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream f(path);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

// Runs prog under cfg and appends every execution and the result to *rec.
void Record(const pollstorm::ops::Program& prog, const char* variant, RunConfig cfg,
            std::string* rec) {
  cfg.label = variant;
  cfg.on_execution = [rec](const ExecutionRecord& r) { *rec += ExecLine(r); };
  CheckStats st;
  const auto f = pollstorm::simrun::RunProgram(prog, variant, cfg, &st);
  if (f) *rec += FindingText(*f);
  *rec += StatsLine(st);
}

// The whole record, or "" with *error set.
std::string BuildRecord(const std::string& src, std::string* error) {
  std::string rec =
      "# tests/golden/sim_golden.txt: written by `sim_golden_test SOURCE_DIR --print`;\n"
      "# see tests/sim_golden_test.cc for what it runs and when to regenerate it.\n";
  for (const char* rel : kPrograms) {
    std::string text;
    if (!ReadFile(src + "/" + rel, &text)) {
      *error = "cannot read " + src + "/" + rel;
      return "";
    }
    pollstorm::ops::ParseError perr;
    const auto prog = pollstorm::ops::ParseProgram(text, &perr);
    if (!prog) {
      *error = std::string(rel) + ": line " + std::to_string(perr.line) + ": " + perr.message;
      return "";
    }
    const Header h = ParseHeader(text);
    if (h.flags.find("--sequential") != std::string::npos) {
      // The sequential oracle: one execution per variant, lazy time inside.
      for (const char* v : kVariants) {
        rec += std::string("== ") + rel + " variant=" + v + " sequential seed=1\n";
        const auto f = pollstorm::simrun::RunSequential(*prog, v, 1);
        rec += f ? FindingText(*f) : std::string("clean\n");
      }
      continue;
    }
    const bool no_races = h.flags.find("--no-races") != std::string::npos;
    if (!h.replay.empty() && !h.found_in.empty()) {
      RunConfig cfg;
      cfg.chooser = ChooserKind::kReplay;
      cfg.replay = h.replay;
      cfg.races_are_findings = !no_races;
      rec += std::string("== ") + rel + " variant=" + h.found_in + " replay\n";
      Record(*prog, h.found_in.c_str(), cfg, &rec);
    }
    for (const char* v : kVariants) {
      for (const Config& c : kConfigs) {
        RunConfig cfg;
        cfg.chooser = c.chooser;
        cfg.weak_memory = c.weak;
        cfg.races_are_findings = c.races_are_findings;
        cfg.detect_races = c.detect_races;
        cfg.lazy_time = c.lazy_time;
        cfg.trace = c.trace;
        cfg.seed = c.seed;
        cfg.iterations = c.iterations;
        rec += std::string("== ") + rel + " variant=" + v + " config=" + c.name +
               " seed=" + std::to_string(c.seed) + " iterations=" + std::to_string(c.iterations) +
               "\n";
        Record(*prog, v, cfg, &rec);
      }
    }
  }
  for (const auto& spec : pollstorm::litmus::SimLitmusSpecs()) {
    RunConfig cfg;
    cfg.chooser = ChooserKind::kRandom;
    cfg.weak_memory = true;
    cfg.seed = 21;
    cfg.iterations = kLitmusIterations;
    uint64_t digest = 0xcbf29ce484222325ull;
    uint64_t n = 0;
    cfg.on_execution = [&](const ExecutionRecord& r) {
      digest = Fnv(digest, r.finding.schedule_hex);
      n++;
    };
    std::optional<Finding> f;
    const auto outcomes = pollstorm::litmus::RunSimLitmus(spec.test, cfg, &f);
    rec += std::string("== litmus ") + spec.name +
           " seed=21 iterations=" + std::to_string(kLitmusIterations) + "\n";
    rec += "executions=" + std::to_string(n) + " schedules fnv " + Hex(digest) + "\n";
    for (const auto& [outcome, count] : outcomes) {
      rec += "  " + outcome + ": " + std::to_string(count) + "\n";
    }
    if (f) rec += FindingText(*f);
  }
  return rec;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: sim_golden_test SOURCE_DIR (GOLDEN | --print)\n");
    return 2;
  }
  const std::string src = argv[1];
  const std::string golden_path = argv[2];
  std::string golden;
  if (golden_path != "--print" && !ReadFile(golden_path, &golden)) {
    std::fprintf(stderr, "sim_golden_test: cannot read golden file %s\n", golden_path.c_str());
    return 2;
  }
  std::string error;
  const std::string rec = Normalise(BuildRecord(src, &error));
  if (!error.empty()) {
    std::fprintf(stderr, "sim_golden_test: %s\n", error.c_str());
    return 2;
  }
  if (golden_path == "--print") {
    std::fwrite(rec.data(), 1, rec.size(), stdout);
    return 0;
  }
  if (rec == golden) {
    std::printf("golden: identical (%zu bytes)\n", rec.size());
    return 0;
  }
  // The first differing line, with the run it belongs to.
  std::istringstream a(golden), b(rec);
  std::string la, lb, run;
  for (uint64_t line = 1;; line++) {
    const bool ga = static_cast<bool>(std::getline(a, la));
    const bool gb = static_cast<bool>(std::getline(b, lb));
    if (!ga && !gb) break;
    if (gb && lb.rfind("== ", 0) == 0) run = lb;
    if (!ga || !gb || la != lb) {
      std::printf("golden: DIFFERS at line %llu\n  run:      %s\n  golden:   %s\n  now:      %s\n",
                  static_cast<unsigned long long>(line), run.c_str(),
                  ga ? la.c_str() : "(end of file)", gb ? lb.c_str() : "(end of record)");
      break;
    }
  }
  return 1;
}
