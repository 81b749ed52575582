// harness/sim/rt/memory.cc: the memory model. Every Atomic<T> and Shared<T>
// operation (Load, Store, Rmw, CompareExchange) and every Fence, on the cells'
// store histories (rt/location.h) and the threads' views.
//
// Models C++20 atomics after Lahav et al. and P0668's repaired seq_cst
// (location.h states the floor rule in full): each location keeps its stores
// in modification order (mo); a load may read any kept store at or after its
// floor, the mo-latest store the thread is already obliged to see
// (coherence, happens-before, seq_cst fences and operations); release stores
// and release fences publish a View that acquire loads and acquire fences
// join; an RMW reads the mo-latest store and carries the release sequence on;
// seq_cst and RMW stores go last in mo, a relaxed or release store may be
// placed before later stores the thread is not obliged to see (2+2W).
// Shared<T>'s plain reads may read what a relaxed load may (with no acquire),
// its plain writes go last in mo and release nothing; both are race-checked
// (race.cc). Go's atomic.* on a Shared<T> takes the order it is given (the
// port names seq_cst, as Go means) and its stores always go last in mo too.
//
// Limits: loads never read from the future, so load buffering (LB's r1=r2=1)
// is not produced; a CAS, failed or not, reads the mo-latest store (C++ lets
// a failed one read an older one: hardware does not); consume is acquire;
// rt::kMaxStoreHistory stores are kept per location, older ones are evicted,
// which only removes behaviours. With weak memory off (Config::weak_memory)
// every load reads the mo-latest store: sequential consistency. The value
// choices (which store a load reads, where a store goes in mo) go through
// PickValue and are recorded; choice 0 is always the SC behaviour.
#include "harness/sim/rt/execution.h"

#include <algorithm>

