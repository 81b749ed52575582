// harness/sim/rt/mutex.cc: the Mutex facade's object (harness/sim/mutex.h),
// Go's runtime mutex as SimEnv::Mutex: PollDesc's lock_, the cache lock.
//
// Models a non-recursive, non-fair mutex: Lock takes a free mutex at once and
// joins the view the last Unlock published (unlock happens-before the next
// lock); a locked one blocks the thread (State::kMutex). Unlock wakes every
// waiter and each retries, so which one gets the lock is the scheduler's
// choice, not FIFO. A deadlock involving a mutex names its holder and the
// site where it was locked.
//
// Limits: no try-lock and no timeout (SimEnv needs neither); re-locking a
// held mutex and unlocking one the thread does not hold are `misuse`
// findings, not hangs; a mutex is registered in an execution on first use
// (ObjHeader), so one built before the execution starts unlocked in it.
#include "harness/sim/rt/execution.h"

namespace pollstorm::sim::rt {

Execution::MutexRec& Execution::MutexOf(ObjHeader& h) {
  if (h.exec != epoch_) {
    h.exec = epoch_;
    h.index = static_cast<uint32_t>(mutexes_.size());
    mutexes_.emplace_back();
  }
  return mutexes_[h.index];
}

void Execution::Lock(ObjHeader& h, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  for (;;) {
    MutexRec& m = MutexOf(h);  // re-fetched: the table may grow while we block
    if (m.owner == kNoThread) {
      m.owner = t.id;
      m.owner_site = site;
      t.view.Join(m.view);
      if (cfg_.trace) Trace(site, "lock");
      return;
    }
    if (m.owner == t.id) {
      SetFinding(FindingKind::kMisuse, "lock at " + site.ToString() +
                                           " of a mutex this thread already holds (locked at " +
                                           m.owner_site.ToString() + "): self-deadlock");
      Abandon();
    }
    SetState(t, State::kMutex);
    t.wait_index = h.index;
    t.wait_site = site;
    if (cfg_.trace) Trace(site, "lock blocks (held by %s)", ThreadName(m.owner).c_str());
    BlockAndSwitch();
  }
}

void Execution::Unlock(ObjHeader& h, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  MutexRec& m = MutexOf(h);
  if (m.owner != t.id) {
    SetFinding(FindingKind::kMisuse,
               "unlock at " + site.ToString() + " of a mutex this thread does not hold");
    Abandon();
  }
  m.view = t.view;
  m.owner = kNoThread;
  // Every waiter retries; the scheduler decides who gets the lock.
  for (uint32_t i = 0; i < nthreads_; i++) {
    Thread& w = *threads_[i];
    if (w.state == State::kMutex && w.wait_index == h.index) SetState(w, State::kRunnable);
  }
  if (cfg_.trace) Trace(site, "unlock");
}

}  // namespace pollstorm::sim::rt
