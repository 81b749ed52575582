// harness/sim/timer.h: sim::Timer, SimEnv's deadline timer (Go's timer as
// pollDesc uses it: resettimer/modtimer/deltimer).
//
// Timer::Modify(when, f, arg, seq) arms or re-arms; Timer::Delete() disarms
// and returns whether it was pending; neither waits for a callback that is
// already running (Go's deltimer), so stale firings happen and the caller's
// seq check must reject them. A firing is a schedulable event: the timer
// fiber becomes runnable when the timer is due or is the earliest future time
// event, and the scheduler decides when it runs; firing moves the virtual
// clock to `when` (if later) and runs f(arg, seq) on the timer fiber without
// any timer lock. Timer::WaitIdle() blocks until no callback of this timer
// runs. Modify/Delete/firing synchronise on the timer itself (Go's status
// word), not on a global lock. Outside an execution all three are no-ops.
#pragma once

#include "harness/sim/rt/execution.h"
#include "harness/sim/site.h"
#include "polldesc/env.h"

namespace pollstorm::sim {

class Timer {
 public:
  Timer() = default;
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void Modify(int64_t when, TimerFunc f, void* arg, uintptr_t seq, Site site = Site::Here()) {
    if (rt::Execution* ex = rt::Current()) ex->TimerModify(hdr_, when, f, arg, seq, site);
  }
  bool Delete(Site site = Site::Here()) {
    if (rt::Execution* ex = rt::Current()) return ex->TimerDelete(hdr_, site);
    return false;
  }
  void WaitIdle(Site site = Site::Here()) {
    if (rt::Execution* ex = rt::Current()) ex->TimerWaitIdle(hdr_, site);
  }

 private:
  rt::ObjHeader hdr_;
};

}  // namespace pollstorm::sim
