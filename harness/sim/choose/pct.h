// harness/sim/choose/pct.h: PctChooser, probabilistic concurrency testing.
//
// Burckhardt, Kothari, Musuvathi, Nagarakatte, "A Randomized Scheduler with
// Probabilistic Guarantees of Finding Bugs", ASPLOS 2010. Each thread gets a
// random priority >= d; d-1 change points k_1..k_{d-1} are drawn in [1, k];
// at step k_i the thread about to run drops to priority d-i; the highest-
// priority runnable thread always runs. For a program of n threads and k
// steps, a bug of depth d is found by one execution with probability at least
// ProbabilityBound(n, k, d) = 1 / (n * k^(d-1)).
//
// Departures from the paper:
//  - Threads appear dynamically (spawn, the timer fiber): a thread gets a
//    fresh random priority the first time it is runnable, not at start.
//  - k is not known in advance: it is the larger of the configured estimate
//    and the most steps any earlier execution took (steps = real choices; a
//    forced step is not one), so change points spread over the observed
//    length.
//  - Data choices (PickValue: weak-memory reads, timer order) are uniform
//    random; PCT's bound covers thread choices only.
//  - A yielding thread drops below every other thread (as shuttle does),
//    which the paper's model (no yields) does not need.
//
// Priorities are kept as signed numbers: initial ones are random and
// positive; a change point (or a yield) gives the thread the next value of a
// counter that counts down from 0, so each lowered thread sits below every
// other, exactly the order the paper's d-1, d-2, ..., 1 produces.
//
// Invariants (debug-asserted): priorities of seen threads are pairwise
// distinct; every lowered priority is below every initial one.
#pragma once

#include <vector>

#include "harness/sim/choose/chooser.h"
#include "harness/sim/choose/rng.h"

namespace pollstorm::sim {

class PctChooser final : public Chooser {
 public:
  // depth >= 1 (1 = no change points: a random priority order, run to
  // completion). expected_steps: the initial estimate of k.
  PctChooser(uint64_t seed, int depth, uint64_t expected_steps, bool weak_memory);

  // PctChooser::ProbabilityBound(n, k, d): the paper's lower bound on the
  // chance one execution finds a given depth-d bug: 1 / (n * k^(d-1)).
  static double ProbabilityBound(uint64_t n, uint64_t k, int d);

  std::optional<Schedule> BeginExecution() override;
  std::optional<ThreadId> PickThread(std::span<const ThreadId> runnable,
                                     std::optional<ThreadId> current, bool yielding) override;
  uint64_t PickValue(uint64_t bound) override { return rng_.Below(bound); }

  // The current estimate of k (for reports).
  uint64_t max_steps() const { return k_; }

 private:
  int64_t NewPriority();
  void CheckInvariants() const;

  SplitMix64 seeds_;
  uint64_t next_seed_;
  int depth_;
  uint64_t k_;
  bool weak_;
  Xoshiro256 rng_;
  uint64_t step_ = 0;                    // real choices made in this execution
  std::vector<int64_t> priority_;        // by thread id; valid where seen_
  std::vector<bool> seen_;               // by thread id
  int64_t low_ = 0;                      // last lowered priority (counts down)
  std::vector<uint64_t> change_points_;  // sorted ascending, distinct, in [1, k]
  std::size_t next_change_ = 0;          // index into change_points_
};

}  // namespace pollstorm::sim
