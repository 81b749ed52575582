// harness/sim/atomic.h: sim::Atomic<T>, SimEnv's std::atomic<T>.
//
// Same method names and memory orders as std::atomic (load, store, exchange,
// compare_exchange_strong/weak, fetch_add, fetch_sub); each call is a
// scheduling point and goes through the engine's weak-memory model (see
// rt/location.h), so a relaxed or acquire load may return an older store that
// C++ allows. compare_exchange_weak never fails spuriously. Each method takes
// a trailing Site (defaulted to the caller) for findings.
//
// Outside an execution (objects built or destroyed on the host) the
// operations act directly on the cell's own copy of its value.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "harness/sim/rt/execution.h"
#include "harness/sim/site.h"

namespace pollstorm::sim {
namespace detail {

template <class T>
inline constexpr bool kCellType = std::is_trivially_copyable_v<T> && sizeof(T) <= 8;

template <class T>
uint64_t ToBits(T v) {
  static_assert(kCellType<T>, "a simulated cell holds a trivially copyable value of <= 8 bytes");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <class T>
T FromBits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}
// The value's width, so an RMW on the bits wraps exactly as T does.
template <class T>
inline constexpr uint64_t kMask = sizeof(T) == 8 ? ~uint64_t{0}
                                                 : (uint64_t{1} << (8 * sizeof(T))) - 1;

// CAS failure order derived from a single order, as std::atomic does.
inline std::memory_order FailureOrder(std::memory_order o) {
  if (o == std::memory_order_acq_rel) return std::memory_order_acquire;
  if (o == std::memory_order_release) return std::memory_order_relaxed;
  return o;
}

}  // namespace detail

template <class T>
class Atomic {
 public:
  Atomic() noexcept : Atomic(T{}) {}
  Atomic(T v) noexcept : bits_(detail::ToBits(v)) {  // NOLINT: mirrors std::atomic
    if (rt::Execution* ex = rt::Current()) ex->OnConstruct(hdr_);
  }
  Atomic(const Atomic&) = delete;
  Atomic& operator=(const Atomic&) = delete;

  T load(std::memory_order o = std::memory_order_seq_cst, Site site = Site::Here()) const {
    if (rt::Execution* ex = rt::Current()) {
      return detail::FromBits<T>(ex->Load(hdr_, bits_, rt::Access::kAtomic, o, site));
    }
    return detail::FromBits<T>(bits_);
  }
  void store(T v, std::memory_order o = std::memory_order_seq_cst, Site site = Site::Here()) {
    if (rt::Execution* ex = rt::Current()) {
      ex->Store(hdr_, bits_, rt::Access::kAtomic, detail::ToBits(v), o, site);
    } else {
      bits_ = detail::ToBits(v);
    }
  }
  T exchange(T v, std::memory_order o = std::memory_order_seq_cst, Site site = Site::Here()) {
    if (rt::Execution* ex = rt::Current()) {
      return detail::FromBits<T>(ex->Rmw(hdr_, bits_, rt::Access::kAtomic, rt::RmwOp::kExchange,
                                         detail::ToBits(v), detail::kMask<T>, o, site));
    }
    const T old = detail::FromBits<T>(bits_);
    bits_ = detail::ToBits(v);
    return old;
  }
  bool compare_exchange_strong(T& expected, T desired,
                               std::memory_order o = std::memory_order_seq_cst,
                               Site site = Site::Here()) {
    return compare_exchange_strong(expected, desired, o, detail::FailureOrder(o), site);
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                               std::memory_order failure, Site site = Site::Here()) {
    uint64_t e = detail::ToBits(expected);
    bool ok;
    if (rt::Execution* ex = rt::Current()) {
      ok = ex->CompareExchange(hdr_, bits_, rt::Access::kAtomic, e, detail::ToBits(desired),
                               success, failure, site);
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
  // No spurious failures in the simulator.
  bool compare_exchange_weak(T& expected, T desired,
                             std::memory_order o = std::memory_order_seq_cst,
                             Site site = Site::Here()) {
    return compare_exchange_strong(expected, desired, o, site);
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order success,
                             std::memory_order failure, Site site = Site::Here()) {
    return compare_exchange_strong(expected, desired, success, failure, site);
  }
  T fetch_add(T d, std::memory_order o = std::memory_order_seq_cst,
              Site site = Site::Here()) requires std::is_integral_v<T> {
    return Add(detail::ToBits(d), o, site);
  }
  T fetch_sub(T d, std::memory_order o = std::memory_order_seq_cst,
              Site site = Site::Here()) requires std::is_integral_v<T> {
    using U = std::make_unsigned_t<T>;
    return Add(detail::ToBits(static_cast<T>(static_cast<U>(0) - static_cast<U>(d))), o, site);
  }

  // Atomic::Raw(): the mo-latest value, with no scheduling point and no
  // memory-model effect. For failure dumps only.
  T Raw() const { return detail::FromBits<T>(bits_); }

 private:
  T Add(uint64_t d, std::memory_order o, Site site) {
    if (rt::Execution* ex = rt::Current()) {
      return detail::FromBits<T>(
          ex->Rmw(hdr_, bits_, rt::Access::kAtomic, rt::RmwOp::kAdd, d, detail::kMask<T>, o, site));
    }
    const T old = detail::FromBits<T>(bits_);
    bits_ = (bits_ + d) & detail::kMask<T>;
    return old;
  }

  mutable uint64_t bits_;       // the mo-latest value (kept by the engine)
  mutable rt::CellHeader hdr_;  // this cell's Location in the running execution
};

}  // namespace pollstorm::sim
