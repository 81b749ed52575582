// harness/findings/finding.h: one shape for findings everywhere (STYLE.md 9).
//
//   FINDING <kind>: <message>
//     variant: fixed   seed: 42   after: 1.234 s
//     signature: <dedup key>
//     repro: <one-line command>
//     <detail lines: descriptor state, recent events, stacks>
//
// and the same content as one JSON line for machines.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/findings/sarif.h"

namespace pollstorm {

struct Finding {
  std::string kind;       // lost-wakeup, early-timeout, unexplained-ready, throw, data-race, ...
  std::string message;    // one line
  std::string signature;  // dedup key: same bug, same signature
  std::string variant;
  uint64_t seed = 0;
  double after_s = 0;     // time to detect, from the start of the run
  std::string repro;      // one-line command
  std::string detail;     // multi-line dump
  std::vector<SourceSite> sites;  // the port's lines involved (both sides of a race), if known
};

inline Finding MakeFinding(std::string kind, std::string message, std::string signature) {
  Finding f;
  f.kind = std::move(kind);
  f.message = std::move(message);
  f.signature = std::move(signature);
  return f;
}

std::string JsonEscape(std::string_view s);
std::string FindingToJson(const Finding& f);
std::string FindingToHuman(const Finding& f);

}  // namespace pollstorm
