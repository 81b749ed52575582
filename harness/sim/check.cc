#include "harness/sim/check.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include "harness/sim/choose/bytes.h"
#include "harness/sim/choose/pct.h"
#include "harness/sim/choose/random.h"
#include "harness/sim/choose/replay.h"
#include "harness/sim/rt/execution.h"
#include "harness/sim/rt/fiber.h"

namespace pollstorm::sim {

const char* FindingKindName(FindingKind k) {
  switch (k) {
    case FindingKind::kFatal:
      return "fatal";
    case FindingKind::kDeadlock:
      return "deadlock";
    case FindingKind::kStepBound:
      return "step-bound";
    case FindingKind::kDataRace:
      return "data-race";
    case FindingKind::kAssert:
      return "assert";
    case FindingKind::kReplayMismatch:
      return "replay-mismatch";
    case FindingKind::kNondeterminism:
      return "nondeterminism";
    case FindingKind::kLimit:
      return "limit";
    case FindingKind::kMisuse:
      return "misuse";
    case FindingKind::kException:
      return "exception";
  }
  return "?";
}

namespace {

std::string Hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string Finding::ToString() const {
  std::string s = "FINDING " + std::string(FindingKindName(kind)) + ": " + message + "\n";
  s += "  thread:    " + thread + "\n";
  for (const std::string& d : details) s += "    " + d + "\n";
  for (const std::string& n : notes) s += "  note:      " + n + "\n";
  s += "  seed:      " + Hex64(seed) + "\n";
  if (!label.empty()) s += "  label:     " + label + "\n";
  s += "  execution: " + std::to_string(execution) + " of " + std::to_string(iterations) + "\n";
  s += "  schedule:  v" + std::to_string(Schedule::kVersion) + ", " +
       std::to_string(schedule.choices.size()) + " choices, weak memory " +
       (schedule.weak_memory ? "on" : "off") + "\n";
  std::string one_line;
  std::size_t start = 0;
  while (start < schedule_hex.size()) {
    std::size_t end = schedule_hex.find('\n', start);
    if (end == std::string::npos) end = schedule_hex.size();
    s += "    " + schedule_hex.substr(start, end - start) + "\n";
    one_line += schedule_hex.substr(start, end - start);
    start = end + 1;
  }
  s += "  replay:    POLLSTORM_SIM_CHOOSER=replay POLLSTORM_SIM_REPLAY=" + one_line +
       " <this test binary and filter>\n";
  if (!trace.empty()) {
    s += "  trace:     last " + std::to_string(trace.size()) + " operations\n";
    for (const std::string& t : trace) s += "    " + t + "\n";
  }
  return s;
}

// ---------------------------------------------------------------------------
// RunConfig::WithEnv
// ---------------------------------------------------------------------------

namespace {

[[noreturn]] void BadEnv(const char* var, const char* value) {
  std::fprintf(stderr, "sim: bad value for %s: '%.160s'\n", var, value);  // a huge value stays one line
  std::exit(2);
}

// Decimal, or hex with 0x; nothing else (strtoull alone took "-1" as
// 2^64-1 and " 7" as 7), and the value must lie in [lo, hi]: an int field
// must not wrap (POLLSTORM_SIM_PCT_DEPTH=4294967297 is not depth 1).
void EnvU64(const char* var, uint64_t* out, uint64_t lo = 0, uint64_t hi = UINT64_MAX) {
  const char* v = std::getenv(var);
  if (v == nullptr || *v == '\0') return;
  const std::string_view s(v);
  const bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  const std::string_view digits = hex ? s.substr(2) : s;
  uint64_t x = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), x, hex ? 16 : 10);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() ||
      digits[0] == '+' || digits[0] == '-' || x < lo || x > hi) {
    std::fprintf(stderr, "sim: bad value for %s: '%.160s' (expected a whole number in %llu..%llu)\n",
                 var, v, static_cast<unsigned long long>(lo), static_cast<unsigned long long>(hi));
    std::exit(2);
  }
  *out = x;
}

void EnvBool(const char* var, bool* out) {
  const char* v = std::getenv(var);
  if (v == nullptr || *v == '\0') return;
  if (std::strcmp(v, "1") == 0 || std::strcmp(v, "true") == 0 || std::strcmp(v, "on") == 0) {
    *out = true;
  } else if (std::strcmp(v, "0") == 0 || std::strcmp(v, "false") == 0 ||
             std::strcmp(v, "off") == 0) {
    *out = false;
  } else {
    BadEnv(var, v);
  }
}

void EnvString(const char* var, std::string* out) {
  if (const char* v = std::getenv(var); v != nullptr && *v != '\0') *out = v;
}

}  // namespace

