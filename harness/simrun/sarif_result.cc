#include "harness/simrun/sarif_result.h"

#include <cctype>

namespace pollstorm::simrun {

SarifResult SimSarifResult(const sim::Finding& f, std::string_view variant,
                           std::string_view program, std::string_view repro,
                           const std::set<std::string>& known) {
  SarifResult r;
  // The message without its harness site (" (at program_runner.cc:98 (Fail))"):
  // that is where the oracle noticed, not a line of the port.
  r.message = f.message;
  if (size_t at = r.message.rfind(" (at "); at != std::string::npos && r.message.back() == ')') {
    r.message.resize(at);
  }
  r.rule = r.message.find("lost wakeup") != std::string::npos ? "lost-wakeup"
                                                             : sim::FindingKindName(f.kind);
  std::string shape;
  for (size_t i = 0; i < r.message.size(); i++) {
    if (std::isdigit(static_cast<unsigned char>(r.message[i]))) {
      while (i + 1 < r.message.size() && std::isdigit(static_cast<unsigned char>(r.message[i + 1]))) i++;
      shape += '#';
    } else {
      shape += r.message[i];
    }
  }
  std::string base(program);
  if (size_t slash = base.rfind('/'); slash != std::string::npos) base.erase(0, slash + 1);
  r.signature = base.empty() ? "sim-explore:" + std::string(variant) + ":" + shape
                             : "sim:" + std::string(variant) + ":" + base + ":" + shape;
  r.repro = repro;
  r.variant = variant;
  r.known = IsKnown(known, r.signature, variant);
  std::string text = f.message + "\n";
  for (const std::string& d : f.details) text += d + "\n";
  r.sites = SitesFromSimText(text);
  return r;
}

}  // namespace pollstorm::simrun
