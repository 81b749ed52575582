// bench/hotpath_bench.cc: the uncontended hot paths of each variant, against
// the two physical baselines they are built from (one uncontended CAS, one
// seq_cst store), measured in the same binary and run. Quote ratios:
//   BM_Reset<V> / BM_Baseline_SeqCstStore, BM_ConsumeReady<V> / BM_Baseline_Cas.
#include <benchmark/benchmark.h>

#include <atomic>

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

template <class V>
struct Fixture {
  RealServer<V> server;
  RealPollDesc<V>* pd = server.Open(~uintptr_t{0}).first;
  ~Fixture() {
    pd->Unblock();
    server.Close(pd);
  }
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
    f.server.Ready(f.pd, kModeRead);
    benchmark::DoNotOptimize(f.pd->Wait(kModeRead));
  }
}

// netpollready with no waiter and READY already latched (coalesced).
template <class V>
void BM_ReadyCoalesced(benchmark::State& state) {
  Fixture<V> f;
  f.server.Ready(f.pd, kModeRead);
  for (auto _ : state) f.server.Ready(f.pd, kModeRead);
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

BENCHMARK(BM_Baseline_Cas);
BENCHMARK(BM_Baseline_SeqCstStore);
#define VARIANTS(B) BENCHMARK(B<Fixed>); BENCHMARK(B<Seed>); BENCHMARK(B<Legacy>)
VARIANTS(BM_Reset);
VARIANTS(BM_ConsumeReady);
VARIANTS(BM_ReadyCoalesced);
VARIANTS(BM_DeadlineAddDelete);
VARIANTS(BM_DeadlineModify);
VARIANTS(BM_OpenUnblockClose);

}  // namespace
}  // namespace pollstorm

BENCHMARK_MAIN();
