// polldesc/env.h: the environment seam. PollDesc<Env, Variant> is written
// once; everything it touches that is shared or nondeterministic comes from
// Env. Two Envs exist: RealEnv (real_env.h: threads, futexes, CLOCK_MONOTONIC,
// a timer thread) and the simulator's SimEnv (harness/sim/).
//
// An Env provides:
//
//   template <class T> Atomic     load/store/compare_exchange_strong/exchange/
//                                 fetch_add with an explicit std::memory_order,
//                                 the std::atomic method names.
//   template <class T> Shared     a plain, non-atomic shared field:
//                                   Read(), Write(v)          plain accesses
//                                   load/store/compare_exchange_strong/exchange
//                                                             Go's atomic.* on a
//                                                             plain word (legacy)
//                                 Lock-guarded fields are Shared too, so the
//                                 simulator's race detector checks the locking.
//   Mutex                         lock(), unlock()
//   Parker                        a parked waiter ("G"): Park() blocks until
//                                 Unpark(); an Unpark before the Park is kept
//                                 (wake-before-sleep safe); no spurious return.
//                                 Its address is what the rg/wg slot holds.
//   Parker* CurrentParker()       the calling thread's parker.
//   int64_t Nanotime()            monotonic nanoseconds (Go's nanotime).
//   Timer                         Modify(when, f, arg, seq): arm or re-arm;
//                                 Delete(): disarm. f(arg, seq) runs later on
//                                 another thread WITHOUT any timer lock held;
//                                 Delete never waits for a running callback
//                                 (Go's deltimer), so stale firings happen and
//                                 rseq/wseq must reject them.
//                                 WaitIdle(): wait until no callback of this
//                                 timer runs (only for freeing memory; Go never
//                                 frees pollDescs).
//   [[noreturn]] Fatal(msg)       the runtime's throw(msg).
//   FullBarrier()                 the seed's "full memory barrier" (an atomic
//                                 store to a dummy word); C++ seq_cst fence.
#pragma once

#include <cstdint>

namespace pollstorm {

// Timer callback: Go's func(arg any, seq uintptr).
using TimerFunc = void (*)(void* arg, uintptr_t seq);

// Error codes returned to internal/poll (Go: pollNoError ... pollErrNotPollable).
enum PollErr : int {
  kPollNoError = 0,
  kPollErrClosing = 1,
  kPollErrTimeout = 2,
  kPollErrNotPollable = 3,
};

// Modes, with Go's values ('r', 'w', 'r'+'w').
enum : int { kModeRead = 'r', kModeWrite = 'w', kModeReadWrite = 'r' + 'w' };

inline const char* PollErrName(int e) {
  switch (e) {
    case kPollNoError: return "ok";
    case kPollErrClosing: return "closing";
    case kPollErrTimeout: return "timeout";
    case kPollErrNotPollable: return "notpollable";
    default: return "?";
  }
}

// NetpollPlatform: Go's platform contract (netpoll_epoll.go), the part pollDesc
// calls. The poll loop itself (netpoll) belongs to the concrete poller.
class NetpollPlatform {
 public:
  virtual ~NetpollPlatform() = default;
  // netpollopen: register fd, edge-triggered, with user_data as the event's
  // data (the server's EventKey: the pollDesc address, or on tip the address
  // tagged with the incarnation's fdseq). Returns 0 or an errno.
  virtual int NetpollOpen(uintptr_t fd, uint64_t user_data) = 0;
  // netpollclose: deregister fd. Returns 0 or an errno.
  virtual int NetpollClose(uintptr_t fd) = 0;
};

// WaiterPoller: a poll loop that a thread about to park may run itself
// (issue #17; Go's findRunnable, where an idle M blocks in netpoll and runs
// the G it readied). RealParker::Park drives it (real_env.h: "the waiter
// becomes the poller"); EpollPoller implements it.
class WaiterPoller {
 public:
  virtual ~WaiterPoller() = default;
  // One blocking poll round on the calling thread (GO: netpoll(-1) from
  // findRunnable): makes the Gs whose descriptors became ready runnable
  // (their Unpark), the caller's own among them if it was.
  virtual void PollAsWaiter() = 0;
  // Makes a PollAsWaiter in progress return (GO: netpollBreak).
  virtual void BreakPoll() = 0;
};

}  // namespace pollstorm
