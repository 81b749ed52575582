// bench/pingpong_bench.cc: a park/unpark round trip through two PollDescs
// (Ready -> Wait on each side) against a raw futex ping-pong, std::atomic::wait
// and a condition variable; and a round trip through two real pipes (Fd facade
// + EpollPoller, with a poller thread or with the waiter polling, issue #17)
// against an eventfd+epoll ping-pong. All in the same run.
//
// Placement is an argument (bench_util.h), because on two vCPUs it changes
// results by an order of magnitude: 0 = every thread on CPU 0, 1 = main and
// partner on different CPUs, 2 = unpinned. The figure to quote is the ratio
// BM_PollDescPingPong / BM_FutexPingPong at equal placement. Real time is the
// time per round trip; CPU time is the whole process's (both threads, and the
// poller thread of the pipe benchmarks).
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "bench/bench_util.h"
#include "polldesc/real.h"

namespace pollstorm {
namespace {

// The baseline: the classic raw futex ping-pong. Each side sets the other's
// word and wakes it, then sleeps on its own word until it is set.
long Futex(std::atomic<uint32_t>* w, int op, uint32_t v) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(w), op, v, nullptr, nullptr, 0);
}
void FutexSignal(std::atomic<uint32_t>* w) {
  w->store(1, std::memory_order_release);
  Futex(w, FUTEX_WAKE_PRIVATE, 1);
}
void FutexAwait(std::atomic<uint32_t>* w) {
  while (w->exchange(0, std::memory_order_acquire) != 1) Futex(w, FUTEX_WAIT_PRIVATE, 0);
}

void BM_FutexPingPong(benchmark::State& state) {
  bench::MainPlacement place(static_cast<int>(state.range(0)));
  std::atomic<uint32_t> ping{0}, pong{0};
  std::atomic<bool> stop{false};
  std::thread partner([&] {
    place.PinPartner();
    for (;;) {
      FutexAwait(&ping);
      if (stop.load(std::memory_order_relaxed)) return;
      FutexSignal(&pong);
    }
  });
  for (auto _ : state) {
    FutexSignal(&ping);
    FutexAwait(&pong);
  }
  stop.store(true);
  FutexSignal(&ping);
  partner.join();
  state.SetItemsProcessed(state.iterations());
}

template <class V>
void BM_PollDescPingPong(benchmark::State& state) {
  bench::MainPlacement place(static_cast<int>(state.range(0)));
  RealServer<V> server;
  bench::OpenDesc<V> a(server);  // partner waits on a
  bench::OpenDesc<V> b(server);  // main waits on b
  std::atomic<bool> stop{false};
  a->Reset(kModeRead);
  b->Reset(kModeRead);
  std::thread partner([&] {
    place.PinPartner();
    for (;;) {
      a->Wait(kModeRead);
      if (stop.load(std::memory_order_relaxed)) return;
      server.Ready(b.get(), kModeRead);
    }
  });
  for (auto _ : state) {
    server.Ready(a.get(), kModeRead);
    b->Wait(kModeRead);
  }
  stop.store(true);
  server.Ready(a.get(), kModeRead);
  partner.join();
  state.SetItemsProcessed(state.iterations());
}

// Baseline: C++20 std::atomic::wait/notify (futex underneath on Linux).
void BM_AtomicWaitPingPong(benchmark::State& state) {
  bench::MainPlacement place(static_cast<int>(state.range(0)));
  std::atomic<uint32_t> turn{0};  // 0: main's turn to send, 1: partner's, 2: stop
  std::thread partner([&] {
    place.PinPartner();
    for (;;) {
      turn.wait(0, std::memory_order_acquire);
      if (turn.load(std::memory_order_acquire) == 2) return;
      turn.store(0, std::memory_order_release);
      turn.notify_one();
    }
  });
  for (auto _ : state) {
    turn.store(1, std::memory_order_release);
    turn.notify_one();
    turn.wait(1, std::memory_order_acquire);
  }
  turn.store(2);
  turn.notify_one();
  partner.join();
  state.SetItemsProcessed(state.iterations());
}

// Baseline: mutex + condition_variable.
void BM_CondVarPingPong(benchmark::State& state) {
  bench::MainPlacement place(static_cast<int>(state.range(0)));
  std::mutex mu;
  std::condition_variable cv;
  int turn = 0;  // guarded by mu
  bool stop = false;
  std::thread partner([&] {
    place.PinPartner();
    std::unique_lock<std::mutex> l(mu);
    for (;;) {
      cv.wait(l, [&] { return turn == 1 || stop; });
      if (stop) return;
      turn = 0;
      cv.notify_one();
    }
  });
  for (auto _ : state) {
    std::unique_lock<std::mutex> l(mu);
    turn = 1;
    cv.notify_one();
    cv.wait(l, [&] { return turn == 0; });
  }
  {
    std::lock_guard<std::mutex> l(mu);
    stop = true;
  }
  cv.notify_one();
  partner.join();
  state.SetItemsProcessed(state.iterations());
}

