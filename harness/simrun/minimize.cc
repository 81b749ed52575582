#include "harness/simrun/minimize.h"

#include <utility>

#include "harness/simrun/program_runner.h"

namespace pollstorm::simrun {

std::string FindingShape(const sim::Finding& f) {
  std::string s = sim::FindingKindName(f.kind);
  if (f.kind == sim::FindingKind::kDeadlock) return s;
  s += ": ";
  bool in_number = false;
  for (char ch : f.message.substr(0, f.message.find(" (at "))) {
    const bool digit = ch >= '0' && ch <= '9';
    if (!digit) s += ch;
    else if (!in_number) s += '#';
    in_number = digit;
  }
  return s;
}

ops::Program MinimizeProgram(ops::Program p, std::string_view variant, const sim::RunConfig& cfg,
                             sim::Finding* f) {
  return MinimizeProgram(
      std::move(p), [&](const ops::Program& q) { return RunProgram(q, variant, cfg); }, f);
}

ops::Program MinimizeProgram(ops::Program p, const ProgramCheck& run, sim::Finding* f) {
  const std::string shape = FindingShape(*f);
  auto keep = [&](const ops::Program& q) {
    auto g = run(q);
    if (!g || FindingShape(*g) != shape) return false;
    *f = *g;
    return true;
  };
  bool progress = true;
  while (progress) {
    progress = false;
    for (size_t t = 0; t < p.threads.size(); t++) {
      for (size_t i = p.threads[t].size(); i-- > 0;) {
        ops::Program q = p;
        q.threads[t].erase(q.threads[t].begin() + static_cast<long>(i));
        if (q.NumOps() == 0) continue;
        if (keep(q)) {
          p = q;
          progress = true;
        }
      }
    }
    for (size_t t = p.threads.size(); t-- > 0;) {  // drop emptied threads
      if (p.threads[t].empty() && p.threads.size() > 1) {
        ops::Program q = p;
        q.threads.erase(q.threads.begin() + static_cast<long>(t));
        if (keep(q)) p = q;
      }
    }
  }
  return p;
}

}  // namespace pollstorm::simrun
