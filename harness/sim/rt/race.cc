// harness/sim/rt/race.cc: the data-race detector, on Shared<T> cells only
// (an Atomic<T> cannot race). Independent of the weak-memory model: it works
// on the happens-before clocks alone, the same with weak memory on or off.
//
// Models the C++ definition: two accesses to one cell, at least one a write,
// at least one non-atomic (a plain Read/Write; Go's atomic.* on a Shared<T>
// counts as atomic), not ordered by happens-before. Per cell and thread it
// keeps the last plain read, plain write, atomic read and atomic write
// (RaceState in rt/location.h), FastTrack-style epochs against VectorClock.
//
// Limits: only the last access of each kind per thread is kept, so of two
// racing pairs with the same thread only the later one is named; when races
// are not findings (Config::races_are_findings), the first rt::kMaxRaceNotes
// become notes on the outcome and the rest are only counted; Config::
// detect_races off skips the detector entirely (fuzz_ops's setting).
#include "harness/sim/rt/execution.h"

namespace pollstorm::sim::rt {

void Execution::RaceCheck(Location& l, Thread& t, bool write, bool atomic, Site site) {
  if (!cfg_.detect_races) return;
  RaceState& r = l.race;
  // Which earlier accesses conflict with this one (C++: two accesses, at
  // least one a write, at least one non-atomic).
  struct Kind {
    const std::array<RaceState::Access, kMaxThreads>* arr;
    const char* name;
  };
  Kind kinds[4];
  int nk = 0;
  if (!atomic) {
    kinds[nk++] = {&r.plain_write, "plain write"};
    kinds[nk++] = {&r.atomic_write, "atomic write"};
    if (write) {
      kinds[nk++] = {&r.plain_read, "plain read"};
      kinds[nk++] = {&r.atomic_read, "atomic read"};
    }
  } else {
    kinds[nk++] = {&r.plain_write, "plain write"};
    if (write) kinds[nk++] = {&r.plain_read, "plain read"};
  }
  for (int k = 0; k < nk; k++) {
    for (ThreadId u = 0; u < nthreads_; u++) {
      if (u == t.id) continue;
      const RaceState::Access& a = (*kinds[k].arr)[u];
      if (a.time == 0 || a.time <= t.view.hb[u]) continue;
      races_seen_++;
      if (!cfg_.races_are_findings && races_seen_ > kMaxRaceNotes) break;
      const char* mine = atomic ? (write ? "atomic write" : "atomic read")
                                : (write ? "plain write" : "plain read");
      std::string msg = std::string("data race on a Shared cell: ") + mine + " by " +
                        ThreadName(t.id) + " at " + site.ToString() + " and " + kinds[k].name +
                        " by " + ThreadName(u) + " at " + a.site.ToString() +
                        " are not ordered by happens-before";
      if (cfg_.races_are_findings) {
        SetFinding(FindingKind::kDataRace, std::move(msg));
        Abandon();
      }
      outcome_.notes.push_back(std::move(msg));
      break;
    }
  }
  const RaceState::Access mine{t.view.hb[t.id], site};
  if (atomic) {
    (write ? r.atomic_write : r.atomic_read)[t.id] = mine;
  } else {
    (write ? r.plain_write : r.plain_read)[t.id] = mine;
  }
}

}  // namespace pollstorm::sim::rt
