// stress/storm_watchdog.h: the lost-wakeup watchdog, one thread. Some events
// oblige a waiter to wake: a ready that finished after its reset, an unblock
// of its incarnation, an expired deadline with no set in flight, or (io
// profile) unread bytes in its pipe, its pipe's write end closed after it
// parked (a reader: its read returns 0), or its full pipe drained after it
// parked (a writer). A waiter still inside the same Wait one
// bound (--watchdog-ms) after the watchdog first saw such an event is
// reported as a lost wakeup, once per wait.
//
// Limits: it polls every 20 ms, so a report comes between the bound and the
// bound plus a poll; a waiter the OS does not schedule for a whole bound
// would be reported too (the default bound is 3 s); the end-of-storm drain
// (storm_worker.cc) catches a waiter that never leaves.
#pragma once

#include "stress/storm_state.h"

namespace pollstorm::storm {
// Unnamed: these headers are parts of storm_worker.cc, its one translation
// unit; nothing here has external linkage.
namespace {

// Wake obligations: once a ready finished after the waiter's reset, its
// incarnation was unblocked, or its deadline expired, a waiter still in the
// same Wait one bound later is a lost wakeup.
template <class V>
void Storm<V>::WatchdogLoop() {
  const int64_t bound = int64_t{cfg_.watchdog_ms} * 1000000;
  while (!watchdog_stop_.load(kRelaxed)) {
    const int64_t now = Now();
    for (int si = 0; si < static_cast<int>(slots_.size()); si++) {
      Slot<V>& s = slots_[si];
      for (int mi = 0; mi < 2; mi++) {
        ModeState& m = s.mode[mi];
        if (!m.active.load(kRelaxed)) continue;
        const uint64_t id = m.wait_id.load(kRelaxed);
        const uint64_t inc = s.inc.load(kRelaxed);
        std::string why;
        const bool io = cfg_.profile->io && mi == 0;
        PdState* wps = m.waiter_pd.load(kRelaxed);
        if (!io && wps && wps->ready[mi].finished.load(kRelaxed) > m.obl_base.load(kRelaxed)) {
          why = "a ready finished after its reset";
        } else if (s.unblock_done_inc.load(kRelaxed) == inc) {
          why = "its incarnation was unblocked";
        } else if (m.dl_started.load(kRelaxed) == m.dl_finished.load(kRelaxed) &&
                   m.dl_expiry.load(kRelaxed) != kNone &&
                   m.dl_expiry.load(kRelaxed) != kAmbiguous && m.dl_expiry.load(kRelaxed) < now) {
          why = "its deadline expired";
        } else if (io) {
          int avail = 0;
          const int64_t hup = s.hup_t.load(kRelaxed);
          if (ioctl(s.rfd.load(kRelaxed), FIONREAD, &avail) == 0 && avail > 0) {
            why = "its pipe holds " + std::to_string(avail) + " unread bytes";
          } else if (hup > m.wait_since.load(kRelaxed)) {
            why = "its pipe's write end was closed (hang-up: its read returns 0)";
          }
        } else if (cfg_.profile->io && mi == 1 &&
                   s.drained_t.load(kRelaxed) > m.wait_since.load(kRelaxed)) {
          why = "its full pipe was drained after it parked";
        }
        if (why.empty()) {
          m.wd_id = 0;
          continue;
        }
        if (m.wd_id != id) {
          m.wd_id = id;
          m.wd_first_seen = now;
          m.wd_reported = false;
          continue;
        }
        if (m.wd_reported || now - m.wd_first_seen < bound) continue;
        if (!m.active.load(kRelaxed) || m.wait_id.load(kRelaxed) != id) continue;
        m.wd_reported = true;
        const int t = m.waiter_thread.load(kRelaxed);
        if (t >= 0) logs_[t].reported_stuck.store(true, kRelaxed);
        const int mode = mi == 0 ? kModeRead : kModeWrite;
        Report(MakeFinding("lost-wakeup",
                "waiter (thread " + std::to_string(t) + ") still parked on d" +
                    std::to_string(si) + " " + ops::ModeName(mode) + " " +
                    std::to_string((now - m.wait_since.load(kRelaxed)) / 1000000) +
                    " ms into its wait, although " + why + " " +
                    std::to_string((now - m.wd_first_seen) / 1000000) + "+ ms ago",
                "lost-wakeup:" + std::string(V::kName) + ":" + (io ? "io" : "mem")),
               si, mode);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace
}  // namespace pollstorm::storm
