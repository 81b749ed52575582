// stress/storm_oracle.h: the online oracle. Every result a waiter gets is
// judged as it returns, against the bookkeeping the generator keeps:
//
//   ok          needs a ready that had not finished before the waiter's reset
//               began, on this descriptor object (any incarnation: Go's
//               stale-event case is legal spurious readiness);
//   closing     needs unblock to have begun on this incarnation;
//   timeout     must not come before the deadline in force (judged against
//               the time just before the set, a lower bound on the port's own
//               clock read, so "early" is never a rounding artefact);
//   notpollable needs an `everr on` to have reached this descriptor object.
//
// Limits: a timeout whose wait raced with a deadline set is not judged (the
// summary's timeouts.judged counts the others); lateness is measured, never a
// finding; a ready that has only begun already explains an ok, so a spurious
// ok while a ready is in flight is not seen.
#pragma once

#include "stress/storm_state.h"

namespace pollstorm::storm {
// Unnamed: these headers are parts of storm_worker.cc, its one translation
// unit; nothing here has external linkage.
namespace {

// The online oracle: every result must be explained.
template <class V>
void Storm<V>::CheckResult(int self, int si, int mode, int err, uint64_t inc, PD* pd, uint64_t r_base,
                           uint64_t dl_s0, int64_t t_start, int64_t t_ret) {
  Slot<V>& s = slots_[si];
  ModeState& m = s.mode[ModeIndex(mode)];
  PdState& ps = StateOf(pd);
  ReadyCount& rc = ps.ready[ModeIndex(mode)];
  stats_.results[err & 3].fetch_add(1, kRelaxed);
  const std::string where = "d" + std::to_string(si) + " " + ops::ModeName(mode) +
                            " (incarnation " + std::to_string(inc) + ", thread " +
                            std::to_string(self) + ")";
  switch (err) {
    case kPollNoError: {
      // ok needs a ready that had not finished before our Reset began (any
      // incarnation: a stale notification is legal spurious readiness).
      if (rc.started.load(kRelaxed) <= r_base) {
        Report(MakeFinding("unexplained-ready", "wait returned ready with no notification since its reset " +
                                         where,
                "unexplained-ready:" + std::string(V::kName)),
               si, mode);
      }
      const int64_t rt = rc.finished_t.load(kRelaxed);
      if (rt > t_start && t_ret >= rt) stats_.wake_latency[Bucket(t_ret - rt)].fetch_add(1, kRelaxed);
      break;
    }
    case kPollErrClosing:
      if (s.unblock_started_inc.load(kRelaxed) != inc) {
        Report(MakeFinding("unexplained-closing", "closing returned before unblock began on " + where,
                "unexplained-closing:" + std::string(V::kName)),
               si, mode);
      } else {
        const int64_t ut = s.unblock_done_t.load(kRelaxed);
        if (ut > t_start && t_ret >= ut) stats_.wake_latency[Bucket(t_ret - ut)].fetch_add(1, kRelaxed);
      }
      break;
    case kPollErrTimeout: {
      // Judge only if no deadline set ran during the wait.
      // Seqlock-style: the expiry is the one in force during the wait only if
      // no set took a ticket from before the wait until after we read it.
      const uint64_t st = m.dl_started.load(kRelaxed);
      const uint64_t fin = m.dl_finished.load(kRelaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      const int64_t expiry = m.dl_expiry.load(kRelaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      if (dl_s0 == kNotJudged || st != dl_s0 || fin != st ||
          m.dl_started.load(kRelaxed) != st || expiry == kAmbiguous) {
        break;
      }
      stats_.timeouts_judged.fetch_add(1, kRelaxed);
      if (expiry == kNone) {
        stats_.timeouts_early.fetch_add(1, kRelaxed);
        Report(MakeFinding("early-timeout", "timeout with no deadline in force on " + where +
                                     " (a previous incarnation's or a stale timer?)",
                "early-timeout:no-deadline:" + std::string(V::kName)),
               si, mode);
      } else if (expiry != kExpiredPast && expiry > t_ret) {
        stats_.timeouts_early.fetch_add(1, kRelaxed);
        Report(MakeFinding("early-timeout", "timeout " + std::to_string((expiry - t_ret) / 1000) +
                                     " us before the deadline in force on " + where,
                "early-timeout:early:" + std::string(V::kName)),
               si, mode);
      } else if (expiry != kExpiredPast) {
        const int64_t late = t_ret - expiry;
        stats_.timeout_late_sum_us.fetch_add(static_cast<uint64_t>(late / 1000), kRelaxed);
        int64_t mx = stats_.timeout_late_max_ns.load(kRelaxed);
        while (late > mx && !stats_.timeout_late_max_ns.compare_exchange_weak(mx, late, kRelaxed)) {
        }
      }
      break;
    }
    case kPollErrNotPollable:
      if (mode != kModeRead || ps.everr_on.load(kRelaxed) == 0) {
        Report(MakeFinding("unexplained-notpollable", "event error reported without EPOLLERR on " + where,
                "unexplained-notpollable:" + std::string(V::kName)),
               si, mode);
      } else if (s.everr_inc.load(kRelaxed) != inc && oracle::StaleEventsChecked(V::kName)) {
        // An everr(on) reached this descriptor object, but none was sent for
        // this incarnation: an earlier incarnation's event error (Go #59545).
        Report(MakeFinding("stale-event-error",
                           "event error observed on " + where +
                               ", but every EPOLLERR event for this descriptor object was sent "
                               "for an earlier incarnation (Go #59545)",
                           "stale-event-error:" + std::string(V::kName)),
               si, mode);
      }
      break;
    default:
      Report(MakeFinding("bad-result", "unknown result " + std::to_string(err) + " on " + where,
              "bad-result:" + std::string(V::kName)),
             si, mode);
  }
}

}  // namespace
}  // namespace pollstorm::storm