RunConfig RunConfig::WithEnv() const {
  RunConfig c = *this;
  EnvU64("POLLSTORM_SIM_SEED", &c.seed);
  if (const char* v = std::getenv("POLLSTORM_SIM_CHOOSER"); v != nullptr && *v != '\0') {
    if (std::strcmp(v, "random") == 0) {
      c.chooser = ChooserKind::kRandom;
    } else if (std::strcmp(v, "pct") == 0) {
      c.chooser = ChooserKind::kPct;
    } else if (std::strcmp(v, "replay") == 0) {
      c.chooser = ChooserKind::kReplay;
    } else {
      BadEnv("POLLSTORM_SIM_CHOOSER", v);
    }
  }
  uint64_t depth = static_cast<uint64_t>(c.pct_depth);
  EnvU64("POLLSTORM_SIM_PCT_DEPTH", &depth, 1, 16);
  c.pct_depth = static_cast<int>(depth);
  EnvU64("POLLSTORM_SIM_PCT_STEPS", &c.pct_expected_steps, 1);
  EnvU64("POLLSTORM_SIM_MAX_STEPS", &c.max_steps, 1);
  EnvBool("POLLSTORM_SIM_WEAK", &c.weak_memory);
  EnvU64("POLLSTORM_SIM_ITERATIONS", &c.iterations, 1);
  EnvBool("POLLSTORM_SIM_RACES", &c.races_are_findings);
  EnvBool("POLLSTORM_SIM_CHECK_DETERMINISM", &c.check_determinism);
  EnvBool("POLLSTORM_SIM_DETECT_RACES", &c.detect_races);
  EnvBool("POLLSTORM_SIM_LAZY_TIME", &c.lazy_time);
  EnvBool("POLLSTORM_SIM_TRACE", &c.trace);
  EnvString("POLLSTORM_SIM_REPLAY", &c.replay);
  EnvString("POLLSTORM_SIM_LABEL", &c.label);
  EnvString("POLLSTORM_SIM_FINDINGS_DIR", &c.findings_dir);
  return c;
}

// ---------------------------------------------------------------------------
// Check
// ---------------------------------------------------------------------------

namespace {

uint64_t Fnv1a(uint64_t h, const std::vector<uint8_t>& bytes) {
  for (uint8_t b : bytes) {
    h ^= b;
    h *= 0x100000001b3ull;
  }
  return h;
}

// Writes the finding to <dir>/<kind>-NNN.sched without ever overwriting one.
void WriteFindingFile(const std::string& dir, const Finding& f) {
  const std::string text = f.ToString();
  for (int n = 0; n < 1000; n++) {
    char name[64];
    std::snprintf(name, sizeof name, "/%s-%03d.sched", FindingKindName(f.kind), n);
    const std::string path = dir + name;
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      std::fprintf(stderr, "sim: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
      return;
    }
    const ssize_t w = write(fd, text.data(), text.size());
    (void)w;
    close(fd);
    return;
  }
}

Finding MakeFinding(const rt::Execution::Outcome& o, const Schedule& s, const RunConfig& c,
                    uint64_t execution) {
  Finding f;
  f.kind = o.kind;
  f.message = o.message;
  f.thread = o.thread;
  f.details = o.details;
  f.notes = o.notes;
  f.trace = o.trace;
  f.seed = s.seed;
  f.label = c.label;
  f.execution = execution;
  f.iterations = c.iterations;
  f.schedule = s;
  f.schedule_hex = s.ToHex();
  return f;
}

bool SameOutcome(const rt::Execution::Outcome& a, const rt::Execution::Outcome& b) {
  return a.finished == b.finished && a.kind == b.kind && a.message == b.message &&
         a.thread == b.thread && a.details == b.details && a.notes == b.notes &&
         a.trace == b.trace && a.steps == b.steps;
}

}  // namespace

