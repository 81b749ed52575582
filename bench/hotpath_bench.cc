// bench/hotpath_bench.cc: the uncontended hot paths of each variant, against
// the two physical baselines they are built from (one uncontended CAS, one
// seq_cst store), measured in the same binary and run. Quote ratios:
//   BM_Reset<V> / BM_Baseline_SeqCstStore, BM_ConsumeReady<V> / BM_Baseline_Cas.
// Deadline re-arms are also set against the kernel's own re-arm
// (BM_Baseline_TimerfdRearm: one timerfd_settime), and BM_FdDeadlineModify is
// the like-for-like of Go's SetReadDeadline (bench/go/peer.go): the Fd facade
// on a real pipe, not the bare pollDesc. Real time per operation; CPU time is
// the process's (the timer thread's share of a re-arm included).
#include <benchmark/benchmark.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>

#include "bench/bench_util.h"
#include "polldesc/real.h"

namespace pollstorm {
namespace {

void BM_Baseline_Cas(benchmark::State& state) {
  std::atomic<uintptr_t> w{0};
  uintptr_t v = 0;
  for (auto _ : state) {
    uintptr_t e = v;
    w.compare_exchange_strong(e, v + 1, std::memory_order_seq_cst);
    v++;
    benchmark::DoNotOptimize(w);
  }
}

void BM_Baseline_SeqCstStore(benchmark::State& state) {
  std::atomic<uintptr_t> w{0};
  uintptr_t v = 0;
  for (auto _ : state) {
    w.store(v++, std::memory_order_seq_cst);
    benchmark::DoNotOptimize(w);
  }
}

// The kernel's re-arm of a pending timer: what a C event loop pays to push a
// timerfd deadline forward.
void BM_Baseline_TimerfdRearm(benchmark::State& state) {
  const int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  if (tfd < 0) {
    state.SkipWithError("timerfd_create");
    return;
  }
  itimerspec its{};
  its.it_value.tv_sec = 3600;
  for (auto _ : state) {
    its.it_value.tv_nsec = (its.it_value.tv_nsec + 1) % 1000000000;
    timerfd_settime(tfd, 0, &its, nullptr);
  }
  close(tfd);
}

template <class V>
struct Fixture {
  RealServer<V> server;
  bench::OpenDesc<V> pd{server};
};

// pollReset with no error pending: three checkerr loads and one slot store.
template <class V>
void BM_Reset(benchmark::State& state) {
  Fixture<V> f;
  for (auto _ : state) benchmark::DoNotOptimize(f.pd->Reset(kModeRead));
}

// A pending READY consumed without parking: netpollready (nil -> READY) then
// pollWait (READY -> nil).
template <class V>
void BM_ConsumeReady(benchmark::State& state) {
  Fixture<V> f;
  for (auto _ : state) {
    f.server.Ready(f.pd.get(), kModeRead);
    benchmark::DoNotOptimize(f.pd->Wait(kModeRead));
  }
}

// netpollready with no waiter and READY already latched (coalesced).
template <class V>
void BM_ReadyCoalesced(benchmark::State& state) {
  Fixture<V> f;
  f.server.Ready(f.pd.get(), kModeRead);
  for (auto _ : state) f.server.Ready(f.pd.get(), kModeRead);
}

// setDeadline add + delete (arm a far timer, then clear it).
template <class V>
void BM_DeadlineAddDelete(benchmark::State& state) {
  Fixture<V> f;
  for (auto _ : state) {
    f.pd->SetDeadline(int64_t{3600} * 1000000000, kModeRead);
    f.pd->SetDeadline(0, kModeRead);
  }
}

// setDeadline modify: re-arm an armed timer (the internal/poll pattern of a
// deadline pushed forward before every read).
template <class V>
void BM_DeadlineModify(benchmark::State& state) {
  Fixture<V> f;
  int64_t d = int64_t{3600} * 1000000000;
  for (auto _ : state) f.pd->SetDeadline(d++, kModeRead);
}

// setDeadline modify through the Fd facade on a real pipe (no poller needed:
// the deadline never fires): internal/poll's SetReadDeadline, the figure to
// set against Go's.
template <class V>
void BM_FdDeadlineModify(benchmark::State& state) {
  RealServer<V> server;
  bench::FdPipe<V> pipe(server);
  if (!pipe.ok()) {
    state.SkipWithError("pipe");
    return;
  }
  int64_t d = int64_t{3600} * 1000000000;
  for (auto _ : state) pipe.r->SetDeadline(d++, kModeRead);
}

// A whole incarnation: pollOpen, pollUnblock, pollClose (LIFO reuse).
template <class V>
void BM_OpenUnblockClose(benchmark::State& state) {
  RealServer<V> server;
  for (auto _ : state) {
    auto* pd = server.Open(~uintptr_t{0}).first;
    pd->Unblock();
    server.Close(pd);
  }
}

#define TIMES UseRealTime()->MeasureProcessCPUTime()
BENCHMARK(BM_Baseline_Cas)->TIMES;
BENCHMARK(BM_Baseline_SeqCstStore)->TIMES;
BENCHMARK(BM_Baseline_TimerfdRearm)->TIMES;
#define VARIANTS(B)           \
  BENCHMARK(B<Fixed>)->TIMES; \
  BENCHMARK(B<Seed>)->TIMES;  \
  BENCHMARK(B<Legacy>)->TIMES; \
  BENCHMARK(B<Tip>)->TIMES
VARIANTS(BM_Reset);
VARIANTS(BM_ConsumeReady);
VARIANTS(BM_ReadyCoalesced);
VARIANTS(BM_DeadlineAddDelete);
VARIANTS(BM_DeadlineModify);
VARIANTS(BM_OpenUnblockClose);
BENCHMARK(BM_FdDeadlineModify<Fixed>)->TIMES;

}  // namespace
}  // namespace pollstorm

BENCHMARK_MAIN();
