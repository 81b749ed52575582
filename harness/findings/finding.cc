#include "harness/findings/finding.h"

#include <cstdio>

namespace pollstorm {

std::string JsonEscape(std::string_view s) {
  std::string o;
  o.reserve(s.size() + 8);
  for (char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      case '\r': o += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += c;
        }
    }
  }
  return o;
}

std::string FindingToJson(const Finding& f) {
  char after[32];
  std::snprintf(after, sizeof after, "%.3f", f.after_s);
  std::string o = "{\"kind\":\"" + JsonEscape(f.kind) + "\",\"message\":\"" + JsonEscape(f.message) +
         "\",\"signature\":\"" + JsonEscape(f.signature) + "\",\"variant\":\"" +
         JsonEscape(f.variant) + "\",\"seed\":" + std::to_string(f.seed) +
         ",\"after_s\":" + after + ",\"repro\":\"" + JsonEscape(f.repro) + "\",\"detail\":\"" +
         JsonEscape(f.detail) + "\",\"sites\":[";
  for (size_t i = 0; i < f.sites.size(); i++) {
    o += (i ? ",{" : "{") + std::string("\"file\":\"") + JsonEscape(f.sites[i].file) +
         "\",\"line\":" + std::to_string(f.sites[i].line) + ",\"function\":\"" +
         JsonEscape(f.sites[i].function) + "\"}";
  }
  return o + "]}";
}

std::string FindingToHuman(const Finding& f) {
  char after[32];
  std::snprintf(after, sizeof after, "%.3f", f.after_s);
  std::string s = "FINDING " + f.kind + ": " + f.message + "\n";
  s += "  variant: " + f.variant + "   seed: " + std::to_string(f.seed) + "   after: " + after +
       " s\n";
  s += "  signature: " + f.signature + "\n";
  if (!f.repro.empty()) s += "  repro: " + f.repro + "\n";
  if (!f.detail.empty()) {
    size_t pos = 0;
    while (pos < f.detail.size()) {
      size_t nl = f.detail.find('\n', pos);
      if (nl == std::string::npos) nl = f.detail.size();
      s += "    " + f.detail.substr(pos, nl - pos) + "\n";
      pos = nl + 1;
    }
  }
  return s;
}

}  // namespace pollstorm
