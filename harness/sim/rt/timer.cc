// harness/sim/rt/timer.cc: virtual time. The clock (Nanotime), Sleep, and
// the timer service behind the Timer facade (harness/sim/timer.h), Go's
// runtime timers as SimEnv uses them for read and write deadlines.
//
// Models: the clock starts at rt::kStartTime and moves only when the
// scheduler picks a time event (execution.cc decides which are eligible);
// Sleep blocks a thread until its wake time (State::kSleeping). Timers:
// Modify (re)arms a timer, Delete disarms it and says whether it was pending,
// WaitIdle waits for a running callback to finish. Callbacks run on one
// extra simulated thread, the timer fiber, created on the first Modify; the
// scheduler may pick "a timer fires" whenever a timer is overdue or is the
// earliest future event, and which of several eligible timers fires is a
// recorded value choice (0 = earliest, by time then arming order). Modify,
// Delete and the firing synchronise on the timer (Go: the timer's status
// word), not on a global lock; GO: the callback runs without the timer lock,
// and Delete does not wait for a running one.
//
// Limits: one timer fiber, so callbacks never run concurrently with each
// other (Go may run two on different Ms); a callback's view starts from its
// timer's, only the fiber's own clock slot carries over, which
// over-approximates happens-before for third parties (fewer races reported,
// never false ones); timers fire only while a program thread is live; the
// fiber counts against rt::kMaxThreads.
#include "harness/sim/rt/execution.h"

#include <algorithm>

namespace pollstorm::sim::rt {

namespace {
using ull = unsigned long long;
}  // namespace

int64_t Execution::Nanotime(Site site) {
  SchedulePoint();
  Tick(Cur());
  if (cfg_.trace) Trace(site, "nanotime -> %lld", static_cast<long long>(now_));
  return now_;
}

Execution::TimerRec& Execution::TimerOf(ObjHeader& h) {
  if (h.exec != epoch_) {
    h.exec = epoch_;
    h.index = static_cast<uint32_t>(timers_.size());
    timers_.emplace_back();
  }
  return timers_[h.index];
}

void Execution::TimerModify(ObjHeader& h, int64_t when, TimerFunc f, void* arg, uintptr_t seq,
                            Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  if (timer_thread_ == kNoThread) {
    if (nthreads_ == kMaxThreads) {
      SetFinding(FindingKind::kLimit, "the timer fiber would exceed rt::kMaxThreads (" +
                                          std::to_string(kMaxThreads) + ")");
      Abandon();
    }
    Thread& tf = NewThread("timer", true);
    SetState(tf, State::kTimerIdle);
    timer_thread_ = tf.id;
  }
  TimerRec& r = TimerOf(h);
  // Go's modtimer updates the timer's status word with an RMW: acquire and
  // release on the timer, not on a global lock.
  t.view.Join(r.view);
  r.view = t.view;
  r.pending = true;
  r.when = when;
  runnable_valid_ = false;
  r.f = f;
  r.arg = arg;
  r.seq = seq;
  r.arm_serial = ++timer_serial_;
  if (cfg_.trace) {
    Trace(site, "timer %u modify: when=%lld seq=%llu", h.index, static_cast<long long>(when),
          static_cast<ull>(seq));
  }
}

bool Execution::TimerDelete(ObjHeader& h, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  TimerRec& r = TimerOf(h);
  t.view.Join(r.view);
  r.view = t.view;
  const bool was = r.pending;
  r.pending = false;  // a callback already running is not waited for
  runnable_valid_ = false;
  if (cfg_.trace)
    Trace(site, "timer %u delete -> %s", h.index, was ? "was pending" : "not pending");
  return was;
}

void Execution::TimerWaitIdle(ObjHeader& h, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  for (;;) {
    TimerRec& r = TimerOf(h);
    if (!r.running) {
      t.view.Join(r.idle_view);
      return;
    }
    SetState(t, State::kWaitIdle);
    t.wait_index = h.index;
    t.wait_site = site;
    BlockAndSwitch();
  }
}

void Execution::TimerLoop() {
  for (;;) {
    FireOneTimer();
    SetState(Cur(), State::kTimerIdle);
    BlockAndSwitch();
  }
}

void Execution::FireOneTimer() {
  Thread& me = Cur();
  // The scheduler picked "a timer fires now". Which one: overdue timers or the
  // earliest future one, by (when, arming order); choice 0 is the earliest.
  eligible_.clear();
  for (uint32_t i = 0; i < timers_.size(); i++) {
    if (timers_[i].pending && TimeEventEligible(timers_[i].when)) eligible_.push_back(i);
  }
  if (eligible_.empty()) return;
  std::sort(eligible_.begin(), eligible_.end(), [&](uint32_t a, uint32_t b) {
    const TimerRec& x = timers_[a];
    const TimerRec& y = timers_[b];
    return x.when != y.when ? x.when < y.when : x.arm_serial < y.arm_serial;
  });
  const uint32_t idx = eligible_[PickValue(eligible_.size())];
  TimerRec& r = timers_[idx];
  now_ = std::max(now_, r.when);
  r.pending = false;
  runnable_valid_ = false;
  r.running = true;
  // Each firing starts from the timer's view, as if on a fresh M: callbacks
  // of different timers are not ordered by the fiber they share. Only the
  // fiber's own clock slot carries over (so epochs stay monotonic), which
  // over-approximates happens-before for third parties that sync with a
  // later callback (fewer races reported, never false ones).
  const uint32_t own = me.view.hb[me.id];
  me.view = r.view;
  me.view.hb[me.id] = std::max(own, r.view.hb[me.id]) + 1;
  me.has_fence_release = false;
  me.pending_acquire.Clear();
  r.view = me.view;
  if (cfg_.trace) {
    Trace(Site{"timer", "fire", 0}, "timer %u fires: now=%lld seq=%llu", idx,
          static_cast<long long>(now_), static_cast<ull>(r.seq));
  }
  const TimerFunc f = r.f;
  void* const arg = r.arg;
  const uintptr_t seq = r.seq;
  // GO: the callback runs without the timer lock; Delete does not wait for it.
  f(arg, seq);
  Tick(me);
  TimerRec& done = timers_[idx];
  done.running = false;
  done.idle_view = me.view;
  for (uint32_t i = 0; i < nthreads_; i++) {
    Thread& w = *threads_[i];
    if (w.state == State::kWaitIdle && w.wait_index == idx) SetState(w, State::kRunnable);
  }
}

void Execution::Sleep(int64_t ns, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  if (ns <= 0) return;
  if (__builtin_add_overflow(now_, ns, &t.wake_time)) t.wake_time = INT64_MAX;
  SetState(t, State::kSleeping);
  t.wait_site = site;
  if (cfg_.trace) Trace(site, "sleep until %lld", static_cast<long long>(t.wake_time));
  BlockAndSwitch();
  if (cfg_.trace) Trace(site, "wakes: now=%lld", static_cast<long long>(now_));
}

}  // namespace pollstorm::sim::rt
