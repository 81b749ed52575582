// fuzz/fuzz_common.h: what both targets share: the variant under test
// (POLLSTORM_FUZZ_VARIANT, default fixed) and how a finding becomes a crash
// libFuzzer keeps (the finding, the program in text form, then abort()).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "harness/ops/ops.h"
#include "harness/sim/finding.h"
#include "polldesc/variants.h"

namespace pollstorm::fuzz {

// Inputs decode to at most this many ops (caps slow inputs).
inline constexpr size_t kMaxOps = 24;

inline const std::string& Variant() {
  static const std::string v = [] {
    const char* e = std::getenv("POLLSTORM_FUZZ_VARIANT");
    std::string name = e ? e : std::string(kDefaultVariant);
    bool ok = false;
    for (auto n : kVariantNames) ok |= n == name;
    if (!ok) {
      std::fprintf(stderr, "fuzz: POLLSTORM_FUZZ_VARIANT='%s' is not a variant (%s)\n",
                   name.c_str(), std::string(kVariantList).c_str());
      std::exit(2);
    }
    return name;
  }();
  return v;
}

// Op triples (no header) -> a program, or nullopt (libFuzzer: return -1).
inline std::optional<ops::Program> Decode(const uint8_t* data, size_t size) {
  if (size < 3) return std::nullopt;
  return ops::DecodeOpTriples(data, std::min(size, kMaxOps * 3));
}

[[noreturn]] inline void Crash(const sim::Finding& f, const ops::Program& p) {
  std::fprintf(stderr, "%s  variant: %s\n  program:\n%s", f.ToString().c_str(), Variant().c_str(),
               ops::FormatProgram(p).c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace pollstorm::fuzz
