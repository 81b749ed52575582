#include "harness/sim/choose/random.h"

namespace pollstorm::sim {

std::optional<Schedule> RandomChooser::BeginExecution() {
  const uint64_t seed = next_seed_;
  next_seed_ = seeds_.Next();
  rng_.Seed(seed);
  Schedule s;
  s.seed = seed;
  s.weak_memory = weak_;
  return s;
}

std::optional<ThreadId> RandomChooser::PickThread(std::span<const ThreadId> runnable,
                                                  std::optional<ThreadId>, bool) {
  return runnable[rng_.Below(runnable.size())];
}

}  // namespace pollstorm::sim
