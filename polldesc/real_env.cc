#include "polldesc/real_env.h"

#include <linux/futex.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace pollstorm {
namespace {

void FutexWait(std::atomic<uint32_t>* addr, uint32_t expected) {
  // Returns on wake, on a value mismatch (EAGAIN), on EINTR, or spuriously;
  // every caller re-checks the word.
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), FUTEX_WAIT_PRIVATE, expected, nullptr,
          nullptr, 0);
}

void FutexWake(std::atomic<uint32_t>* addr) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr,
          0);
}

// A pool of parkers that are never freed (see RealParker). Leaked on purpose:
// reachable from a static, so leak checkers stay quiet.
struct ParkerPool {
  std::mutex mu;
  std::vector<RealParker*> free;
};
ParkerPool& Pool() {
  static ParkerPool* pool = new ParkerPool;
  return *pool;
}

struct ParkerLease {
  RealParker* p;
  ParkerLease() {
    ParkerPool& pool = Pool();
    std::lock_guard<std::mutex> l(pool.mu);
    if (pool.free.empty()) {
      p = new RealParker;
    } else {
      p = pool.free.back();
      pool.free.pop_back();
    }
  }
  ~ParkerLease() {
    ParkerPool& pool = Pool();
    std::lock_guard<std::mutex> l(pool.mu);
    pool.free.push_back(p);
  }
};

std::atomic<FatalHook> g_fatal_hook{nullptr};

constexpr int64_t kMaxTimerSleepNs = 1000000000;  // the timer thread re-checks at least every 1 s

}  // namespace

// ---- the waiter becomes the poller (real_env.h: RealParker) ----
//
// Ordering. The state word carries the wake, as before: every load the owner
// returns on is acquire and every waker's store or RMW of kNotified is
// release, so the waker's writes before Unpark (the slot CAS that took this
// G) are visible when Park returns, whichever path delivered it (futex,
// poll round, break). Everything about the role (held, the poller, the
// candidate list, listed_/handed_) is guarded by RoleState::mu, so its
// ordering is the mutex's.
//
// No lost role (while a thread is parked wanting the role, some thread polls
// or will): a parker lists itself under mu when it finds the role held, and
// the holder gives the role up under mu and then hands it on to a listed
// candidate: one of the two critical sections comes first in mu's order, so
// either the parker sees the role free and takes it, or the holder sees the
// parker listed. The hand-off CAS (kEmpty/kSleeping -> kHandoff) runs under
// mu and the futex wake after it, so a candidate entering FutexWait(kSleeping)
// either sees kHandoff at once or is woken. A candidate that was handed the
// role but then found its own Unpark (kHandoff -> kNotified) hands it on
// again as it leaves (handed_).
//
// No lost wake while polling: an Unpark from another thread that finds
// kPolling takes kBreaking (acq_rel: acquire to read polling_on_, which the
// owner wrote before its release CAS to kPolling), calls BreakPoll, then
// stores kNotified (release). The owner, after each round, waits out
// kBreaking before it gives the role up; the poller outlives that, since
// RemoveWaiterPoller waits until the role is free. An Unpark from the owner
// itself (its own descriptor readied inside its own round) just stores
// kNotified: no break, no futex.
struct RoleState {
  std::mutex mu;
  WaiterPoller* poller = nullptr;         // guarded by mu
  bool held = false;                      // guarded by mu: a thread holds the role
  bool removing = false;                  // guarded by mu
  std::vector<RealParker*> candidates;    // guarded by mu
  // acquire/release: mirrors poller != nullptr for Park's fast path, so a
  // process with no waiter poller never takes mu (the dedicated-thread mode
  // parks exactly as before).
  std::atomic<bool> installed{false};
  // acquire/release: mirrors removing for the holder's check between rounds.
  std::atomic<bool> leave{false};
  // relaxed: counters for tests and benchmarks (RealEnv::WaiterPollStats), no data.
  std::atomic<uint64_t> rounds{0}, own_wakes{0}, handoffs{0}, breaks{0};

  static RoleState& Get() {
    static RoleState* r = new RoleState;  // leaked on purpose, as the parker pool
    return *r;
  }

  // Wakes a candidate HandOnLocked picked (after mu is released).
  static void WakeHandedOn(RealParker* c) {
    if (c != nullptr) FutexWake(&c->state_);
  }

