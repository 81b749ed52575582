#include "harness/litmus/sim_litmus.h"

#include <array>
#include <atomic>
#include <string>

#include "harness/sim/atomic.h"
#include "harness/sim/thread.h"

namespace pollstorm::litmus {
namespace {

using sim::Atomic;
constexpr auto kRlx = std::memory_order_relaxed;
constexpr auto kAcq = std::memory_order_acquire;
constexpr auto kRel = std::memory_order_release;
constexpr auto kSc = std::memory_order_seq_cst;

std::set<std::string> AllPairs(const char* a, const char* b, std::initializer_list<int> va,
                               std::initializer_list<int> vb) {
  std::set<std::string> s;
  for (int x : va) {
    for (int y : vb)
      s.insert(std::string(a) + "=" + std::to_string(x) + " " + b + "=" + std::to_string(y));
  }
  return s;
}

std::set<std::string> Without(std::set<std::string> s, std::initializer_list<const char*> drop) {
  for (const char* d : drop) s.erase(d);
  return s;
}

std::set<std::string> AllIriw() {
  std::set<std::string> s;
  for (int i = 0; i < 16; i++) {
    s.insert("r1=" + std::to_string(i >> 3 & 1) + " r2=" + std::to_string(i >> 2 & 1) +
             " r3=" + std::to_string(i >> 1 & 1) + " r4=" + std::to_string(i & 1));
  }
  return s;
}

const std::array<SimLitmusSpec, 19>& Table() {
  static const std::array<SimLitmusSpec, 19> t = [] {
    const auto pairs01 = AllPairs("r1", "r2", {0, 1}, {0, 1});
    const auto relseq = std::set<std::string>{"r1=0 r2=0", "r1=0 r2=1", "r1=1 r2=1",
                                              "r1=2 r2=0", "r1=2 r2=1", "r1=3 r2=1"};
    const auto corr_allowed = std::set<std::string>{"r1=0 r2=0", "r1=0 r2=1", "r1=0 r2=2",
                                                    "r1=1 r2=1", "r1=1 r2=2", "r1=2 r2=2"};
    return std::array<SimLitmusSpec, 19>{{
        {SimLitmus::kSbRelaxed, "SB+rlx",
         "store buffering: each thread's load may miss the other's store", pairs01, pairs01},
        {SimLitmus::kSbSeqCst, "SB+sc", "seq_cst forbids both loads missing both stores",
         Without(pairs01, {"r1=0 r2=0"}), Without(pairs01, {"r1=0 r2=0"})},
        {SimLitmus::kSbFences, "SB+fences",
         "a seq_cst fence between store and load on both sides forbids (0,0)",
         Without(pairs01, {"r1=0 r2=0"}), Without(pairs01, {"r1=0 r2=0"})},
        {SimLitmus::kMpRelaxed, "MP+rlx", "relaxed flag: data may still read 0 after flag=1",
         pairs01, pairs01},
        {SimLitmus::kMpRelAcq, "MP+rel+acq", "release/acquire: flag=1 implies data=1",
         Without(pairs01, {"r1=1 r2=0"}), Without(pairs01, {"r1=1 r2=0"})},
        {SimLitmus::kMpFences, "MP+fences",
         "release fence before the flag store, acquire fence after the flag load",
         Without(pairs01, {"r1=1 r2=0"}), Without(pairs01, {"r1=1 r2=0"})},
        {SimLitmus::kLbRelaxed, "LB+rlx",
         "C11 allows (1,1) (each load reads the other thread's later store); a "
         "store-history simulator reads only stores already executed, so it never "
         "produces it",
         pairs01, Without(pairs01, {"r1=1 r2=1"})},
        {SimLitmus::k2p2wRelaxed, "2+2W+rlx",
         "final x=1, y=1 needs both locations' modification orders against program "
         "order: produced by placing a relaxed store before a later one in mo",
         AllPairs("x", "y", {1, 2}, {1, 2}), AllPairs("x", "y", {1, 2}, {1, 2})},
        {SimLitmus::kIriwRelaxed, "IRIW+rlx",
         "readers may disagree on the order of independent writes (not multi-copy atomic)",
         AllIriw(), AllIriw()},
        {SimLitmus::kIriwSeqCst, "IRIW+sc", "seq_cst: all readers agree on one order",
         Without(AllIriw(), {"r1=1 r2=0 r3=1 r4=0"}), Without(AllIriw(), {"r1=1 r2=0 r3=1 r4=0"})},
        {SimLitmus::kCorrRelaxed, "CoRR+rlx",
         "coherence: a later load never reads an older store than an earlier one", corr_allowed,
         corr_allowed},
        {SimLitmus::kSbOneFence, "SB+fence1",
         "one fence orders nothing by itself: (0,0) stays allowed (an over-strict fence "
         "model would lose it)",
         pairs01, pairs01},
        {SimLitmus::kMpRelSeq, "MP+relseq",
         "flag.store(1, release); another thread's relaxed fetch_add(2) continues the "
         "release sequence: an acquire reading 3 must see data=1, reading 2 need not",
         relseq, relseq},
        // Mixed-order SB (pattern B). C++20 [atomics.order]: only seq_cst
        // operations and fences are in the single total order S.
        {SimLitmus::kSbMixRelSc, "SBmix+rel+sc",
         "a release store is outside S: nothing orders it before the closer's seq_cst load, "
         "so both loads may miss (mutants/site-*: the closer-side weakening)",
         pairs01, pairs01},
        {SimLitmus::kSbMixRelFenceSc, "SBmix+rel+F+sc",
         "the closer's seq_cst fence X: if the CAS precedes X in S the closer's load (after X) "
         "sees it; otherwise the waiter's seq_cst load follows X in S and must see the store "
         "sequenced before X (mutants/infostore-release, argued equivalent)",
         Without(pairs01, {"r1=0 r2=0"}), Without(pairs01, {"r1=0 r2=0"})},
        {SimLitmus::kSbMixScSc, "SBmix+sc+sc",
         "all four accesses in S: one of the loads comes after the other thread's write "
         "(fixed; why its barriers are redundant)",
         Without(pairs01, {"r1=0 r2=0"}), Without(pairs01, {"r1=0 r2=0"})},
        {SimLitmus::kSbMixRlxFenceSc, "SBmix+rlx+F+sc",
         "the fence argument does not need the store to be release: a relaxed store "
         "sequenced before the fence is enough (Go's shape, seed's closer)",
         Without(pairs01, {"r1=0 r2=0"}), Without(pairs01, {"r1=0 r2=0"})},
        {SimLitmus::kSbMixFenceAcqLoad, "SBmix+F+acqload",
         "the waiter's acquire load is outside S and has no fence after its CAS: the closer's "
         "fence alone orders nothing for it (mutants/infoload-acquire)",
         pairs01, pairs01},
        {SimLitmus::kSbMixFenceAcqRelCas, "SBmix+F+acqrelcas",
         "an acq_rel CAS is outside S: the closer's load may read y=0 even though the "
         "waiter's seq_cst load came after it (mutants/slotcas-acqrel)",
         pairs01, pairs01},
    }};
  }();
  return t;
}

std::string Pair(const char* a, int x, const char* b, int y) {
  return std::string(a) + "=" + std::to_string(x) + " " + b + "=" + std::to_string(y);
}

// The bodies. Each runs as T0, spawns the test's threads, joins them and
// records one outcome. Results travel through plain ints: Join orders them.
void Body(SimLitmus t, Outcomes* out) {
  Atomic<int> x{0}, y{0};
  int r1 = 0, r2 = 0, r3 = 0, r4 = 0;
  std::string outcome;
  switch (t) {
    case SimLitmus::kSbRelaxed:
    case SimLitmus::kSbSeqCst:
    case SimLitmus::kSbFences:
    case SimLitmus::kSbOneFence: {
      const auto o = t == SimLitmus::kSbSeqCst ? kSc : kRlx;
      const bool fence = t == SimLitmus::kSbFences || t == SimLitmus::kSbOneFence;
      const bool fence2 = t == SimLitmus::kSbFences;
      auto a = sim::Spawn([&] {
        x.store(1, o);
        if (fence) sim::AtomicThreadFence(kSc);
        r1 = y.load(o);
      });
      auto b = sim::Spawn([&] {
        y.store(1, o);
        if (fence2) sim::AtomicThreadFence(kSc);
        r2 = x.load(o);
      });
      a.Join();
      b.Join();
      outcome = Pair("r1", r1, "r2", r2);
      break;
    }
    case SimLitmus::kSbMixRelSc:
    case SimLitmus::kSbMixRelFenceSc:
    case SimLitmus::kSbMixScSc:
    case SimLitmus::kSbMixRlxFenceSc:
    case SimLitmus::kSbMixFenceAcqLoad:
    case SimLitmus::kSbMixFenceAcqRelCas: {
      // x = closing/rd/wd, y = the rg/wg slot (a CAS nil -> WAIT).
      const auto wc = t == SimLitmus::kSbMixRelSc || t == SimLitmus::kSbMixRelFenceSc ? kRel
                      : t == SimLitmus::kSbMixRlxFenceSc                            ? kRlx
                                                                                    : kSc;
      const bool fence = t != SimLitmus::kSbMixRelSc && t != SimLitmus::kSbMixScSc;
      const auto cw = t == SimLitmus::kSbMixFenceAcqRelCas ? std::memory_order_acq_rel : kSc;
      const auto lw = t == SimLitmus::kSbMixFenceAcqLoad ? kAcq : kSc;
      auto a = sim::Spawn([&] {
        x.store(1, wc);
        if (fence) sim::AtomicThreadFence(kSc);
        r1 = y.load(kSc);
      });
      auto b = sim::Spawn([&] {
        int expect = 0;
        y.compare_exchange_strong(expect, 1, cw);
        r2 = x.load(lw);
      });
      a.Join();
      b.Join();
      outcome = Pair("r1", r1, "r2", r2);
      break;
    }
    case SimLitmus::kMpRelaxed:
    case SimLitmus::kMpRelAcq:
    case SimLitmus::kMpFences: {
      // x = data, y = flag; r1 = flag, r2 = data.
      const bool ra = t == SimLitmus::kMpRelAcq;
      const bool fence = t == SimLitmus::kMpFences;
      auto a = sim::Spawn([&] {
        x.store(1, kRlx);
        if (fence) sim::AtomicThreadFence(kRel);
        y.store(1, ra ? kRel : kRlx);
      });
      auto b = sim::Spawn([&] {
        r1 = y.load(ra ? kAcq : kRlx);
        if (fence) sim::AtomicThreadFence(kAcq);
        r2 = x.load(kRlx);
      });
      a.Join();
      b.Join();
      outcome = Pair("r1", r1, "r2", r2);
      break;
    }
    case SimLitmus::kLbRelaxed: {
      auto a = sim::Spawn([&] {
        r1 = x.load(kRlx);
        y.store(1, kRlx);
      });
      auto b = sim::Spawn([&] {
        r2 = y.load(kRlx);
        x.store(1, kRlx);
      });
      a.Join();
      b.Join();
      outcome = Pair("r1", r1, "r2", r2);
      break;
    }
    case SimLitmus::k2p2wRelaxed: {
      auto a = sim::Spawn([&] {
        x.store(1, kRlx);
        y.store(2, kRlx);
      });
      auto b = sim::Spawn([&] {
        y.store(1, kRlx);
        x.store(2, kRlx);
      });
      a.Join();
      b.Join();
      // After the joins every store happens-before these loads: they read the
      // mo-last store, i.e. the final value.
      outcome = Pair("x", x.load(kRlx), "y", y.load(kRlx));
      break;
    }
    case SimLitmus::kIriwRelaxed:
    case SimLitmus::kIriwSeqCst: {
      const auto o = t == SimLitmus::kIriwSeqCst ? kSc : kRlx;
      auto w1 = sim::Spawn([&] { x.store(1, o); });
      auto w2 = sim::Spawn([&] { y.store(1, o); });
      auto ra = sim::Spawn([&] {
        r1 = x.load(o);
        r2 = y.load(o);
      });
      auto rb = sim::Spawn([&] {
        r3 = y.load(o);
        r4 = x.load(o);
      });
      w1.Join();
      w2.Join();
      ra.Join();
      rb.Join();
      outcome = "r1=" + std::to_string(r1) + " r2=" + std::to_string(r2) +
                " r3=" + std::to_string(r3) + " r4=" + std::to_string(r4);
      break;
    }
    case SimLitmus::kMpRelSeq: {
      // x = data, y = flag.
      auto a = sim::Spawn([&] {
        x.store(1, kRlx);
        y.store(1, kRel);
      });
      auto m = sim::Spawn([&] { y.fetch_add(2, kRlx); });
      auto b = sim::Spawn([&] {
        r1 = y.load(kAcq);
        r2 = x.load(kRlx);
      });
      a.Join();
      m.Join();
      b.Join();
      outcome = Pair("r1", r1, "r2", r2);
      break;
    }
    case SimLitmus::kCorrRelaxed: {
      auto a = sim::Spawn([&] {
        x.store(1, kRlx);
        x.store(2, kRlx);
      });
      auto b = sim::Spawn([&] {
        r1 = x.load(kRlx);
        r2 = x.load(kRlx);
      });
      a.Join();
      b.Join();
      outcome = Pair("r1", r1, "r2", r2);
      break;
    }
  }
  (*out)[outcome]++;
}

}  // namespace

std::span<const SimLitmusSpec> SimLitmusSpecs() {
  return Table();
}

const SimLitmusSpec& SpecOf(SimLitmus t) {
  return Table()[static_cast<std::size_t>(t)];
}

Outcomes RunSimLitmus(SimLitmus t, const sim::RunConfig& cfg,
                      std::optional<sim::Finding>* finding) {
  Outcomes out;
  std::optional<sim::Finding> f = sim::Check(cfg, [&] { Body(t, &out); });
  if (finding != nullptr) *finding = std::move(f);
  return out;
}

}  // namespace pollstorm::litmus
