// harness/oracle/accounting.h: when the oracles judge netpollWaiters
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

inline bool AccountingChecked(std::string_view variant) {
  if (variant == Tip::kName) return true;
  const char* e = std::getenv("POLLSTORM_CHECK_ACCOUNTING");
  return e != nullptr && std::string_view(e) == "1";
}

}  // namespace pollstorm::oracle
