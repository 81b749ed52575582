// harness/sim/rt/vector_clock.h: VectorClock, a fixed-size happens-before
// clock with one slot per simulated thread (rt::kMaxThreads).
//
// Each simulated thread ticks its own slot at every operation, so an event is
// named by its epoch (thread, time). Event (u, e) happens-before thread t's
// current point iff t.clock[u] >= e.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "harness/sim/rt/rt.h"

namespace pollstorm::sim::rt {

class VectorClock {
 public:
  // "Never": larger than any time, so `kNever <= clock[u]` is always false.
  static constexpr uint32_t kNever = UINT32_MAX;

  uint32_t operator[](ThreadId t) const { return c_[t]; }
  uint32_t& operator[](ThreadId t) { return c_[t]; }

  void Clear() { c_.fill(0); }
  void Fill(uint32_t v) { c_.fill(v); }
  // VectorClock::Join(o): pointwise max; what an acquire does with the
  // clock a release published.
  void Join(const VectorClock& o) {
    for (uint32_t i = 0; i < kMaxThreads; i++) c_[i] = std::max(c_[i], o.c_[i]);
  }
  // VectorClock::Covers(tid, time): has the event (tid, time) happened
  // before the point this clock describes?
  bool Covers(ThreadId tid, uint32_t time) const { return time <= c_[tid]; }

 private:
  std::array<uint32_t, kMaxThreads> c_{};
};

}  // namespace pollstorm::sim::rt
