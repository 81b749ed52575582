// polldesc/real_env.h: RealEnv, the production environment: std::atomic, plain
// fields TSan can see, std::mutex, a futex parker, CLOCK_MONOTONIC, and one
// timer thread with a heap.
//
//   RealShared<T>    a plain field; atomic ops through std::atomic_ref.
//   RealParker       one-shot futex park token (wake-before-sleep safe,
//                    spurious futex wakes absorbed).
//   TimerService     one thread, an indexed min-heap; callbacks run without
//                    the service lock; Delete never waits for a running one;
//                    a re-arm wakes the thread only if it sleeps past the
//                    new deadline.
//   RealTimer        a timer owned by a PollDesc, served by TimerService.
//   RealEnv          the Env (see env.h).
#pragma once

#include <atomic>
#include <sys/types.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "polldesc/env.h"

namespace pollstorm {

template <class T>
class RealShared {
 public:
  RealShared() = default;
  explicit RealShared(T v) : v_(v) {}
  T Read() const { return v_; }
  void Write(T v) { v_ = v; }
  // Raw(): for failure dumps only; unsynchronised and invisible to TSan so a
  // dump never adds a report of its own.
  __attribute__((no_sanitize("thread"))) T Raw() const { return v_; }
  // Go's atomic.* applied to a plain word: atomic here, plain elsewhere, and
  // TSan reports the plain accesses that race with them.
  T load(std::memory_order o) { return std::atomic_ref<T>(v_).load(o); }
  void store(T v, std::memory_order o) { std::atomic_ref<T>(v_).store(v, o); }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order o) {
    return std::atomic_ref<T>(v_).compare_exchange_strong(expected, desired, o);
  }
  T exchange(T v, std::memory_order o) { return std::atomic_ref<T>(v_).exchange(v, o); }

 private:
  alignas(std::atomic_ref<T>::required_alignment) T v_{};
};

// RealParker: a parked waiter ("G"). Park() returns only after Unpark(); an
// Unpark that comes first is kept. Parkers are pooled and never freed, so an
// Unpark that is still inside its futex wake when the woken thread exits
// touches valid memory (the same type stability Go gives pollDescs).
//
// The waiter becomes the poller (issue #17). While a WaiterPoller is
// installed (RealEnv::InstallWaiterPoller; EpollPoller::Start(kWaiterPolls)),
// a thread about to park takes the poller role if no thread holds it, and
// instead of sleeping on its futex it runs poll rounds (epoll_wait) itself
// until its own Unpark has come; the round that readies its own descriptor
// returns without any futex call. A thread that finds the role held parks on
// its futex as before and is listed as a candidate. The holder, once its own
// Unpark came, gives the role up and hands it on to one candidate (a futex
// wake with kHandoff, so that candidate polls while it waits), so while any
// thread is parked with the role wanted, some thread polls or is about to.
// The role, the candidate list and the installed poller are guarded by one
// mutex (RoleState in real_env.cc); the state word below is lock-free.
//
// State word (owner = the parking thread, waker = the single Unpark of this
// park, handoff = a role holder handing the role on):
//   kEmpty     no wake yet, owner not sleeping
//   kNotified  Unpark came (owner returns)
//   kSleeping  owner in (or entering) FutexWait
//   kPolling   owner holds the role and is inside poll rounds: an Unpark
//              from another thread must break the poll (kBreaking), a
//              futex wake would not reach it
//   kBreaking  a waker is inside BreakPoll; it stores kNotified when done.
//              The owner waits for that before it gives the role up, so the
//              poller is alive while the waker uses it (RemoveWaiterPoller
//              waits for the role).
//   kHandoff   the role was handed to this (candidate) owner: retry it
class alignas(64) RealParker {
 public:
  void Park();
  void Unpark();

 private:
  friend struct RoleState;
  static constexpr uint32_t kEmpty = 0, kNotified = 1, kSleeping = 2, kPolling = 3,
                            kBreaking = 4, kHandoff = 5;
  // Runs poll rounds while holding the role; returns with the role given up.
  void PollWhileParked(WaiterPoller* poller);
  uint32_t WaitOutBreak(uint32_t s);
  std::atomic<uint32_t> state_{kEmpty};
  // Guarded by RoleState's mutex: listed as a candidate; handed the role.
  bool listed_ = false;
  bool handed_ = false;
  // Written by the owner before it publishes kPolling (release); read by a
  // waker that saw kPolling (acquire): the poller to break.
  WaiterPoller* polling_on_ = nullptr;
};

