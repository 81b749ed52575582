#include "harness/findings/sarif.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "harness/cli/cli.h"
#include "harness/findings/finding.h"

#ifndef POLLSTORM_SOURCE_ROOT
#define POLLSTORM_SOURCE_ROOT "."
#endif

namespace pollstorm {
namespace {

const char* const kSourceRoot = POLLSTORM_SOURCE_ROOT;

// The port's file with this base name ("poll_desc.h" -> "polldesc/poll_desc.h");
// "" when there is none (a harness file: not a line of the port).
std::string PortFile(const std::string& base) {
  static std::map<std::string, std::string> cache;
  if (auto it = cache.find(base); it != cache.end()) return it->second;
  std::string found;
  std::error_code ec;
  const std::filesystem::path root = std::filesystem::path(kSourceRoot) / "polldesc";
  for (std::filesystem::recursive_directory_iterator it(root, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().filename() == base) {
      found = std::filesystem::relative(it->path(), kSourceRoot, ec).generic_string();
      break;
    }
  }
  return cache[base] = found;
}

// The first line of `file` (relative to the source root) containing `needle`; 0 if none.
unsigned LineOf(const std::string& file, const std::string& needle) {
  std::ifstream in(std::string(kSourceRoot) + "/" + file);
  std::string line;
  for (unsigned n = 1; std::getline(in, line); n++) {
    if (line.find(needle) != std::string::npos) return n;
  }
  return 0;
}

std::string Str(std::string_view s) { return "\"" + JsonEscape(s) + "\""; }

std::string Location(const SourceSite& s) {
  std::string o = "{\"physicalLocation\":{\"artifactLocation\":{\"uri\":" + Str(s.file) +
                  ",\"uriBaseId\":\"%SRCROOT%\"}";
  if (s.line > 0) o += ",\"region\":{\"startLine\":" + std::to_string(s.line) + "}";
  o += "}";
  if (!s.function.empty()) {
    o += ",\"logicalLocations\":[{\"fullyQualifiedName\":" + Str(s.function) +
         ",\"kind\":\"function\"}]";
  }
  return o + "}";
}

}  // namespace

std::vector<SourceSite> SitesFromSimText(std::string_view text) {
  static const std::regex kSite(R"(at ([A-Za-z0-9_.]+):([0-9]+) \(([A-Za-z0-9_:~]+)\))");
  std::vector<SourceSite> out;
  const std::string t(text);
  for (std::sregex_iterator it(t.begin(), t.end(), kSite), end; it != end; ++it) {
    SourceSite s{PortFile((*it)[1].str()), static_cast<unsigned>(std::stoul((*it)[2].str())),
                 (*it)[3].str()};
    if (s.file.empty()) continue;
    bool dup = false;
    for (const SourceSite& o : out) dup |= o.file == s.file && o.line == s.line;
    if (!dup) out.push_back(std::move(s));
  }
  return out;
}

SourceSite TsanFrameSite(std::string_view frame, std::string_view function) {
  static const std::regex kFrame(R"( (/\S*?/)?(polldesc/[^\s:]+)(:([0-9]+))?)");
  SourceSite s{"", 0, std::string(function)};
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(frame.begin(), frame.end(), m, kFrame)) return s;
  s.file = m[2].str();
  if (m[4].matched) {
    s.line = static_cast<unsigned>(std::stoul(m[4].str()));
  } else {
    // An inlined frame TSan could not give a line for: the function's
    // contract line ("// PollDesc::Reset(mode)"), else its definition.
    s.line = LineOf(s.file, "// " + s.function + "(");
    const std::string name = s.function.substr(s.function.rfind(':') + 1);
    if (s.line == 0 && !name.empty()) s.line = LineOf(s.file, " " + name + "(");
  }
  return s;
}

