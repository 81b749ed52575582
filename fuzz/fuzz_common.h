// fuzz/fuzz_common.h: what both targets share: the variant under test
// (POLLSTORM_FUZZ_VARIANT, default fixed), the counters' origin
// (POLLSTORM_FUZZ_COUNTERS) and how a finding becomes a crash
// libFuzzer keeps (the finding, the program in text form, then abort()).
#pragma once

#include <cerrno>
#include <cstdint>
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

// POLLSTORM_FUZZ_COUNTERS=FDSEQ,RSEQ,WSEQ: where every descriptor's counters
// start in every input (the text form's `counters` header; the binary form
// has none), so a campaign runs at and across a wrap or a field boundary,
// e.g. 65535,18446744073709551614,18446744073709551614. Unset: 0,0,0.
inline const ops::Counters& Counters() {
  static const ops::Counters c = [] {
    ops::Counters r;
    const char* e = std::getenv("POLLSTORM_FUZZ_COUNTERS");
    if (e == nullptr) return r;
    std::string spec;
    for (char ch : std::string(e)) spec += ch == ',' ? ' ' : ch;
    uint64_t v[3];
    int n = 0;
    const char* q = spec.c_str();
    while (*q != 0 && n < 3) {
      char* end = nullptr;
      if (*q < '0' || *q > '9') break;
      errno = 0;
      v[n] = std::strtoull(q, &end, 10);
      if (errno != 0 || end == q || (*end != ' ' && *end != 0)) break;
      n++;
      q = *end == ' ' ? end + 1 : end;
    }
    if (n != 3 || *q != 0) {
      std::fprintf(stderr, "fuzz: POLLSTORM_FUZZ_COUNTERS='%s' is not FDSEQ,RSEQ,WSEQ (three unsigned 64-bit decimals)\n", e);
      std::exit(2);
    }
    r.fdseq = v[0];
    r.rseq = v[1];
    r.wseq = v[2];
    return r;
  }();
  return c;
}

// Op triples (no header) -> a program, or nullopt (libFuzzer: return -1).
inline std::optional<ops::Program> Decode(const uint8_t* data, size_t size) {
  if (size < 3) return std::nullopt;
  ops::Program p = ops::DecodeOpTriples(data, std::min(size, kMaxOps * 3));
  p.counters = Counters();
  return p;
}

[[noreturn]] inline void Crash(const sim::Finding& f, const ops::Program& p) {
  std::fprintf(stderr, "%s  variant: %s\n  program:\n%s", f.ToString().c_str(), Variant().c_str(),
               ops::FormatProgram(p).c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace pollstorm::fuzz
