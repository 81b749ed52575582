// harness/sim/rt/parker.cc: the Parker facade's object (harness/sim/parker.h),
// what gopark/goready become in SimEnv: each simulated thread has one
// parker, and a parked waiter's address is what PollDesc stores in rg/wg.
//
// Models a one-token semaphore per thread (like std::thread::park): Unpark
// leaves a token and makes a parked owner runnable; Park consumes a token at
// once, or blocks until one arrives (State::kParked). Unpark happens-before
// the Park it releases (park_view). A thread parked with no token left and
// nothing to wake it is what a lost wakeup looks like: the deadlock finding
// names its park site.
//
// Limits: tokens do not count (two Unparks leave one), as goready of a G
// that is not parked would be a bug anyway; Park only on the caller's own
// parker, and Unpark of a parker whose thread does not exist in this
// execution, are `misuse` findings.
#include "harness/sim/rt/execution.h"

namespace pollstorm::sim::rt {

Parker* Execution::CurrentParker() {
  return &Cur().parker;
}

void Execution::Park(ThreadId owner, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  if (owner != t.id) {
    SetFinding(FindingKind::kMisuse, "Park at " + site.ToString() + " on " + ThreadName(owner) +
                                         "'s parker, not the caller's own");
    Abandon();
  }
  if (!t.park_token) {
    SetState(t, State::kParked);
    t.wait_site = site;
    if (cfg_.trace) Trace(site, "park: blocks");
    BlockAndSwitch();
    if (cfg_.trace) Trace(site, "park: woken");
  } else if (cfg_.trace) {
    Trace(site, "park: an earlier unpark is kept, returns at once");
  }
  t.park_token = false;
  t.view.Join(t.park_view);
}

void Execution::Unpark(ThreadId owner, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  if (owner >= nthreads_) {
    SetFinding(FindingKind::kMisuse, "Unpark at " + site.ToString() + " of a stale parker");
    Abandon();
  }
  Thread& p = *threads_[owner];
  p.park_view.Join(t.view);
  p.park_token = true;
  if (p.state == State::kParked) SetState(p, State::kRunnable);
  if (cfg_.trace) Trace(site, "unpark %s", ThreadName(owner).c_str());
}

}  // namespace pollstorm::sim::rt
