// harness/canary/canary.h: a litmus canary on real threads. It states what
// reorderings the platform the binary runs on can actually show (native x86-64,
// native ARM64, ARM64 under QEMU user mode), so a finding can be checked against
// what the platform is able to produce.
//
// Tests (two threads, litmus7-style): each test runs `instances` independent
// instances over arrays of fresh variables, in batches. Before every instance
// the two threads meet at a two-party spin barrier (each publishes the instance
// number and waits for the other's), so their accesses to instance i overlap in
// time; the threads are pinned to two different CPUs when possible. Outcomes are
// counted after each batch by thread 0.
//
//   SB        x=1; r0=y        || y=1; r1=x        relaxed   weak: r0=0 r1=0
//   MP        x=1; y=1         || r0=y; r1=x       relaxed   weak: r0=1 r1=0
//   LB        r0=x; y=1        || r1=y; x=1        relaxed   weak: r0=1 r1=1
//   2+2W      x=1; y=2         || y=1; x=2         relaxed   weak: final x=1 y=1
//   SB+sc     SB, seq_cst stores and loads                   (0,0) FORBIDDEN by C++
//   SB+fence  SB, relaxed, atomic_thread_fence(seq_cst)       (0,0) FORBIDDEN
//             between store and load
//   SB+xchg   SB, the store is a seq_cst exchange            (0,0) FORBIDDEN
//   PatternB  closer: x=1 (seq_cst); fence(seq_cst); r0=y (seq_cst)  (0,0) FORBIDDEN
//             waiter: CAS y 0->1 (seq_cst); r1=x (seq_cst)
//             the port's close/timeout handshake exactly as poll_desc.h writes it
//
// The weak outcomes of the first four are allowed by C++ (relaxed) and by ARMv8;
// x86-TSO shows only SB's. The SB variants are store-buffering with the three
// ways C++ forbids (0,0): seq_cst accesses, seq_cst fences, an RMW store.
// QEMU 7.2 user mode on x86-64 breaks the first (stlr;ldar are translated with
// no store->load barrier; ../shared/reference/toolchain-facts.md) and honours
// the other two. PatternB is the shape the port relies on; it needs only the
// fence and the RMW, so a platform that breaks SB+sc alone cannot explain a
// pattern-B finding in `fixed`, while one that breaks PatternB can.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pollstorm::canary {

struct OutcomeCount {
  std::string outcome;  // "r0=0 r1=0" or "x=1 y=1"
  uint64_t count = 0;
  bool c11_allowed = true;
  bool weak = false;    // not explained by any interleaving (not sequentially consistent)
};

struct TestResult {
  std::string name;     // SB, MP, LB, 2+2W, SB+sc, SB+fence, SB+xchg, PatternB
  std::string orders;   // "relaxed", "seq_cst", ...
  uint64_t instances = 0;
  double seconds = 0;
  std::vector<OutcomeCount> outcomes;  // every possible outcome, in a fixed order

  uint64_t WeakCount() const;
  uint64_t ForbiddenCount() const;
};

struct Options {
  uint64_t instances = 1000000;  // per test
  uint64_t batch = 10000;        // instances per array (reset between batches)
  bool pin = true;  // pin the two threads to two CPUs (as litmus7), if allowed
  std::vector<std::string> tests;  // empty: all
};

struct Platform {
  std::string arch;      // x86_64, aarch64
  std::string atomics;   // aarch64: "LSE" or "LL/SC (ldaxr/stlxr)"; x86_64: "x86 locked ops"
  std::string run_via;   // "native" or "qemu-user (emulator environment)"
  std::string pinned;    // "cpus 0,1" or why not
  std::string compiler;
};

// Names of all tests, in run order.
const std::vector<std::string>& TestNames();

// Runs the selected tests. Returns false with *error set on an internal error.
bool RunTests(const Options& opt, Platform* platform, std::vector<TestResult>* results,
              std::string* error);

std::string FormatTable(const Platform& p, const std::vector<TestResult>& results);
std::string FormatJson(const Platform& p, const Options& opt,
                       const std::vector<TestResult>& results);

}  // namespace pollstorm::canary
