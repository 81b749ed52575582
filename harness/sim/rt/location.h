// harness/sim/rt/location.h: one simulated memory cell.
//
//   View        what a thread is obliged to have seen: its happens-before
//               clock plus the coherence obligations seq_cst fences add
//   StoreRecord one store in a cell's modification order (mo)
//   RaceState   the race detector's last accesses per thread (Shared cells)
//   Location    a cell: its stores in mo (at most kMaxStoreHistory) and, for
//               Shared cells, its RaceState
//
// The weak-memory model (C++11/20, after Lahav et al. and P0668's repaired
// seq_cst) is implemented in memory.cc (the race detector in race.cc); this
// file holds its state. In short: a load may read any kept store at or after
// its *floor*, the mo-latest store the thread is already obliged to see:
//   - a store it read or wrote itself (read-read / write-read coherence),
//   - a store some thread read or wrote at an event that happens-before it
//     (StoreRecord::first_seen against View::hb),
//   - a store seen before any seq_cst fence that precedes, in the execution's
//     fence order, a seq_cst fence the thread has passed (View::fence),
//   - a store touched by any seq_cst operation that precedes such a fence
//     (StoreRecord::sc_seen against View::fence_sc),
//   - for a seq_cst load, additionally any store touched by any earlier seq_cst
//     operation, or seen before any earlier seq_cst fence.
// RMWs read the mo-latest store. seq_cst and RMW stores go last in mo; a
// relaxed or release atomic store may be placed before later stores the
// thread is not obliged to see (this is what makes 2+2W observable).
#pragma once

#include <array>
#include <cstdint>

#include "harness/sim/rt/rt.h"
#include "harness/sim/rt/vector_clock.h"
#include "harness/sim/site.h"

namespace pollstorm::sim::rt {

inline constexpr uint64_t kNeverSc = UINT64_MAX;

struct View {
  VectorClock hb;         // happens-before
  VectorClock fence;      // coherence obligations from seq_cst fences (not hb)
  uint64_t fence_sc = 0;  // seq_cst ops numbered <= this precede a fence we passed

  void Clear() {
    hb.Clear();
    fence.Clear();
    fence_sc = 0;
  }
  // View::Join(o): what an acquire of o's release does.
  void Join(const View& o) {
    hb.Join(o.hb);
    fence.Join(o.fence);
    fence_sc = fence_sc > o.fence_sc ? fence_sc : o.fence_sc;
  }
};

struct StoreRecord {
  uint64_t value = 0;
  uint32_t serial = 0;  // creation order on this cell (stable under mo insertion)
  ThreadId tid = kNoThread;
  uint32_t time = 0;  // the writer's clock at the store
  bool rmw = false;   // an RMW: nothing may be placed between it and the store it read
  bool has_release = false;
  uint64_t sc_seen = kNeverSc;  // seq_cst op number of the first seq_cst op that touched it
  VectorClock first_seen;       // per thread: its clock when it first read or wrote this store
  View release;                 // the view an acquire reading this store joins (release
                                // store, release fence before it, or its release sequence)
};

struct RaceState {
  struct Access {
    uint32_t time = 0;  // 0: none
    Site site;
  };
  std::array<Access, kMaxThreads> plain_read, plain_write, atomic_read, atomic_write;
  void Clear() {
    plain_read.fill({});
    plain_write.fill({});
    atomic_read.fill({});
    atomic_write.fill({});
  }
};

struct Location {
  std::array<StoreRecord, kMaxStoreHistory> hist;  // [0, n): mo order, oldest first
  uint32_t n = 0;
  uint32_t next_serial = 0;
  bool shared = false;         // a Shared<T> cell: race-checked
  uint64_t* mirror = nullptr;  // the facade's copy of the mo-latest value
  RaceState race;              // valid if shared

  const StoreRecord& Latest() const { return hist[n - 1]; }
};

}  // namespace pollstorm::sim::rt
