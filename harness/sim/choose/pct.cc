#include "harness/sim/choose/pct.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace pollstorm::sim {

PctChooser::PctChooser(uint64_t seed, int depth, uint64_t expected_steps, bool weak_memory)
    : seeds_{seed},
      next_seed_(seed),
      depth_(std::max(depth, 1)),
      k_(std::max<uint64_t>(expected_steps, 1)),
      weak_(weak_memory) {}

double PctChooser::ProbabilityBound(uint64_t n, uint64_t k, int d) {
  if (n == 0 || k == 0 || d < 1) return 0;
  return 1.0 / (static_cast<double>(n) * std::pow(static_cast<double>(k), d - 1));
}

std::optional<Schedule> PctChooser::BeginExecution() {
  // Learn k from the execution that just ended.
  k_ = std::max(k_, step_);
  const uint64_t seed = next_seed_;
  next_seed_ = seeds_.Next();
  rng_.Seed(seed);
  step_ = 0;
  priority_.clear();
  seen_.clear();
  low_ = 0;
  change_points_.clear();
  next_change_ = 0;
  // d-1 distinct change points in [1, k] (fewer if k is tiny).
  const uint64_t want = std::min<uint64_t>(static_cast<uint64_t>(depth_ - 1), k_);
  while (change_points_.size() < want) {
    const uint64_t p = 1 + rng_.Below(k_);
    if (std::find(change_points_.begin(), change_points_.end(), p) == change_points_.end()) {
      change_points_.push_back(p);
    }
  }
  std::sort(change_points_.begin(), change_points_.end());
  Schedule s;
  s.seed = seed;
  s.weak_memory = weak_;
  return s;
}

int64_t PctChooser::NewPriority() {
  // Positive and distinct; redraw on the (astronomically rare) collision.
  for (;;) {
    const auto p = static_cast<int64_t>(rng_.Next() >> 2) + 1;
    bool taken = false;
    for (std::size_t t = 0; t < priority_.size(); t++) taken |= seen_[t] && priority_[t] == p;
    if (!taken) return p;
  }
}

std::optional<ThreadId> PctChooser::PickThread(std::span<const ThreadId> runnable,
                                               std::optional<ThreadId> current, bool yielding) {
  step_++;
  for (ThreadId t : runnable) {
    if (t >= priority_.size()) {
      priority_.resize(t + 1, 0);
      seen_.resize(t + 1, false);
    }
    if (!seen_[t]) {
      priority_[t] = NewPriority();
      seen_[t] = true;
    }
  }
  if (yielding && current.has_value() && *current < priority_.size()) {
    priority_[*current] = --low_;  // the engine no longer offers it this step
  }
  auto highest = [&] {
    ThreadId best = runnable[0];
    for (ThreadId t : runnable) {
      if (priority_[t] > priority_[best]) best = t;
    }
    return best;
  };
  ThreadId pick = highest();
  while (next_change_ < change_points_.size() && change_points_[next_change_] == step_) {
    // Change point i: the thread about to run drops below everyone (the
    // paper's priority d - i).
    priority_[pick] = --low_;
    next_change_++;
    pick = highest();
  }
  CheckInvariants();
  return pick;
}

void PctChooser::CheckInvariants() const {
#ifndef NDEBUG
  for (std::size_t i = 0; i < priority_.size(); i++) {
    if (!seen_[i]) continue;
    for (std::size_t j = i + 1; j < priority_.size(); j++) {
      assert(!seen_[j] || priority_[i] != priority_[j]);
    }
  }
#endif
}

}  // namespace pollstorm::sim
