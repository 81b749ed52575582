// harness/simrun/sarif_result.h: a simulator finding as a SARIF result
// (harness/findings/sarif.h), for pollstorm-sim --sarif.
//
//   rule       the finding kind; "lost-wakeup" for a broken wake obligation
//              (an assert whose message says "lost wakeup"), as the nightly names it
//   signature  the nightly's key for simulator findings: "sim:<variant>:
//              <program file name>:<message with numbers as #>" for a program
//              run, "sim-explore:<variant>:<message>" for a generated one
//              (program empty)
//   sites      the port's lines the finding names (both sides of a race),
//              from its message and details
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "harness/findings/sarif.h"
#include "harness/sim/finding.h"

namespace pollstorm::simrun {

SarifResult SimSarifResult(const sim::Finding& f, std::string_view variant,
                           std::string_view program, std::string_view repro,
                           const std::set<std::string>& known);

}  // namespace pollstorm::simrun
