// harness/sim/choose/random.h: RandomChooser, uniform random choices.
//
// Execution i uses seed_i: seed_0 is the configured seed, later ones come from
// a SplitMix64 stream over it. The Schedule records seed_i, so a finding's
// seed alone reproduces it: RunConfig{.seed = seed_i, .iterations = 1}.
#pragma once

#include "harness/sim/choose/chooser.h"
#include "harness/sim/choose/rng.h"

namespace pollstorm::sim {

class RandomChooser final : public Chooser {
 public:
  RandomChooser(uint64_t seed, bool weak_memory)
      : seeds_{seed}, next_seed_(seed), weak_(weak_memory) {}

  std::optional<Schedule> BeginExecution() override;
  std::optional<ThreadId> PickThread(std::span<const ThreadId> runnable,
                                     std::optional<ThreadId> current, bool yielding) override;
  uint64_t PickValue(uint64_t bound) override { return rng_.Below(bound); }

 private:
  SplitMix64 seeds_;
  uint64_t next_seed_;
  bool weak_;
  Xoshiro256 rng_;
};

}  // namespace pollstorm::sim
