#include "harness/sim/report.h"

namespace pollstorm::sim {

pollstorm::Finding ToReport(const Finding& f) {
  pollstorm::Finding r;
  switch (f.kind) {
    case FindingKind::kDeadlock:
      r.kind = "lost-wakeup";
      break;
    case FindingKind::kFatal:
      r.kind = "throw";
      break;
    default:
      r.kind = FindingKindName(f.kind);
      break;
  }
  r.message = f.message;
  if (f.kind == FindingKind::kDeadlock) {
    // Where each thread is stuck identifies the bug; the message is generic.
    r.signature = r.kind;
    for (const std::string& d : f.details) r.signature += " | " + d;
  } else {
    r.signature = r.kind + ": " + f.message;
  }
  r.variant = f.label;
  r.seed = f.seed;
  r.after_s = 0;  // the simulator counts executions, not seconds: see detail
  std::string one_line;
  for (char c : f.schedule_hex) {
    if (c != '\n') one_line += c;
  }
  r.repro = "POLLSTORM_SIM_CHOOSER=replay POLLSTORM_SIM_REPLAY=" + one_line +
            " <the simulator test binary and filter>";
  r.detail = "thread: " + f.thread + "\n";
  for (const std::string& d : f.details) r.detail += d + "\n";
  for (const std::string& n : f.notes) r.detail += "note: " + n + "\n";
  r.detail += "execution " + std::to_string(f.execution) + " of " + std::to_string(f.iterations) +
              ", schedule v" + std::to_string(Schedule::kVersion) + ", " +
              std::to_string(f.schedule.choices.size()) + " choices:\n" + f.schedule_hex + "\n";
  for (const std::string& t : f.trace) r.detail += t + "\n";
  return r;
}

}  // namespace pollstorm::sim
