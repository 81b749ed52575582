// harness/findings/sarif.h: findings as SARIF 2.1.0, the format code-review
// systems (GitHub code scanning, IDEs) read. One writer for the native tools
// (pollstorm-storm --sarif, pollstorm-sim --sarif); scripts/sarif.py writes the
// same shape for the fuzz campaign and the nightly, and merges and validates
// logs (docs/engines.md).
//
// The shape of one result:
//   ruleId        the finding kind (data-race, lost-wakeup, assert, ...)
//   message       "<message>" + "signature: <sig>" + "repro: <command>"
//   locations     the ported functions' source lines: both sides of a race
//                 when the finding has two (TSan's stacks, the simulator's
//                 sites); otherwise the Go function the oracle judged
//                 (SarifFallbackSite)
//   partialFingerprints["pollstormSignature/v1"]  the signature (dedup key)
//   baselineState "unchanged" and an external, accepted suppression when the
//                 signature is in corpus/known-findings.txt (never on tip),
//                 else "new"
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pollstorm {

// SourceSite: a line of the port, e.g. {"polldesc/poll_desc.h", 481,
// "PollDesc::NetpollUnblock"}; file is relative to the source root.
struct SourceSite {
  std::string file;
  unsigned line = 0;
  std::string function;
};

struct SarifResult {
  std::string rule;       // the finding kind
  std::string message;    // one line
  std::string signature;  // dedup key
  std::string repro;      // one-line command
  std::string variant;
  bool known = false;
  std::vector<SourceSite> sites;
};

// SitesFromSimText(text): the sites a simulator finding names ("at
// poll_desc.h:377 (InfoStore)"), in order, duplicates dropped, only files of
// the port (polldesc/); the base name is resolved under the source root.
std::vector<SourceSite> SitesFromSimText(std::string_view text);

// TsanFrameSite(frame): a TSan stack line ("    #0 pollstorm::PollDesc<..>::
// NetpollUnblock(int, bool) /src/polldesc/poll_desc.h:488:7") as a site;
// file empty when the frame is not in polldesc/; function is always kept.
// A frame without a line (inlined) gets the function's contract or
// definition line.
SourceSite TsanFrameSite(std::string_view frame, std::string_view function);

// SarifFallbackSite(variant, message): for a finding without sites, the Go
// function the oracle judged: netpollblockcommit for netpollWaiters, the
// reset for a reset's result (a message naming a reset and no wait or parked
// waiter), else poll_runtime_pollWait (a waiter's result).
// Its line is the port's "GO: <name>" comment in the variant's source.
SourceSite SarifFallbackSite(std::string_view variant, std::string_view message);

// LoadKnownSignatures(path, &known): "" or an error naming the file. One
// signature per line, '#' starts a comment (corpus/known-findings.txt).
std::string LoadKnownSignatures(const std::string& path, std::set<std::string>* known);

// The default list: POLLSTORM_KNOWN_FINDINGS if set, else the source tree's.
std::string DefaultKnownFindingsPath();

// IsKnown: listed, and not on tip (where every finding is new).
bool IsKnown(const std::set<std::string>& known, std::string_view signature,
             std::string_view variant);

// ToSarif(tool, results): one SARIF 2.1.0 log with one run of `tool`.
std::string ToSarif(std::string_view tool, const std::vector<SarifResult>& results);

// FindingsToSarif(tool, findings, known): ToSarif of the storm's findings
// (harness/findings/finding.h), each marked known by IsKnown.
struct Finding;
std::string FindingsToSarif(std::string_view tool, const std::vector<Finding>& findings,
                            const std::set<std::string>& known);

}  // namespace pollstorm
