// harness/sim/choose/chooser.h: Chooser, the one place nondeterminism enters
// the simulator. Strategies, one per file:
//
//   random.h   RandomChooser   uniform choices from a seeded xoshiro256**
//   pct.h      PctChooser      probabilistic concurrency testing (PCT)
//   replay.h   ReplayChooser   re-makes the choices of a recorded Schedule
//   bytes.h    BytesChooser    choices read from a fuzzer's byte buffer
//
// Lifecycle: for each execution the engine calls BeginExecution() once, then
// PickThread/PickValue as the program runs; it records every answer into the
// Schedule BeginExecution returned. The engine asks only when there is a real
// choice (two or more runnable threads, a bound of two or more), so a forced
// step never consumes a choice and replay stays aligned.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "harness/sim/schedule.h"

namespace pollstorm::sim {

class Chooser {
 public:
  virtual ~Chooser() = default;

  // Chooser::BeginExecution(): a new execution is about to start. Returns the
  // Schedule it will record into (seed and flags set, no choices), or nullopt
  // to end the run (a replay done, a byte buffer used up).
  virtual std::optional<Schedule> BeginExecution() = 0;

  // Chooser::PickThread(runnable, current, yielding): which thread runs the
  // next step. `runnable` is never empty, has at least two entries and is
  // sorted by id. `current` is the thread that reached this scheduling point
  // if it can continue (nullopt when it blocked or exited). `yielding`: the
  // current thread asked to let others run (sim::Yield). Must return a member
  // of `runnable`, or nullopt to abandon the execution (see Error()).
  virtual std::optional<ThreadId> PickThread(std::span<const ThreadId> runnable,
                                             std::optional<ThreadId> current, bool yielding) = 0;

  // Chooser::PickValue(bound): a data choice in [0, bound), bound >= 2. 0 is
  // always the "least surprising" answer (the latest store, the earliest
  // timer), so a chooser with nothing to say returns 0. A chooser that cannot
  // answer (replay mismatch) returns 0 and reports it through Error().
  virtual uint64_t PickValue(uint64_t bound) = 0;

  // Chooser::Error(): why the chooser gave up on the current execution (a
  // replay mismatch), or empty. The engine turns it into a finding.
  virtual const std::string& Error() const {
    static const std::string kNone;
    return kNone;
  }
};

}  // namespace pollstorm::sim
