// harness/oracle/known_bugs.h: when the oracles judge netpollWaiters
// (DESIGN.md §4, accounting; Go #33624, #61454).
//
// Tip's delta accounting must be exact: at every quiescent point the count is
// the number of parked waiters, and never negative. The historical variants
// keep the seed's drift on the poller path (injectglist never decrements:
// #33624, fixed in Go by #60782), a known finding: there the check runs only
// when POLLSTORM_CHECK_ACCOUNTING=1 asks for it, so `fixed` stays the clean
// baseline of every other oracle.
#pragma once

#include <cstdlib>
#include <string_view>

#include "polldesc/variants.h"

namespace pollstorm::oracle {

// The oracles read netpollWaiters only at true quiescence: every thread done
// AND every deadline callback returned (PollServer::WaitCallbacksIdle). A
// check that skipped the callbacks reported tip's by-design transient (a
// callback between goready and netpollAdjustWaiters) as drift: a harness bug
// found by `pollstorm-sim explore` on tip (corpus/regressions/
// harness-explore-accounting-before-callbacks.txt). The guard
// POLLSTORM_ACCOUNTING_NO_QUIESCE=1 switches that fix off, so the regression
// can prove it still has its power.
// The environment is read once per process (these guards are asked once per
// op: a getenv each cost 1% of fuzz_ops); nothing sets them at run time.
inline bool AccountingWaitsForCallbacks() {
  static const bool r = [] {
    const char* e = std::getenv("POLLSTORM_ACCOUNTING_NO_QUIESCE");
    return e == nullptr || std::string_view(e) != "1";
  }();
  return r;
}

// Go #59545: an event error sent for one incarnation and seen by a later one.
inline bool StaleEventsChecked(std::string_view variant) {
  if (variant == Tip::kName) return true;
  static const bool r = [] {
    const char* e = std::getenv("POLLSTORM_CHECK_STALE_EVENTS");
    return e != nullptr && std::string_view(e) == "1";
  }();
  return r;
}

inline bool AccountingChecked(std::string_view variant) {
  if (variant == Tip::kName) return true;
  static const bool r = [] {
    const char* e = std::getenv("POLLSTORM_CHECK_ACCOUNTING");
    return e != nullptr && std::string_view(e) == "1";
  }();
  return r;
}

}  // namespace pollstorm::oracle
