// harness/simrun/sequential.h: RunSequential, a program's ops applied one at
// a time (in thread order, then op order) to PollServer<SimEnv, V> and to the
// executable model (harness/model), compared after every step. A wait the
// model says parks runs on its own simulated thread; the ops that the model
// says wake it join that thread and compare its result. Any difference (a
// result, a missing wake, an early or spurious one) is an `assert` finding;
// a wake the port never delivers shows as a `deadlock`. Sequential
// consistency, one execution: this is fuzz_ops's oracle.
#pragma once

#include <optional>
#include <string_view>

#include "harness/ops/ops.h"
#include "harness/sim/check.h"

namespace pollstorm::simrun {

// max_steps: the step bound; 0 means DefaultMaxSteps(prog) (program_runner.h).
std::optional<sim::Finding> RunSequential(const ops::Program& prog, std::string_view variant,
                                          uint64_t seed = 1, uint64_t max_steps = 0);

}  // namespace pollstorm::simrun
