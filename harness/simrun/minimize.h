// harness/simrun/minimize.h: shrink a failing program (pollstorm-sim
// minimize, and every finding of pollstorm-sim explore).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "harness/ops/ops.h"
#include "harness/sim/check.h"

namespace pollstorm::simrun {

// What must stay the same while ops are removed: the finding's kind and, but
// for deadlocks (whose message is generic), its message with numbers blurred
// (thread and execution numbers move as threads go). Matching the kind alone
// let a lost wakeup slide into another lost wakeup (a 4-op Fd read finding
// became #45211 with one op).
std::string FindingShape(const sim::Finding& f);

// Greedy one-op removal to a fixpoint, then emptied threads dropped: a
// removal is kept if run(q) still gives a finding of f's shape. *f becomes
// the finding of the returned program.
using ProgramCheck = std::function<std::optional<sim::Finding>(const ops::Program&)>;
ops::Program MinimizeProgram(ops::Program p, const ProgramCheck& run, sim::Finding* f);
// The same with RunProgram(q, variant, cfg) as the check.
ops::Program MinimizeProgram(ops::Program p, std::string_view variant, const sim::RunConfig& cfg,
                             sim::Finding* f);

}  // namespace pollstorm::simrun