namespace pollstorm::sim::rt {

namespace {

bool IsAcquire(std::memory_order o) {
  return o == std::memory_order_acquire || o == std::memory_order_acq_rel ||
         o == std::memory_order_seq_cst || o == std::memory_order_consume;
}
bool IsRelease(std::memory_order o) {
  return o == std::memory_order_release || o == std::memory_order_acq_rel ||
         o == std::memory_order_seq_cst;
}

const char* OrderName(std::memory_order o) {
  switch (o) {
    case std::memory_order_relaxed:
      return "relaxed";
    case std::memory_order_consume:
      return "consume";
    case std::memory_order_acquire:
      return "acquire";
    case std::memory_order_release:
      return "release";
    case std::memory_order_acq_rel:
      return "acq_rel";
    case std::memory_order_seq_cst:
      return "seq_cst";
  }
  return "?";
}

const char* AccessName(Access a) {
  switch (a) {
    case Access::kAtomic:
      return "atomic";
    case Access::kPlain:
      return "plain";
    case Access::kSharedAtomic:
      return "Go-atomic";
  }
  return "?";
}

using ull = unsigned long long;

}  // namespace

void Execution::OnConstruct(CellHeader& h) {
  if (values_only_) return;  // no Location is ever made (execution.h: values_only_)
  Thread& t = Cur();
  Tick(t);  // the initialising write is an event of its own
  h.exec = 0;
  h.ctor_exec = epoch_;
  h.ctor_tid = t.id;
  h.ctor_time = t.view.hb[t.id];
}

Location& Execution::Loc(CellHeader& h, uint64_t& mirror, bool shared) {
  if (h.exec == epoch_) return *locs_[h.index];
  if (nlocs_ == locs_.size()) locs_.push_back(std::make_unique<Location>());
  const uint32_t idx = nlocs_++;
  Location& l = *locs_[idx];
  l.n = 1;
  l.next_serial = 1;
  l.shared = shared;
  l.mirror = &mirror;
  StoreRecord& s = l.hist[0];
  s.value = mirror;
  s.serial = 0;
  s.rmw = false;
  s.has_release = false;
  s.sc_seen = kNeverSc;
  if (h.ctor_exec == epoch_) {
    s.tid = h.ctor_tid;
    s.time = h.ctor_time;
    s.first_seen.Fill(VectorClock::kNever);
    s.first_seen[s.tid] = s.time;
  } else {
    // Built before this execution: every thread has seen it.
    s.tid = kNoThread;
    s.time = 0;
    s.first_seen.Clear();
  }
  // The detector's state only where it runs: clearing it per location per
  // execution cost 5% of fuzz_ops, which runs without it.
  if (shared && cfg_.detect_races) {
    l.race.Clear();
    if (s.tid != kNoThread) l.race.plain_write[s.tid] = {s.time, Site{"?", "constructor", 0}};
  }
  h.exec = epoch_;
  h.index = idx;
  return l;
}

uint32_t Execution::Floor(const Location& l, const Thread& t, bool sc) const {
  for (uint32_t p = l.n - 1; p > 0; p--) {
    const StoreRecord& s = l.hist[p];
    if (s.sc_seen <= t.view.fence_sc) return p;
    if (sc && s.sc_seen != kNeverSc) return p;
    for (ThreadId u = 0; u < nthreads_; u++) {
      const uint32_t fs = s.first_seen[u];
      if (fs == VectorClock::kNever) continue;
      if (fs <= t.view.hb[u] || fs <= t.view.fence[u] || (sc && fs <= sc_fences_[u])) return p;
    }
  }
  return 0;
}

void Execution::Observe(StoreRecord& s, Thread& t, bool sc) {
  if (s.first_seen[t.id] == VectorClock::kNever) s.first_seen[t.id] = t.view.hb[t.id];
  if (sc && s.sc_seen == kNeverSc) s.sc_seen = sc_counter_;
}

void Execution::Acquire(Thread& t, const StoreRecord& s, bool acquire) {
  if (!s.has_release) return;
  if (acquire) {
    t.view.Join(s.release);
  } else {
    t.pending_acquire.Join(s.release);  // for a later acquire fence
  }
}

void Execution::ReleaseInto(const Thread& t, bool release, StoreRecord& s) {
  if (release) {
    s.release = t.view;
    s.has_release = true;
  } else if (t.has_fence_release) {
    s.release = t.fence_release;  // a release fence earlier in this thread
    s.has_release = true;
  } else {
    s.has_release = false;
  }
}

void Execution::Append(Location& l, const StoreRecord& s) {
  if (!cfg_.weak_memory) {
    // Sequential consistency reads only the mo-latest store (Load, Floor and
    // the store placement look further back only with weak memory on), so
    // the history is that one store: no eviction shifts (fuzz_ops: 4%).
    l.hist[0] = s;
    l.n = 1;
    *l.mirror = s.value;
    return;
  }
  if (l.n == kMaxStoreHistory) {
    std::move(l.hist.begin() + 1, l.hist.begin() + l.n, l.hist.begin());
    l.n--;
  }
  l.hist[l.n++] = s;
  *l.mirror = s.value;
}

void Execution::InsertAt(Location& l, uint32_t pos, const StoreRecord& s) {
  if (l.n == kMaxStoreHistory) {
    std::move(l.hist.begin() + 1, l.hist.begin() + l.n, l.hist.begin());
    l.n--;
    pos--;
  }
  std::move_backward(l.hist.begin() + pos, l.hist.begin() + l.n, l.hist.begin() + l.n + 1);
  l.hist[pos] = s;
  l.n++;
  *l.mirror = l.hist[l.n - 1].value;
}

StoreRecord Execution::RmwStore(Location& l, const Thread& t, const StoreRecord& prev,
                                uint64_t value, bool sc, std::memory_order o) {
  StoreRecord s;
  s.value = value;
  s.serial = l.next_serial++;
  s.tid = t.id;
  s.time = t.view.hb[t.id];
  s.rmw = true;
  s.sc_seen = sc ? sc_counter_ : kNeverSc;
  s.first_seen.Fill(VectorClock::kNever);
  s.first_seen[t.id] = s.time;
  // Release sequence: an RMW carries on the release of the store it read.
  s.has_release = prev.has_release;
  if (prev.has_release) s.release = prev.release;
  if (IsRelease(o) || t.has_fence_release) {
    const View& mine = IsRelease(o) ? t.view : t.fence_release;
    if (s.has_release) {
      s.release.Join(mine);
    } else {
      s.release = mine;
      s.has_release = true;
    }
  }
  return s;
}

uint64_t Execution::Load(CellHeader& h, uint64_t& mirror, Access a, std::memory_order o,
                         Site site) {
  SchedulePoint();
  if (values_only_) {
    if (cfg_.trace) TraceLoad(a, o, mirror, false, site);
    return mirror;
  }
  Thread& t = Cur();
  Tick(t);
  Location& l = Loc(h, mirror, a != Access::kAtomic);
  if (l.shared) RaceCheck(l, t, /*write=*/false, a == Access::kSharedAtomic, site);
  const bool atomic = a != Access::kPlain;
  const bool sc = atomic && o == std::memory_order_seq_cst;
  if (sc) ++sc_counter_;
  uint32_t pos = l.n - 1;
  if (cfg_.weak_memory && pos > 0) {
    // Choice 0 is the mo-latest store; choice i the i-th older one.
    const uint32_t floor = Floor(l, t, sc);
    if (floor < pos) pos -= static_cast<uint32_t>(PickValue(pos - floor + 1));
  }
  StoreRecord& s = l.hist[pos];
  Observe(s, t, sc);
  if (atomic) Acquire(t, s, IsAcquire(o));
  if (cfg_.trace) TraceLoad(a, o, s.value, pos + 1 != l.n, site);
  return s.value;
}

void Execution::TraceLoad(Access a, std::memory_order o, uint64_t v, bool stale, Site site) {
  const char* note = stale ? " (STALE: an older store)" : "";
  if (a == Access::kPlain) {
    Trace(site, "plain read -> %#llx%s", static_cast<ull>(v), note);
  } else {
    Trace(site, "%s load(%s) -> %#llx%s", AccessName(a), OrderName(o), static_cast<ull>(v), note);
  }
}

void Execution::TraceRmw(Access a, RmwOp op, std::memory_order o, uint64_t arg, uint64_t old,
                         Site site) {
  Trace(site, "%s %s(%s) %#llx, read %#llx", AccessName(a),
        op == RmwOp::kExchange ? "exchange" : "fetch_add", OrderName(o), static_cast<ull>(arg),
        static_cast<ull>(old));
}

// The failed form prints what it read (it is the new `expected`, as before).
void Execution::TraceCas(Access a, std::memory_order o, uint64_t expected, uint64_t desired,
                         bool ok, uint64_t read, Site site) {
  if (ok) {
    Trace(site, "%s CAS(%s) %#llx -> %#llx ok", AccessName(a), OrderName(o),
          static_cast<ull>(expected), static_cast<ull>(desired));
  } else {
    Trace(site, "%s CAS(%s) %#llx -> %#llx failed, read %#llx", AccessName(a), OrderName(o),
          static_cast<ull>(read), static_cast<ull>(desired), static_cast<ull>(read));
  }
}

void Execution::TracePlainOrAtomicStore(Access a, std::memory_order o, uint64_t v, Site site) {
  if (a == Access::kPlain) {
    Trace(site, "plain write %#llx", static_cast<ull>(v));
  } else {
    Trace(site, "%s store(%s) %#llx", AccessName(a), OrderName(o), static_cast<ull>(v));
  }
}

void Execution::Store(CellHeader& h, uint64_t& mirror, Access a, uint64_t v, std::memory_order o,
                      Site site) {
  SchedulePoint();
  if (values_only_) {
    mirror = v;
    if (cfg_.trace) TracePlainOrAtomicStore(a, o, v, site);
    return;
  }
  Thread& t = Cur();
  Tick(t);
  Location& l = Loc(h, mirror, a != Access::kAtomic);
  if (l.shared) RaceCheck(l, t, /*write=*/true, a == Access::kSharedAtomic, site);
  const bool atomic = a != Access::kPlain;
  const bool sc = atomic && o == std::memory_order_seq_cst;
  StoreRecord s;
  s.value = v;
  s.serial = l.next_serial++;
  s.tid = t.id;
  s.time = t.view.hb[t.id];
  s.rmw = false;
  s.sc_seen = sc ? ++sc_counter_ : kNeverSc;
  s.first_seen.Fill(VectorClock::kNever);
  s.first_seen[t.id] = s.time;
  // A release fence does not make a later non-atomic store a release.
  if (atomic) {
    ReleaseInto(t, IsRelease(o), s);
  } else {
    s.has_release = false;
  }
  if (cfg_.weak_memory && a == Access::kAtomic && !sc) {
    // A relaxed/release store may go before later stores this thread is not
    // obliged to see, but never between an RMW and the store it read.
    // Choice 0 appends; choice i is the i-th legal slot counting back.
    const uint32_t floor = Floor(l, t, false);
    uint32_t legal = 0;
    for (uint32_t p = l.n; p > floor; p--) legal += (p == l.n || !l.hist[p].rmw) ? 1 : 0;
    uint64_t c = PickValue(legal);
    uint32_t pos = l.n;
    for (uint32_t p = l.n; p > floor; p--) {
      if (p != l.n && l.hist[p].rmw) continue;
      if (c == 0) {
        pos = p;
        break;
      }
      c--;
    }
    InsertAt(l, pos, s);
    if (cfg_.trace) {
      Trace(site, "atomic store(%s) %#llx%s", OrderName(o), static_cast<ull>(v),
            pos + 1 == l.n ? "" : " (placed before later stores in mo)");
    }
  } else {
    Append(l, s);
    if (cfg_.trace) TracePlainOrAtomicStore(a, o, v, site);
  }
}

uint64_t Execution::Rmw(CellHeader& h, uint64_t& mirror, Access a, RmwOp op, uint64_t arg,
                        uint64_t mask, std::memory_order o, Site site) {
  SchedulePoint();
  if (values_only_) {
    const uint64_t old = mirror;
    mirror = op == RmwOp::kExchange ? (arg & mask) : ((old + arg) & mask);
    if (cfg_.trace) TraceRmw(a, op, o, arg & mask, old, site);
    return old;
  }
  Thread& t = Cur();
  Tick(t);
  Location& l = Loc(h, mirror, a != Access::kAtomic);
  if (l.shared) RaceCheck(l, t, /*write=*/true, /*atomic=*/true, site);
  const bool sc = o == std::memory_order_seq_cst;
  if (sc) ++sc_counter_;
  // An RMW reads the mo-latest store (it must read its immediate mo
  // predecessor, and RMW stores always go last).
  StoreRecord& prev = l.hist[l.n - 1];
  Observe(prev, t, sc);
  Acquire(t, prev, IsAcquire(o));
  const uint64_t old = prev.value;
  const uint64_t value = op == RmwOp::kExchange ? (arg & mask) : ((old + arg) & mask);
  Append(l, RmwStore(l, t, prev, value, sc, o));
  if (cfg_.trace) TraceRmw(a, op, o, arg & mask, old, site);
  return old;
}

bool Execution::CompareExchange(CellHeader& h, uint64_t& mirror, Access a, uint64_t& expected,
                                uint64_t desired, std::memory_order success,
                                std::memory_order failure, Site site) {
  SchedulePoint();
  if (values_only_) {
    const uint64_t cur = mirror;
    const bool ok = cur == expected;
    if (ok) mirror = desired;
    if (cfg_.trace) TraceCas(a, ok ? success : failure, expected, desired, ok, cur, site);
    if (!ok) expected = cur;
    return ok;
  }
  Thread& t = Cur();
  Tick(t);
  Location& l = Loc(h, mirror, a != Access::kAtomic);
  // A CAS reads the mo-latest store (a failed one too, as hardware does; C++
  // would let it read an older one, so this only removes behaviours).
  const bool ok = l.Latest().value == expected;
  if (l.shared) RaceCheck(l, t, /*write=*/ok, /*atomic=*/true, site);
  if (!ok) {
    const bool sc = failure == std::memory_order_seq_cst;
    if (sc) ++sc_counter_;
    StoreRecord& prev = l.hist[l.n - 1];
    Observe(prev, t, sc);
    Acquire(t, prev, IsAcquire(failure));
    expected = prev.value;
    if (cfg_.trace) TraceCas(a, failure, expected, desired, false, prev.value, site);
    return false;
  }
  // Success: exactly an exchange (the facade passes the value's width mask
  // implicitly: desired already has it).
  const bool sc = success == std::memory_order_seq_cst;
  if (sc) ++sc_counter_;
  StoreRecord& prev = l.hist[l.n - 1];
  Observe(prev, t, sc);
  Acquire(t, prev, IsAcquire(success));
  Append(l, RmwStore(l, t, prev, desired, sc, success));
  if (cfg_.trace) TraceCas(a, success, expected, desired, true, prev.value, site);
  return true;
}

void Execution::Fence(std::memory_order o, Site site) {
  SchedulePoint();
  if (values_only_) {
    if (cfg_.trace) Trace(site, "fence(%s)", OrderName(o));
    return;
  }
  Thread& t = Cur();
  Tick(t);
  if (IsAcquire(o)) t.view.Join(t.pending_acquire);
  if (o == std::memory_order_seq_cst) {
    // The fences' total order is the order they execute in. Everything seen
    // before an earlier fence must be seen after this one (C++20
    // [atomics.order] p4.4), and every seq_cst op before it (p4.3).
    ++sc_counter_;
    sc_fences_.Join(t.view.hb);
    t.view.fence.Join(sc_fences_);
    t.view.fence_sc = sc_counter_;
  }
  if (IsRelease(o)) {
    t.fence_release = t.view;
    t.has_fence_release = true;
  }
  if (cfg_.trace) Trace(site, "fence(%s)", OrderName(o));
}

}  // namespace pollstorm::sim::rt