  void UnlistLocked(RealParker* p) {
    if (!p->listed_) return;
    candidates.erase(std::find(candidates.begin(), candidates.end(), p));
    p->listed_ = false;
  }
  // Take the role for self, or list self as a candidate.
  WaiterPoller* TakeOrListLocked(RealParker* self) {
    self->handed_ = false;
    if (poller != nullptr && !held && !removing) {
      held = true;
      UnlistLocked(self);
      return poller;
    }
    if (!self->listed_) {
      candidates.push_back(self);
      self->listed_ = true;
    }
    return nullptr;
  }
  // The role is free: hand it to a listed candidate, to be woken after mu is
  // released (nullptr: none wants it). A candidate already notified leaves
  // Park and needs no role: skip it.
  RealParker* HandOnLocked() {
    if (held || poller == nullptr || removing) return nullptr;
    while (!candidates.empty()) {
      RealParker* c = candidates.back();
      candidates.pop_back();
      c->listed_ = false;
      uint32_t s = c->state_.load(std::memory_order_relaxed);
      while (s == RealParker::kEmpty || s == RealParker::kSleeping) {
        // relaxed: the role is published by mu (the candidate takes it under
        // mu); this word only makes the candidate look.
        if (c->state_.compare_exchange_weak(s, RealParker::kHandoff, std::memory_order_relaxed)) {
          c->handed_ = true;
          handoffs.fetch_add(1, std::memory_order_relaxed);  // a statistic
          return c;
        }
      }
    }
    return nullptr;
  }
};

namespace {
thread_local RealParker* t_self = nullptr;  // this thread's parker, once it has one
}  // namespace

// The owner waits out a waker inside BreakPoll (kBreaking -> kNotified).
uint32_t RealParker::WaitOutBreak(uint32_t s) {
  while (s == kBreaking) {
    sched_yield();
    s = state_.load(std::memory_order_acquire);  // pairs with the waker's release store
  }
  return s;
}

void RealParker::PollWhileParked(WaiterPoller* p) {
  RoleState& rs = RoleState::Get();
  polling_on_ = p;
  uint32_t s = kEmpty;
  // release: a waker that reads kPolling sees polling_on_; acquire on
  // failure: a kNotified read here is the wake (Park re-reads it anyway).
  if (state_.compare_exchange_strong(s, kPolling, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
    for (;;) {
      p->PollAsWaiter();
      rs.rounds.fetch_add(1, std::memory_order_relaxed);  // a statistic
      s = WaitOutBreak(state_.load(std::memory_order_acquire));
      if (s == kNotified) break;
      // Still kPolling: our wake has not come. Poll again, unless the poller
      // is being removed: then park on the futex (acquire: pairs with
      // RemoveWaiterPoller's release store).
      if (rs.leave.load(std::memory_order_acquire)) {
        if (!state_.compare_exchange_strong(s, kEmpty, std::memory_order_acquire)) {
          (void)WaitOutBreak(s);  // the wake came meanwhile: kNotified
        }
        break;
      }
    }
  }
  RealParker* next;
  {
    std::lock_guard<std::mutex> l(rs.mu);
    rs.held = false;
    next = rs.HandOnLocked();
  }
  RoleState::WakeHandedOn(next);
}

void RealParker::Park() {
  RoleState& rs = RoleState::Get();
  bool maybe_listed = false;  // owner-only: listed_ may be set (read it under mu)
  // acquire on every read of kNotified: the waker's writes before Unpark
  // (the slot CAS that took this G) are visible when Park returns.
  uint32_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if (s == kNotified) {
      if (maybe_listed) {
        // Leave the candidate list before the word goes back to kEmpty (a
        // hand-off CAS expects kEmpty/kSleeping, so it cannot pick a parker
        // that is leaving); pass on a role handed to us that we do not need.
        RealParker* next = nullptr;
        {
          std::lock_guard<std::mutex> l(rs.mu);
          rs.UnlistLocked(this);
          if (handed_) {
            handed_ = false;
            next = rs.HandOnLocked();
          }
        }
        RoleState::WakeHandedOn(next);
      }
      // relaxed: only this thread and its single waker touch the word now
      // (no longer listed: no hand-off), and the waker is done with it.
      state_.store(kEmpty, std::memory_order_relaxed);
      return;
    }
    if (s == kHandoff) {
      // acquire: as every read that may precede the return.
      if (!state_.compare_exchange_weak(s, kEmpty, std::memory_order_acquire)) continue;
      s = kEmpty;
    }
    // acquire: pairs with InstallWaiterPoller's release store (mu orders the rest).
    if (s == kEmpty && rs.installed.load(std::memory_order_acquire)) {
      WaiterPoller* p;
      {
        std::lock_guard<std::mutex> l(rs.mu);
        p = rs.TakeOrListLocked(this);
        maybe_listed = listed_;
      }
      if (p != nullptr) {
        PollWhileParked(p);
        s = state_.load(std::memory_order_acquire);
        continue;
      }
    }
    if (s == kEmpty) {
      if (!state_.compare_exchange_weak(s, kSleeping, std::memory_order_acquire)) continue;
    }
    FutexWait(&state_, kSleeping);
    s = state_.load(std::memory_order_acquire);
  }
}