// Counters of the waiter-polls mode, process-wide since start (tests, benchmarks).
struct WaiterPollStats {
  uint64_t rounds;     // poll rounds run by waiters holding the role
  uint64_t own_wakes;  // a round readied its own caller (no futex, no break)
  uint64_t handoffs;   // the role handed on to a parked candidate (a futex wake)
  uint64_t breaks;     // another thread's Unpark broke a waiter's poll
};

class TimerService;

class RealTimer {
 public:
  RealTimer() = default;
  RealTimer(const RealTimer&) = delete;
  RealTimer& operator=(const RealTimer&) = delete;
  // RealTimer::Modify: arm or re-arm (Go: resettimer / modtimer).
  void Modify(int64_t when, TimerFunc f, void* arg, uintptr_t seq);
  // RealTimer::Delete: disarm if pending (Go: deltimer). Never waits for a
  // callback already running. Returns whether it was pending.
  bool Delete();
  // RealTimer::WaitIdle: wait until no callback of this timer runs.
  void WaitIdle();

 private:
  friend class TimerService;
  // all guarded by TimerService::mu_
  int64_t when_ = 0;
  TimerFunc f_ = nullptr;
  void* arg_ = nullptr;
  uintptr_t seq_ = 0;
  int heap_index_ = -1;  // -1: not pending
};

class TimerService {
 public:
  static TimerService& Global();
  void Modify(RealTimer* t, int64_t when, TimerFunc f, void* arg, uintptr_t seq);
  bool Delete(RealTimer* t);
  void WaitIdle(RealTimer* t);
  // How many times Modify has woken the timer thread (tests only).
  uint64_t DebugNotifies();

 private:
  // sleep_until_ while the loop is awake or already woken: it looks at the
  // heap before it sleeps again, so nothing needs to wake it.
  static constexpr int64_t kAwake = INT64_MIN;

  TimerService();
  void Loop();
  void Up(int i);
  void Down(int i);
  void Swap(int i, int j);
  void RemoveAt(int i);

  std::mutex mu_;
  std::condition_variable cv_;       // the loop waits for an earlier timer
  std::condition_variable idle_cv_;  // WaitIdle waits for running_ to change
  std::vector<RealTimer*> heap_;     // guarded by mu_; min-heap on when_
  RealTimer* running_ = nullptr;     // guarded by mu_; whose callback runs now
  // Guarded by mu_. When the sleeping loop will next look at the heap unless
  // woken (INT64_MAX: not before a wake), or kAwake. While the loop sleeps,
  // no pending timer is due before it: Modify wakes the loop for an earlier
  // deadline only (a later one is found when the loop wakes as planned).
  int64_t sleep_until_ = kAwake;
  uint64_t notifies_ = 0;  // guarded by mu_
  std::thread thread_;
};

struct RealEnv {
  template <class T>
  using Atomic = std::atomic<T>;
  template <class T>
  using Shared = RealShared<T>;
  using Mutex = std::mutex;
  using Parker = RealParker;
  using Timer = RealTimer;

  static constexpr const char* kName = "real";

  static Parker* CurrentParker();
  static int64_t Nanotime();
  // The waiter-polls mode (RealParker): at most one WaiterPoller at a time
  // (Go has one netpoller per process). Install returns false if another is
  // installed. Remove makes a thread polling it leave (BreakPoll) and returns
  // once none does; the caller guarantees no waiter still needs its events.
  static bool InstallWaiterPoller(WaiterPoller* p);
  static void RemoveWaiterPoller(WaiterPoller* p);
  static WaiterPollStats GetWaiterPollStats();
  [[noreturn]] static void Fatal(const char* msg);
  // GO: atomic.StorepNoWB to a dummy word: a full barrier on the hardware Go
  // ran on. The C++ equivalent is a seq_cst fence (mfence / dmb ish).
  static void FullBarrier() { std::atomic_thread_fence(std::memory_order_seq_cst); }

  // The system calls the Fd facade makes (the simulator fakes them).
  static ssize_t SysRead(int fd, void* buf, size_t n) { return ::read(fd, buf, n); }
  static ssize_t SysWrite(int fd, const void* buf, size_t n) { return ::write(fd, buf, n); }
  static int SysClose(int fd) { return ::close(fd); }
};

// Fatal hook: tests and the storm may capture throws instead of aborting
// (the storm reports them as findings). Called with the message; if it
// returns, Fatal aborts anyway.
using FatalHook = void (*)(const char* msg);
void SetFatalHook(FatalHook hook);

}  // namespace pollstorm