// Baseline for the pipe round trip: eventfd + epoll, each side blocking in
// its own epoll_wait (what a C event loop does without a runtime).
void BM_EventfdEpollPingPong(benchmark::State& state) {
  bench::MainPlacement place(static_cast<int>(state.range(0)));
  const int to_partner = eventfd(0, EFD_NONBLOCK), to_main = eventfd(0, EFD_NONBLOCK);
  const int ep_partner = epoll_create1(0), ep_main = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  epoll_ctl(ep_partner, EPOLL_CTL_ADD, to_partner, &ev);
  epoll_ctl(ep_main, EPOLL_CTL_ADD, to_main, &ev);
  auto recv = [](int ep, int fd) {
    uint64_t v;
    while (read(fd, &v, sizeof v) != sizeof v) {
      epoll_event e;
      epoll_wait(ep, &e, 1, -1);
    }
    return v;
  };
  auto send = [](int fd, uint64_t v) { (void)write(fd, &v, sizeof v); };
  std::thread partner([&] {
    place.PinPartner();
    while (recv(ep_partner, to_partner) == 1) send(to_main, 1);
  });
  for (auto _ : state) {
    send(to_partner, 1);
    recv(ep_main, to_main);
  }
  send(to_partner, 2);
  partner.join();
  for (int fd : {to_partner, to_main, ep_partner, ep_main}) close(fd);
  state.SetItemsProcessed(state.iterations());
}

// The pollDesc round trip through real pipes: Fd facade reads/writes, the
// EpollPoller thread delivering edge-triggered readiness (Go's pipe ping-pong;
// bench/go/peer.go runs the same thing through Go's own netpoller). The
// poller starts after the main thread is placed and inherits its CPU mask.
template <class V>
void PipePingPong(benchmark::State& state, PollerMode mode) {
  bench::MainPlacement place(static_cast<int>(state.range(0)));
  bench::PolledServer<V> ps(mode);
  if (ps.mode != mode) {
    state.SkipWithError("the waiter-poller slot is taken");
    return;
  }
  bench::FdPipe<V> there(ps.server), back(ps.server);
  if (!there.ok() || !back.ok()) {
    state.SkipWithError("pipe");
    return;
  }
  const WaiterPollStats before = RealEnv::GetWaiterPollStats();
  std::thread partner([&] {
    place.PinPartner();
    char c;
    while (there.r->Read(&c, 1).n == 1 && c == 'p') back.w->Write(&c, 1);
  });
  char c = 'p';
  for (auto _ : state) {
    there.w->Write(&c, 1);
    back.r->Read(&c, 1);
  }
  c = 'q';
  there.w->Write(&c, 1);
  partner.join();
  state.SetItemsProcessed(state.iterations());
  if (mode == PollerMode::kWaiterPolls) {
    // Per round trip (two waits): how the waits ended, to read the figure by.
    const WaiterPollStats after = RealEnv::GetWaiterPollStats();
    const double n = static_cast<double>(state.iterations());
    state.counters["own_wakes"] = static_cast<double>(after.own_wakes - before.own_wakes) / n;
    state.counters["handoffs"] = static_cast<double>(after.handoffs - before.handoffs) / n;
  }
}

template <class V>
void BM_PipePingPong(benchmark::State& state) {
  PipePingPong<V>(state, PollerMode::kDedicatedThread);
}

// The same with the waiter polling (issue #17): no poller thread; a reader
// about to park blocks in epoll_wait itself, or parks as a candidate.
template <class V>
void BM_PipePingPongWaiterPolls(benchmark::State& state) {
  PipePingPong<V>(state, PollerMode::kWaiterPolls);
}

#define PLACEMENTS \
  ArgName("placement")->Arg(0)->Arg(1)->Arg(2)->UseRealTime()->MeasureProcessCPUTime()
BENCHMARK(BM_FutexPingPong)->PLACEMENTS;
BENCHMARK(BM_PollDescPingPong<Fixed>)->PLACEMENTS;
BENCHMARK(BM_PollDescPingPong<Seed>)->PLACEMENTS;
BENCHMARK(BM_PollDescPingPong<Legacy>)->PLACEMENTS;
BENCHMARK(BM_PollDescPingPong<Tip>)->PLACEMENTS;
BENCHMARK(BM_AtomicWaitPingPong)->PLACEMENTS;
BENCHMARK(BM_CondVarPingPong)->PLACEMENTS;
BENCHMARK(BM_EventfdEpollPingPong)->PLACEMENTS;
BENCHMARK(BM_PipePingPong<Fixed>)->PLACEMENTS;
BENCHMARK(BM_PipePingPong<Tip>)->PLACEMENTS;
BENCHMARK(BM_PipePingPongWaiterPolls<Fixed>)->PLACEMENTS;
BENCHMARK(BM_PipePingPongWaiterPolls<Tip>)->PLACEMENTS;

}  // namespace
}  // namespace pollstorm

BENCHMARK_MAIN();