void RealParker::Unpark() {
  uint32_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (s == kPolling) {
      if (this == t_self) {
        // Our own round readied our descriptor: no break, no futex.
        // release: pairs with Park's acquire loads.
        if (state_.compare_exchange_weak(s, kNotified, std::memory_order_release)) {
          RoleState::Get().own_wakes.fetch_add(1, std::memory_order_relaxed);  // a statistic
          return;
        }
        continue;
      }
      // acq_rel: acquire to read polling_on_ (the owner's release CAS to
      // kPolling); release so the owner's acquire read of kBreaking orders too.
      if (!state_.compare_exchange_weak(s, kBreaking, std::memory_order_acq_rel)) continue;
      polling_on_->BreakPoll();
      RoleState::Get().breaks.fetch_add(1, std::memory_order_relaxed);  // a statistic
      state_.store(kNotified, std::memory_order_release);  // pairs with Park's acquire loads
      return;
    }
    // kEmpty, kSleeping, kHandoff. release: pairs with Park's acquire loads.
    if (state_.compare_exchange_weak(s, kNotified, std::memory_order_release)) {
      if (s == kSleeping) FutexWake(&state_);
      return;
    }
  }
}

bool RealEnv::InstallWaiterPoller(WaiterPoller* p) {
  RoleState& rs = RoleState::Get();
  RealParker* next;
  {
    std::lock_guard<std::mutex> l(rs.mu);
    if (rs.poller != nullptr) return false;
    rs.poller = p;
    rs.installed.store(true, std::memory_order_release);  // pairs with Park's acquire load
    next = rs.HandOnLocked();  // a thread that parked before the install
  }
  RoleState::WakeHandedOn(next);
  return true;
}

void RealEnv::RemoveWaiterPoller(WaiterPoller* p) {
  RoleState& rs = RoleState::Get();
  std::unique_lock<std::mutex> l(rs.mu);
  if (rs.poller != p) return;
  rs.removing = true;
  rs.leave.store(true, std::memory_order_release);  // pairs with the holder's acquire load
  while (rs.held) {
    l.unlock();
    p->BreakPoll();
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    l.lock();
  }
  rs.poller = nullptr;
  rs.installed.store(false, std::memory_order_release);
  rs.removing = false;
  rs.leave.store(false, std::memory_order_release);
}

WaiterPollStats RealEnv::GetWaiterPollStats() {
  RoleState& rs = RoleState::Get();
  return {rs.rounds.load(std::memory_order_relaxed), rs.own_wakes.load(std::memory_order_relaxed),
          rs.handoffs.load(std::memory_order_relaxed), rs.breaks.load(std::memory_order_relaxed)};
}

RealParker* RealEnv::CurrentParker() {
  thread_local ParkerLease lease;
  t_self = lease.p;
  return lease.p;
}

int64_t RealEnv::Nanotime() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void SetFatalHook(FatalHook hook) { g_fatal_hook.store(hook, std::memory_order_release); }

void RealEnv::Fatal(const char* msg) {
  if (FatalHook h = g_fatal_hook.load(std::memory_order_acquire)) h(msg);
  std::fprintf(stderr, "fatal error: %s\n", msg);
  std::fflush(stderr);
  std::abort();
}

// ---- timers ----

void RealTimer::Modify(int64_t when, TimerFunc f, void* arg, uintptr_t seq) {
  TimerService::Global().Modify(this, when, f, arg, seq);
}
bool RealTimer::Delete() { return TimerService::Global().Delete(this); }
void RealTimer::WaitIdle() { TimerService::Global().WaitIdle(this); }

TimerService& TimerService::Global() {
  // Leaked on purpose: the thread runs until the process exits, like Go's.
  static TimerService* s = new TimerService;
  return *s;
}

TimerService::TimerService() {
  thread_ = std::thread([this] { Loop(); });
  thread_.detach();
}

