// harness/sim/finding.h: Finding, what the simulator reports, in the one
// shape every pollstorm tool prints (STYLE.md item 9):
//
//   FINDING <kind>: <message>
//     thread:    T1 (waiter)
//     <details, one per line: blocked threads, race sites>
//     seed:      0x...            (reproduces the execution with the random chooser)
//     label:     legacy           (RunConfig::label, e.g. the variant)
//     execution: 1234 of 100000
//     schedule:  v1, 37 choices
//       <hex, 76 columns>
//     replay:    POLLSTORM_SIM_CHOOSER=replay POLLSTORM_SIM_REPLAY=<hex> <the same test>
//     trace:     (with RunConfig::trace) one line per operation, oldest first:
//       #17 T2 (notifier): plain load(relaxed) -> 0x1 (STALE: an older store)  [poll_desc.h:490
//       (SlotLoad)]
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/sim/schedule.h"

namespace pollstorm::sim {

enum class FindingKind : uint8_t {
  kFatal,           // the runtime's throw (Env::Fatal), with its message
  kDeadlock,        // every thread blocked, no timer pending: a lost wakeup candidate
  kStepBound,       // more than RunConfig::max_steps scheduling points: a livelock candidate
  kDataRace,        // conflicting Shared accesses not ordered by happens-before
  kAssert,          // sim::Assert failed in the program
  kReplayMismatch,  // the program no longer follows the replayed schedule
  kNondeterminism,  // replaying an execution's own schedule gave another result
  kLimit,           // a documented simulator limit was exceeded (rt/rt.h)
  kMisuse,          // the program broke an Env contract (unlock of an unowned mutex, ...)
  kException,       // a simulated thread let a C++ exception escape
};

// "fatal", "deadlock", "step-bound", "data-race", ...: greppable, stable.
const char* FindingKindName(FindingKind k);

struct Finding {
  FindingKind kind = FindingKind::kFatal;
  std::string message;
  std::string thread;                // the thread that hit it, e.g. "T1 (waiter)"
  std::vector<std::string> details;  // blocked threads, race sites, ...
  std::vector<std::string> notes;    // e.g. races seen earlier when they were not findings
  std::vector<std::string> trace;    // RunConfig::trace: the last operations, oldest first
  uint64_t seed = 0;
  std::string label;
  uint64_t execution = 0;   // 1-based index of the execution in the run
  uint64_t iterations = 0;  // executions the run was allowed
  Schedule schedule;
  std::string schedule_hex;

  // Finding::ToString(): the shape above, newline-terminated.
  std::string ToString() const;
};

}  // namespace pollstorm::sim
