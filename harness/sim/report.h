// harness/sim/report.h: ToReport(), a simulator finding in the shape every
// pollstorm tool shares (harness/findings/finding.h: FindingToHuman,
// FindingToJson).
//
//   kind       deadlock -> "lost-wakeup", fatal -> "throw", the others by
//              FindingKindName ("data-race", "step-bound", ...)
//   signature  the kind plus what identifies the bug independently of the
//              schedule: the message (fatal, race sites) or the blocked
//              threads' sites (deadlock)
//   repro      the replay command
//   detail     thread, blocked threads, notes, execution, schedule, trace
#pragma once

#include "harness/findings/finding.h"
#include "harness/sim/finding.h"

namespace pollstorm::sim {

pollstorm::Finding ToReport(const Finding& f);

}  // namespace pollstorm::sim
