// bench/pingpong_bench.cc: a park/unpark round trip through two PollDescs
// (Ready -> Wait on each side) against a raw futex ping-pong, in the same run.
//
// Placement is an argument, because on two vCPUs it changes results by an
// order of magnitude: 0 = both threads pinned to one CPU, 1 = pinned to
// different CPUs, 2 = unpinned. The figure to quote is the ratio
// BM_PollDescPingPong / BM_FutexPingPong at equal placement.
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "polldesc/real.h"

namespace pollstorm {
namespace {

void Pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % static_cast<int>(std::thread::hardware_concurrency()), &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}
// CPU for the main (0) or partner (1) thread under a placement.
int CpuFor(int placement, int who) {
  if (placement == 0) return 0;
  if (placement == 1) return who;
  return -1;
}
void Unpin() {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (unsigned i = 0; i < std::thread::hardware_concurrency(); i++) CPU_SET(i, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

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
  const int placement = static_cast<int>(state.range(0));
  std::atomic<uint32_t> ping{0}, pong{0};
  std::atomic<bool> stop{false};
  Pin(CpuFor(placement, 0));
  std::thread partner([&] {
    Pin(CpuFor(placement, 1));
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
  Unpin();
  state.SetItemsProcessed(state.iterations());
}

template <class V>
void BM_PollDescPingPong(benchmark::State& state) {
  const int placement = static_cast<int>(state.range(0));
  RealServer<V> server;
  auto* a = server.Open(~uintptr_t{0}).first;  // partner waits on a
  auto* b = server.Open(~uintptr_t{0}).first;  // main waits on b
  std::atomic<bool> stop{false};
  Pin(CpuFor(placement, 0));
  a->Reset(kModeRead);
  b->Reset(kModeRead);
  std::thread partner([&] {
    Pin(CpuFor(placement, 1));
    for (;;) {
      a->Wait(kModeRead);
      if (stop.load(std::memory_order_relaxed)) return;
      server.Ready(b, kModeRead);
    }
  });
  for (auto _ : state) {
    server.Ready(a, kModeRead);
    b->Wait(kModeRead);
  }
  stop.store(true);
  server.Ready(a, kModeRead);
  partner.join();
  Unpin();
  a->Unblock();
  server.Close(a);
  b->Unblock();
  server.Close(b);
  state.SetItemsProcessed(state.iterations());
}

#define PLACEMENTS ArgName("placement")->Arg(0)->Arg(1)->Arg(2)->UseRealTime()
BENCHMARK(BM_FutexPingPong)->PLACEMENTS;
BENCHMARK(BM_PollDescPingPong<Fixed>)->PLACEMENTS;
BENCHMARK(BM_PollDescPingPong<Seed>)->PLACEMENTS;
BENCHMARK(BM_PollDescPingPong<Legacy>)->PLACEMENTS;

}  // namespace
}  // namespace pollstorm

BENCHMARK_MAIN();
