#include "polldesc/real_env.h"

#include <linux/futex.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

void RealParker::Park() {
  // acquire on every read of kNotified: the waker's writes before Unpark
  // (the slot CAS that took this G) are visible when Park returns.
  uint32_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if (s == kNotified) {
      // relaxed: only this thread and its single waker touch the word, and
      // the waker is done with it (it stored kNotified).
      state_.store(kEmpty, std::memory_order_relaxed);
      return;
    }
    if (s == kEmpty) {
      if (!state_.compare_exchange_weak(s, kSleeping, std::memory_order_acquire)) continue;
    }
    FutexWait(&state_, kSleeping);
    s = state_.load(std::memory_order_acquire);
  }
}

void RealParker::Unpark() {
  // release: pairs with Park's acquire loads.
  if (state_.exchange(kNotified, std::memory_order_release) == kSleeping) FutexWake(&state_);
}

RealParker* RealEnv::CurrentParker() {
  thread_local ParkerLease lease;
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
