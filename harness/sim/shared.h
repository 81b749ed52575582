// harness/sim/shared.h: sim::Shared<T>, SimEnv's plain (non-atomic) shared
// field.
//
//   Read(), Write(v)         plain accesses: race-checked, and a Read may
//                            return an older store when the race lets it
//   load/store/exchange/     Go's atomic.* on a plain word: seq_cst atomic
//   compare_exchange_strong  operations, race-checked against the plain ones
//   Raw()                    the mo-latest value; no scheduling point, no race
//                            check (failure dumps only)
//
// Conflicting accesses (at least one a write, at least one plain) that are
// not ordered by happens-before are a `data-race` finding naming both sites.
#pragma once

#include "harness/sim/atomic.h"

namespace pollstorm::sim {

template <class T>
class Shared {
 public:
  Shared() noexcept : Shared(T{}) {}
  explicit Shared(T v) noexcept : bits_(detail::ToBits(v)) {
    if (rt::Execution* ex = rt::Current()) ex->OnConstruct(hdr_);
  }
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;

  T Read(Site site = Site::Here()) const {
    return Get(rt::Access::kPlain, std::memory_order_relaxed, site);
  }
  void Write(T v, Site site = Site::Here()) {
    Put(rt::Access::kPlain, v, std::memory_order_relaxed, site);
  }
  T Raw() const { return detail::FromBits<T>(bits_); }

  // Go's atomics are seq_cst whatever order the caller names; the order is
  // still honoured as given, so the port's choice is what is simulated.
  T load(std::memory_order o = std::memory_order_seq_cst, Site site = Site::Here()) const {
    return Get(rt::Access::kSharedAtomic, o, site);
  }
  void store(T v, std::memory_order o = std::memory_order_seq_cst, Site site = Site::Here()) {
    Put(rt::Access::kSharedAtomic, v, o, site);
  }
  T exchange(T v, std::memory_order o = std::memory_order_seq_cst, Site site = Site::Here()) {
    if (rt::Execution* ex = rt::Current()) {
      return detail::FromBits<T>(ex->Rmw(hdr_, bits_, rt::Access::kSharedAtomic,
                                         rt::RmwOp::kExchange, detail::ToBits(v), detail::kMask<T>,
                                         o, site));
    }
    const T old = detail::FromBits<T>(bits_);
    bits_ = detail::ToBits(v);
    return old;
  }
  bool compare_exchange_strong(T& expected, T desired,
                               std::memory_order o = std::memory_order_seq_cst,
                               Site site = Site::Here()) {
    uint64_t e = detail::ToBits(expected);
    bool ok;
    if (rt::Execution* ex = rt::Current()) {
      ok = ex->CompareExchange(hdr_, bits_, rt::Access::kSharedAtomic, e, detail::ToBits(desired),
                               o, detail::FailureOrder(o), site);
    } else {
      ok = bits_ == e;
      if (ok) {
        bits_ = detail::ToBits(desired);
      } else {
        e = bits_;
      }
    }
    if (!ok) expected = detail::FromBits<T>(e);
    return ok;
  }

 private:
  T Get(rt::Access a, std::memory_order o, Site site) const {
    if (rt::Execution* ex = rt::Current()) {
      return detail::FromBits<T>(ex->Load(hdr_, bits_, a, o, site));
    }
    return detail::FromBits<T>(bits_);
  }
  void Put(rt::Access a, T v, std::memory_order o, Site site) {
    if (rt::Execution* ex = rt::Current()) {
      ex->Store(hdr_, bits_, a, detail::ToBits(v), o, site);
    } else {
      bits_ = detail::ToBits(v);
    }
  }

  mutable uint64_t bits_;
  mutable rt::CellHeader hdr_;
};

}  // namespace pollstorm::sim
