// harness/litmus/sim_litmus.h: the classic litmus tests, run in the
// simulator (sim::Check), to show what its weak-memory model produces.
//
//   SimLitmus          the tests (SB, MP, LB, 2+2W, IRIW, CoRR, with the
//                      orders named in each)
//   SimLitmusSpec      per test: the outcomes C11 allows, and the outcomes the
//                      simulator is expected to produce (the same set, except
//                      where a documented limit removes one: LB's (1,1))
//   RunSimLitmus       runs a test for cfg.iterations executions and counts
//                      each outcome
//
// An outcome is printed as "r1=0 r2=1" (the loads' results, or the final
// values for 2+2W). The simulator must produce exactly `expected`: every
// member at least once, and never anything outside `allowed`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>

#include "harness/sim/check.h"

namespace pollstorm::litmus {

enum class SimLitmus : uint8_t {
  kSbRelaxed,    // store buffering, relaxed: (0,0) allowed
  kSbSeqCst,     // store buffering, seq_cst: (0,0) forbidden
  kSbFences,     // relaxed accesses + seq_cst fences: (0,0) forbidden
  kMpRelaxed,    // message passing, relaxed: (flag=1, data=0) allowed
  kMpRelAcq,     // message passing, release/acquire: (1,0) forbidden
  kMpFences,     // relaxed accesses + release/acquire fences: (1,0) forbidden
  kLbRelaxed,    // load buffering, relaxed: (1,1) allowed by C11, not produced here
  k2p2wRelaxed,  // two writers, two locations: final (x=1, y=1) allowed
  kIriwRelaxed,  // independent reads of independent writes: (1,0,1,0) allowed
  kIriwSeqCst,   // IRIW, seq_cst: (1,0,1,0) forbidden
  kCorrRelaxed,  // read-read coherence: reading 2 then 1 (or 0) forbidden
  kSbOneFence,   // a seq_cst fence on one side only: (0,0) still allowed
  kMpRelSeq,     // MP where a third thread's relaxed RMW continues the release sequence
  // Mixed-order store buffering: the shapes of pollDesc's pattern B
  // (poll_desc.h). Closer: x.store(1, Wc) [fence] ; r1 = y.load(seq_cst).
  // Waiter: y.CAS(0 -> 1, Cw) ; r2 = x.load(Lw). (0,0) is the parked-forever
  // outcome.
  kSbMixRelSc,       // Wc release, no fence; Cw, Lw seq_cst: (0,0) allowed
  kSbMixRelFenceSc,  // Wc release + seq_cst fence; Cw, Lw seq_cst: forbidden
  kSbMixScSc,        // all seq_cst, no fence (fixed): forbidden
  kSbMixRlxFenceSc,  // Wc relaxed + fence (Go's dummy-store barrier); waiter seq_cst: forbidden
  kSbMixFenceAcqLoad,   // closer seq_cst + fence; waiter CAS seq_cst, Lw acquire: allowed
  kSbMixFenceAcqRelCas, // closer seq_cst + fence; waiter CAS acq_rel, Lw seq_cst: allowed
};

struct SimLitmusSpec {
  SimLitmus test;
  const char* name;
  const char* why;                 // what the test shows and, if any, the gap
  std::set<std::string> allowed;   // every outcome C11 allows
  std::set<std::string> expected;  // what this simulator must produce
};

// All the tests, in enum order.
std::span<const SimLitmusSpec> SimLitmusSpecs();
const SimLitmusSpec& SpecOf(SimLitmus t);

using Outcomes = std::map<std::string, uint64_t>;

// RunSimLitmus(t, cfg, &finding): runs t under sim::Check with cfg (use the
// random chooser, weak memory on) and returns how often each outcome
// appeared. A finding (none is expected) is stored in *finding.
Outcomes RunSimLitmus(SimLitmus t, const sim::RunConfig& cfg,
                      std::optional<sim::Finding>* finding = nullptr);

}  // namespace pollstorm::litmus