SourceSite SarifFallbackSite(std::string_view variant, std::string_view message) {
  std::string go = "poll_runtime_pollWait";
  if (message.find("netpollWaiters") != std::string_view::npos) {
    go = "netpollblockcommit";
  } else if (message.find("reset") != std::string_view::npos &&
             message.find("wait") == std::string_view::npos &&
             message.find("parked") == std::string_view::npos) {
    go = "poll_runtime_pollReset";
  }
  SourceSite s;
  s.file = variant == "tip" ? "polldesc/tip/netpoll_tip.h" : "polldesc/poll_desc.h";
  s.line = LineOf(s.file, "GO: " + go);
  s.function = go;
  return s;
}

std::string LoadKnownSignatures(const std::string& path, std::set<std::string>* known) {
  std::string data;
  if (std::string e = cli::ReadInput(path, 16 << 20, &data); !e.empty()) return e;
  std::istringstream in(data);
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    const size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    known->insert(line.substr(b, line.find_last_not_of(" \t\r") - b + 1));
  }
  return "";
}

std::string DefaultKnownFindingsPath() {
  const char* env = std::getenv("POLLSTORM_KNOWN_FINDINGS");
  if (env != nullptr && *env != 0) return env;
  return std::string(kSourceRoot) + "/corpus/known-findings.txt";
}

bool IsKnown(const std::set<std::string>& known, std::string_view signature,
             std::string_view variant) {
  return variant != "tip" && known.count(std::string(signature)) > 0;
}

std::string ToSarif(std::string_view tool, const std::vector<SarifResult>& results) {
  std::vector<std::string> rules;
  std::map<std::string, size_t> rule_index;
  for (const SarifResult& r : results) {
    if (rule_index.emplace(r.rule, rules.size()).second) rules.push_back(r.rule);
  }
  std::string o = "{\"$schema\":\"https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/"
                  "schemas/sarif-schema-2.1.0.json\","
                  "\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":" +
                  Str(tool) + ",\"rules\":[";
  for (size_t i = 0; i < rules.size(); i++) {
    o += (i ? "," : "") + std::string("{\"id\":") + Str(rules[i]) +
         ",\"shortDescription\":{\"text\":" + Str("pollstorm finding: " + rules[i]) + "}}";
  }
  o += "]}},\"originalUriBaseIds\":{\"%SRCROOT%\":{\"description\":{\"text\":"
       "\"the pollstorm source tree\"}}},\"results\":[";
  for (size_t i = 0; i < results.size(); i++) {
    const SarifResult& r = results[i];
    std::vector<SourceSite> sites = r.sites;
    if (sites.empty()) sites.push_back(SarifFallbackSite(r.variant, r.message));
    o += i ? "," : "";
    o += "{\"ruleId\":" + Str(r.rule) + ",\"ruleIndex\":" + std::to_string(rule_index[r.rule]) +
         ",\"level\":\"error\",\"message\":{\"text\":" +
         Str(r.message + "\nsignature: " + r.signature + "\nrepro: " + r.repro) +
         "},\"locations\":[";
    for (size_t j = 0; j < sites.size(); j++) o += (j ? "," : "") + Location(sites[j]);
    o += "],\"partialFingerprints\":{\"pollstormSignature/v1\":" + Str(r.signature) + "}";
    o += ",\"baselineState\":" + Str(r.known ? "unchanged" : "new");
    if (r.known) {
      o += ",\"suppressions\":[{\"kind\":\"external\",\"status\":\"accepted\",\"justification\":"
           "\"a known finding: listed in corpus/known-findings.txt\"}]";
    }
    o += ",\"properties\":{\"variant\":" + Str(r.variant) + ",\"signature\":" + Str(r.signature) +
         ",\"repro\":" + Str(r.repro) + ",\"known\":" + (r.known ? "true" : "false") + "}}";
  }
  return o + "]}]}\n";
}

std::string FindingsToSarif(std::string_view tool, const std::vector<Finding>& findings,
                            const std::set<std::string>& known) {
  std::vector<SarifResult> rs;
  for (const Finding& f : findings) {
    rs.push_back(SarifResult{f.kind, f.message, f.signature, f.repro, f.variant,
                             IsKnown(known, f.signature, f.variant), f.sites});
  }
  return ToSarif(tool, rs);
}

}  // namespace pollstorm