std::optional<Finding> Check(const RunConfig& cfg_in, const std::function<void()>& body,
                             CheckStats* stats) {
  const RunConfig cfg = cfg_in.WithEnv();
  CheckStats local;
  CheckStats& st = stats != nullptr ? *stats : local;
  st = CheckStats{};
  st.digest = 0xcbf29ce484222325ull;

  rt::Execution::Config ec;
  ec.weak_memory = cfg.weak_memory;
  ec.max_steps = cfg.max_steps;
  ec.races_are_findings = cfg.races_are_findings;
  ec.detect_races = cfg.detect_races;
  ec.lazy_time = cfg.lazy_time;
  ec.trace = cfg.trace;

  std::unique_ptr<Chooser> chooser;
  ReplayChooser* replay = nullptr;
  switch (cfg.chooser) {
    case ChooserKind::kRandom:
      chooser = std::make_unique<RandomChooser>(cfg.seed, cfg.weak_memory);
      break;
    case ChooserKind::kPct:
      chooser = std::make_unique<PctChooser>(cfg.seed, cfg.pct_depth, cfg.pct_expected_steps,
                                             cfg.weak_memory);
      break;
    case ChooserKind::kBytes:
      chooser = std::make_unique<BytesChooser>(cfg.bytes.data(), cfg.bytes.size(), cfg.weak_memory);
      break;
    case ChooserKind::kReplay: {
      std::string error;
      std::optional<Schedule> s = Schedule::FromHex(cfg.replay, &error);
      if (!s.has_value()) {
        Finding f;
        f.kind = FindingKind::kReplayMismatch;
        f.message = "cannot parse the schedule to replay: " + error;
        f.thread = "host";
        f.label = cfg.label;
        return f;
      }
      ec.weak_memory = s->weak_memory;  // a schedule is only valid in its own mode
      auto r = std::make_unique<ReplayChooser>(*s);
      replay = r.get();
      chooser = std::move(r);
      break;
    }
  }

  // The engine (its location tables and the fiber stacks) is kept per host
  // thread and reused across Check calls: a fuzzer calls Check once per input,
  // and a fresh Execution plus freshly faulted-in stacks cost more than the
  // execution itself. A nested Check (a body that calls Check) gets its own.
  struct Engine {
    std::unique_ptr<rt::Execution> ex = std::make_unique<rt::Execution>();
    rt::StackPool stacks;
    bool busy = false;
  };
  static thread_local Engine cached;
  std::optional<Engine> nested;
  Engine& engine = cached.busy ? nested.emplace() : cached;
  engine.busy = true;
  struct Release {
    Engine& e;
    ~Release() { e.busy = false; }
  } release{engine};
  rt::Execution* ex = engine.ex.get();
  rt::StackPool& stacks = engine.stacks;
  Schedule last;
  for (uint64_t i = 0; i < cfg.iterations; i++) {
    std::optional<Schedule> schedule = chooser->BeginExecution();
    if (!schedule.has_value()) break;
    rt::Execution::Outcome o = ex->Run(*chooser, *schedule, body, ec, stacks);
    if (o.finished && replay != nullptr && !replay->Finish()) {
      o.finished = false;
      o.kind = FindingKind::kReplayMismatch;
      o.message = replay->Error();
      o.thread = "host";
    }
    st.executions++;
    st.steps += o.steps;
    st.max_steps = std::max(st.max_steps, o.steps);
    st.max_threads = std::max(st.max_threads, o.threads);
    st.choices += schedule->choices.size();
    if (!o.notes.empty()) st.race_notes++;
    st.digest = Fnv1a(st.digest, schedule->Encode());
    if (cfg.on_execution) {
      ExecutionRecord r;
      r.execution = i + 1;
      r.finished = o.finished;
      r.steps = o.steps;
      r.threads = o.threads;
      r.finding = MakeFinding(o, *schedule, cfg, i + 1);
      cfg.on_execution(r);
    }

    if (cfg.check_determinism && replay == nullptr) {
      // Shuttle's uncontrolled-nondeterminism check: the same choices must
      // give the same execution.
      ReplayChooser again(*schedule);
      std::optional<Schedule> s2 = again.BeginExecution();
      rt::Execution::Outcome o2 = ex->Run(again, *s2, body, ec, stacks);
      if (o2.finished && !again.Finish()) {
        o2.finished = false;
        o2.kind = FindingKind::kReplayMismatch;
        o2.message = again.Error();
      }
      if (!SameOutcome(o, o2) || s2->choices != schedule->choices) {
        rt::Execution::Outcome bad = o;
        bad.finished = false;
        bad.kind = FindingKind::kNondeterminism;
        bad.message =
            "possible nondeterminism: replaying execution " + std::to_string(i + 1) +
            " from its own schedule " +
            (o2.finished
                 ? std::string("completed")
                 : "ended in " + std::string(FindingKindName(o2.kind)) + ": " + o2.message) +
            ", the original " +
            (o.finished ? std::string("completed")
                        : "ended in " + std::string(FindingKindName(o.kind)) + ": " + o.message);
        Finding f = MakeFinding(bad, *schedule, cfg, i + 1);
        if (!cfg.findings_dir.empty()) WriteFindingFile(cfg.findings_dir, f);
        return f;
      }
    }

    if (!o.finished) {
      Finding f = MakeFinding(o, *schedule, cfg, i + 1);
      st.last_schedule_hex = f.schedule_hex;
      if (!cfg.findings_dir.empty()) WriteFindingFile(cfg.findings_dir, f);
      return f;
    }
    last = std::move(*schedule);
  }
  if (st.executions > 0) st.last_schedule_hex = last.ToHex();
  return std::nullopt;
}

}  // namespace pollstorm::sim
