// bench/bench_util.h: what several suites share: thread placement and a
// pollDesc that lives for one benchmark.
//
// Placement is a benchmark argument (named "placement") because on two vCPUs
// it changes park/unpark figures by an order of magnitude:
//   0  same core:  every thread of the benchmark pinned to CPU 0 (the
//                  benchmark's own threads, and the poller thread, which
//                  inherits the main thread's mask when it starts);
//   1  cross core: the main thread (and the poller) on CPU 0, the partner
//                  on CPU 1;
//   2  unpinned:   the scheduler decides.
// Scaling benchmarks with many threads run unpinned only (placement 2).
#pragma once

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "polldesc/real.h"

namespace pollstorm::bench {

inline void Pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % static_cast<int>(std::thread::hardware_concurrency()), &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// The CPU for the main (who = 0) or partner (who = 1) thread under a
// placement; -1: leave it unpinned.
inline int CpuFor(int placement, int who) {
  if (placement == 0) return 0;
  if (placement == 1) return who;
  return -1;
}

inline void Unpin() {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (unsigned i = 0; i < std::thread::hardware_concurrency(); i++) CPU_SET(i, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Placement for the main thread of one benchmark: pinned on construction,
// unpinned on destruction, so the next benchmark starts unpinned.
class MainPlacement {
 public:
  explicit MainPlacement(int placement) : placement_(placement) { Pin(CpuFor(placement_, 0)); }
  ~MainPlacement() { Unpin(); }
  MainPlacement(const MainPlacement&) = delete;
  MainPlacement& operator=(const MainPlacement&) = delete;
  // Called first thing on the partner thread(s).
  void PinPartner() const { Pin(CpuFor(placement_, 1)); }

 private:
  const int placement_;
};

// An in-memory pollDesc (no platform) for the lifetime of one benchmark:
// opened from the server's cache, unblocked and closed at the end.
template <class V>
class OpenDesc {
 public:
  explicit OpenDesc(RealServer<V>& server)
      : server_(server), pd_(server.Open(~uintptr_t{0}).first) {}
  ~OpenDesc() {
    pd_->Unblock();
    server_.Close(pd_);
  }
  OpenDesc(const OpenDesc&) = delete;
  OpenDesc& operator=(const OpenDesc&) = delete;
  RealPollDesc<V>* operator->() const { return pd_; }
  RealPollDesc<V>* get() const { return pd_; }

 private:
  RealServer<V>& server_;
  RealPollDesc<V>* const pd_;
};

// A server whose descriptors are registered with a running epoll poller (the
// Fd facade's real setting). The poller starts in the constructor: in
// kDedicatedThread mode its thread inherits the calling thread's CPU mask; in
// kWaiterPolls mode the benchmark's own waiters poll (issue #17). It stops
// before the server goes.
template <class V>
struct PolledServer {
  RealPoller<V> poller;
  RealServer<V> server{&poller};
  PollerMode mode;
  explicit PolledServer(PollerMode want = PollerMode::kDedicatedThread) {
    poller.Attach(&server);
    mode = poller.Start(want);
  }
  ~PolledServer() { poller.Stop(); }
  PolledServer(const PolledServer&) = delete;
  PolledServer& operator=(const PolledServer&) = delete;
};

// Both ends of a non-blocking pipe, each behind the Fd facade of `server`;
// closed (unblock, pollClose, close) when it goes.
template <class V>
struct FdPipe {
  std::unique_ptr<RealFd<V>> r, w;
  explicit FdPipe(RealServer<V>& server) {
    int p[2];
    if (pipe2(p, O_NONBLOCK) != 0) return;
    r = RealFd<V>::Open(server, p[0], nullptr);
    w = RealFd<V>::Open(server, p[1], nullptr);
  }
  bool ok() const { return r != nullptr && w != nullptr; }
};

}  // namespace pollstorm::bench