void TimerService::Swap(int i, int j) {
  std::swap(heap_[i], heap_[j]);
  heap_[i]->heap_index_ = i;
  heap_[j]->heap_index_ = j;
}
void TimerService::Up(int i) {
  while (i > 0) {
    int p = (i - 1) / 2;
    if (heap_[p]->when_ <= heap_[i]->when_) break;
    Swap(i, p);
    i = p;
  }
}
void TimerService::Down(int i) {
  const int n = static_cast<int>(heap_.size());
  for (;;) {
    int l = 2 * i + 1, m = i;
    if (l < n && heap_[l]->when_ < heap_[m]->when_) m = l;
    if (l + 1 < n && heap_[l + 1]->when_ < heap_[m]->when_) m = l + 1;
    if (m == i) break;
    Swap(i, m);
    i = m;
  }
}
void TimerService::RemoveAt(int i) {
  const int last = static_cast<int>(heap_.size()) - 1;
  RealTimer* t = heap_[i];
  if (i != last) {
    Swap(i, last);
  }
  heap_.pop_back();
  t->heap_index_ = -1;
  if (i != last) {
    Down(i);
    Up(i);
  }
}

void TimerService::Modify(RealTimer* t, int64_t when, TimerFunc f, void* arg, uintptr_t seq) {
  std::unique_lock<std::mutex> l(mu_);
  t->when_ = when;
  t->f_ = f;
  t->arg_ = arg;
  t->seq_ = seq;
  if (t->heap_index_ < 0) {
    t->heap_index_ = static_cast<int>(heap_.size());
    heap_.push_back(t);
  }
  Up(t->heap_index_);
  Down(t->heap_index_);
  // Wake the loop only if it sleeps past this deadline (Go's modtimer: a
  // timer moved later is left for the P to find). A deadline at or after
  // sleep_until_ is found when the loop wakes as planned and re-reads the
  // heap; that includes every re-arm to a later time. kAwake (INT64_MIN)
  // never compares greater: an awake or already-woken loop needs no wake.
  if (when >= sleep_until_) return;
  sleep_until_ = kAwake;  // woken: it re-reads the heap before it sleeps again
  notifies_++;
  // Notified after unlocking, so the loop does not wake into a held mu_.
  // Nothing is lost: the loop is inside its wait (sleep_until_ was not
  // kAwake), and if it times out first it re-reads the heap anyway.
  l.unlock();
  cv_.notify_one();
}

uint64_t TimerService::DebugNotifies() {
  std::lock_guard<std::mutex> l(mu_);
  return notifies_;
}

bool TimerService::Delete(RealTimer* t) {
  std::lock_guard<std::mutex> l(mu_);
  if (t->heap_index_ < 0) return false;
  RemoveAt(t->heap_index_);
  return true;
}

void TimerService::WaitIdle(RealTimer* t) {
  std::unique_lock<std::mutex> l(mu_);
  idle_cv_.wait(l, [&] { return running_ != t; });
}

void TimerService::Loop() {
#ifdef __linux__
  // Timer slack 1 ns (the minimum; 0 would restore the default) for this
  // thread only: its timed waits are the deadlines. Sub-millisecond
  // deadlines are the point of this port (Go's netpoll rounds them up to
  // 1 ms), and the default 50 us slack made every deadline fire 50 us late
  // (reports/BENCH-FIGURES.md). Waiters and the poller keep the default.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    // Every wait below is followed by `continue`: after any wake (notified,
    // timed out, spurious) the loop re-reads the front of the heap, so a
    // timer moved later while it slept is not fired early.
    if (heap_.empty()) {
      sleep_until_ = INT64_MAX;
      cv_.wait(l);
      sleep_until_ = kAwake;
      continue;
    }
    RealTimer* t = heap_.front();
    const int64_t now = RealEnv::Nanotime();
    if (t->when_ > now) {
      // Sleep at most kMaxTimerSleepNs at a time: a saturated deadline
      // (INT64_MAX) would overflow steady_clock::now() + d inside wait_for,
      // which then returns at once and spins holding mu_.
      const int64_t d = std::min(t->when_ - now, kMaxTimerSleepNs);
      // wait_for measures d from its own, later, reading of the clock, so
      // the loop wakes no earlier than now + d.
      sleep_until_ = now + d;
      cv_.wait_for(l, std::chrono::nanoseconds(d));
      sleep_until_ = kAwake;
      continue;
    }
    RemoveAt(0);
    const TimerFunc f = t->f_;
    void* const arg = t->arg_;
    const uintptr_t seq = t->seq_;
    running_ = t;
    // The callback runs without mu_: it takes pd.lock, and pd.lock holders
    // call Modify/Delete (lock order pd.lock -> mu_; #35532 otherwise).
    l.unlock();
    f(arg, seq);
    l.lock();
    running_ = nullptr;
    idle_cv_.notify_all();
  }
}

}  // namespace pollstorm
