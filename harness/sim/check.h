// harness/sim/check.h: RunConfig and Check(), the simulator's only entry.
//
//   std::optional<Finding> f = sim::Check(cfg, [] {
//     auto* server = sim::Make<PollServer<SimEnv, Fixed>>(nullptr);
//     auto* pd = server->Open(~uintptr_t{0}).first;
//     auto w = sim::Spawn([pd] { pd->Wait('r'); }, "waiter");
//     auto n = sim::Spawn([server, pd] { server->Ready(pd, 'r'); }, "notifier");
//     w.Join();
//     n.Join();
//   });
//
// Check runs the body as thread T0 of a fresh execution, cfg.iterations times
// (each with the chooser's next schedule), and returns the first finding, or
// nullopt if every execution completed cleanly.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "harness/sim/finding.h"
#include "harness/sim/rt/rt.h"

namespace pollstorm::sim {

enum class ChooserKind : uint8_t {
  kRandom,  // choose/random.h
  kPct,     // choose/pct.h
  kReplay,  // choose/replay.h: RunConfig::replay
  kBytes,   // choose/bytes.h: RunConfig::bytes
};

struct ExecutionRecord;  // below

// Every field can be overridden from the environment (RunConfig::WithEnv,
// which Check applies), so a printed replay command works without edits.
// The variables are POLLSTORM_SIM_<FIELD>.
struct RunConfig {
  // Seed of the random and PCT choosers (POLLSTORM_SIM_SEED, decimal or 0x hex).
  // Execution 0 uses it as is; a finding reports its own execution's seed.
  uint64_t seed = 1;
  // Which strategy makes the choices (POLLSTORM_SIM_CHOOSER=random|pct|replay).
  ChooserKind chooser = ChooserKind::kRandom;
  // PCT bug depth d (POLLSTORM_SIM_PCT_DEPTH); 1 = priorities only.
  int pct_depth = 3;
  // PCT's initial estimate of k, the steps per execution
  // (POLLSTORM_SIM_PCT_STEPS); learnt upwards from executions.
  uint64_t pct_expected_steps = 64;
  // Scheduling points per execution before a `step-bound` finding
  // (POLLSTORM_SIM_MAX_STEPS).
  uint64_t max_steps = rt::kDefaultMaxSteps;
  // Weak memory on: loads may read older stores as C++11 allows
  // (POLLSTORM_SIM_WEAK=0|1). Off: every load reads the latest store
  // (sequential consistency); races are still detected. A replayed schedule
  // brings its own setting.
  bool weak_memory = true;
  // Executions to run (POLLSTORM_SIM_ITERATIONS). Replay and bytes run one.
  uint64_t iterations = 1000;
  // A data race is a finding that stops the execution (POLLSTORM_SIM_RACES=1);
  // if false, races are only noted on whatever finding the execution ends
  // with, and clean executions with races pass. Turn it off to hunt what a
  // race leads to (a deadlock) rather than the race itself.
  bool races_are_findings = true;
  // Run the race detector at all (POLLSTORM_SIM_DETECT_RACES). fuzz_ops turns
  // it off: it judges results against the model under one coarse schedule,
  // and leaves races to fuzz_sched, whose schedules vary.
  bool detect_races = true;
  // Lazy time (POLLSTORM_SIM_LAZY_TIME): the clock moves only when no thread
  // can run, so an op never sees time pass in its middle. fuzz_ops turns it
  // on (its model applies each op at one instant); everything else leaves it
  // off, because "the deadline fires while the waiter is between CAS and
  // park" is exactly what the scheduler must be free to choose.
  bool lazy_time = false;
  // Replay every execution from its own schedule and report a
  // `nondeterminism` finding if anything differs (POLLSTORM_SIM_CHECK_DETERMINISM).
  // Doubles the cost.
  bool check_determinism = false;
  // Record the last rt::kMaxTraceEvents operations of each execution and
  // print them with a finding (POLLSTORM_SIM_TRACE=1). Costs a string per
  // operation: use it to replay one finding, not to hunt.
  bool trace = false;
  // The schedule to replay, in hex (POLLSTORM_SIM_REPLAY; whitespace ignored).
  std::string replay;
  // The bytes for ChooserKind::kBytes (no environment override).
  std::vector<uint8_t> bytes;
  // Printed in findings as `label:`; the variant name by convention
  // (POLLSTORM_SIM_LABEL).
  std::string label;
  // If set, every finding is also written to <dir>/<kind>-NNN.sched,
  // create-exclusive (POLLSTORM_SIM_FINDINGS_DIR).
  std::string findings_dir;
  // If set, called on the host after every execution, clean or not, with
  // its record (no environment override). The golden test
  // (tests/sim_golden_test.cc) records every schedule and outcome through
  // it. Costs a Finding per execution; never influences a choice.
  std::function<void(const ExecutionRecord&)> on_execution;

  // RunConfig::WithEnv(): a copy with the POLLSTORM_SIM_* overrides applied
  // (their own prefix, so a storm's POLLSTORM_SEED never steers the
  // simulator). A malformed value exits with status 2 and a message naming
  // the variable.
  RunConfig WithEnv() const;
};

// One execution as RunConfig::on_execution sees it. `finding` holds the
// schedule, the notes and the seed of every execution; its kind, message,
// thread and details mean something only if !finished.
struct ExecutionRecord {
  uint64_t execution = 0;  // 1-based, as Finding::execution
  bool finished = false;   // completed with no finding
  uint64_t steps = 0;      // scheduling points
  uint32_t threads = 0;    // simulated threads started (main included)
  Finding finding;
};

// What a run did, for tests and rate measurements.
struct CheckStats {
  uint64_t executions = 0;
  uint64_t steps = 0;       // scheduling points, all executions
  uint64_t choices = 0;     // recorded choices, all executions
  uint64_t digest = 0;      // FNV-1a over every execution's encoded schedule
  uint64_t race_notes = 0;  // executions that noted a race (races not findings)
  uint64_t max_steps = 0;   // the longest execution, in scheduling points (PCT's k)
  uint32_t max_threads = 0; // the most simulated threads in one execution (PCT's n)
  std::string last_schedule_hex;
};

// Check(cfg, body, stats): see the file comment.
std::optional<Finding> Check(const RunConfig& cfg, const std::function<void()>& body,
                             CheckStats* stats = nullptr);

}  // namespace pollstorm::sim
