// bench/scaling_bench.cc: many descriptors and many threads, every variant.
//
//   BM_ReadyStorm<V>/waiters:K     1024 descriptors shared out among K waiter
//       threads (descriptor i belongs to waiter i % K, which waits on its
//       descriptors in turn). One iteration is one storm: the main thread (in
//       the poller's role) readies all 1024, then waits until every waiter
//       has consumed its share. A waiter that is behind consumes READY
//       without parking; one that is ahead is parked and woken.
//   BM_FanOutPingPong<V>/partners:N   N partner threads, each with its own
//       request and reply descriptor. One iteration: the main thread readies
//       every request, then waits for every reply in order (N round trips).
//
// The figure is items_per_second (notifications or round trips); the
// report turns it into ns per item and sets each size against the smallest,
// and each variant against the others (the cost of the `fixed` audit).
// Unpinned only (placement:2): K and N go past the two CPUs on purpose.
#include <benchmark/benchmark.h>

#include <atomic>
#include <initializer_list>
#include <memory>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "polldesc/real.h"

namespace pollstorm {
namespace {

constexpr int kStormDescriptors = 1024;

// The descriptors of one benchmark, opened together and closed together.
template <class V>
class DescSet {
 public:
  DescSet(RealServer<V>& server, int n) {
    for (int i = 0; i < n; i++) {
      pds_.push_back(std::make_unique<bench::OpenDesc<V>>(server));
      (*pds_.back())->Reset(kModeRead);
    }
  }
  RealPollDesc<V>* operator[](int i) const { return pds_[i]->get(); }

 private:
  std::vector<std::unique_ptr<bench::OpenDesc<V>>> pds_;
};

template <class V>
void BM_ReadyStorm(benchmark::State& state) {
  const int waiters = static_cast<int>(state.range(0));
  bench::MainPlacement place(static_cast<int>(state.range(1)));
  RealServer<V> server;
  DescSet<V> pds(server, kStormDescriptors);
  std::atomic<bool> stop{false};
  std::atomic<int> left{0};  // waiters that have not finished this storm
  std::vector<std::thread> threads;
  for (int w = 0; w < waiters; w++) {
    threads.emplace_back([&, w] {
      place.PinPartner();
      for (;;) {
        for (int i = w; i < kStormDescriptors; i += waiters) {
          pds[i]->Wait(kModeRead);
          // Ready -> Wait orders the main thread's stop store before this load.
          if (stop.load(std::memory_order_relaxed)) return;
        }
        if (left.fetch_sub(1, std::memory_order_acq_rel) == 1) left.notify_one();
      }
    });
  }
  for (auto _ : state) {
    // The previous storm is complete (left == 0): no waiter touches left now.
    left.store(waiters, std::memory_order_relaxed);
    for (int i = 0; i < kStormDescriptors; i++) server.Ready(pds[i], kModeRead);
    for (int l = left.load(std::memory_order_acquire); l != 0;
         l = left.load(std::memory_order_acquire)) {
      left.wait(l, std::memory_order_acquire);
    }
  }
  stop.store(true, std::memory_order_relaxed);
  for (int i = 0; i < kStormDescriptors; i++) server.Ready(pds[i], kModeRead);
  for (auto& t : threads) t.join();
  state.SetItemsProcessed(state.iterations() * kStormDescriptors);
}

template <class V>
void BM_FanOutPingPong(benchmark::State& state) {
  const int partners = static_cast<int>(state.range(0));
  bench::MainPlacement place(static_cast<int>(state.range(1)));
  RealServer<V> server;
  DescSet<V> req(server, partners), rep(server, partners);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int p = 0; p < partners; p++) {
    threads.emplace_back([&, p] {
      place.PinPartner();
      for (;;) {
        req[p]->Wait(kModeRead);
        if (stop.load(std::memory_order_relaxed)) return;
        server.Ready(rep[p], kModeRead);
      }
    });
  }
  for (auto _ : state) {
    for (int p = 0; p < partners; p++) server.Ready(req[p], kModeRead);
    for (int p = 0; p < partners; p++) rep[p]->Wait(kModeRead);
  }
  stop.store(true, std::memory_order_relaxed);
  for (int p = 0; p < partners; p++) server.Ready(req[p], kModeRead);
  for (auto& t : threads) t.join();
  state.SetItemsProcessed(state.iterations() * partners);
}

// One run per size, unpinned (placement 2).
void Sizes(benchmark::internal::Benchmark* b, const char* arg, std::initializer_list<int64_t> ns) {
  b->ArgNames({arg, "placement"});
  for (int64_t n : ns) b->Args({n, 2});
  b->UseRealTime()->MeasureProcessCPUTime();
}
void StormSizes(benchmark::internal::Benchmark* b) {
  Sizes(b, "waiters", {1, 2, 8, 64});
}
void FanOutSizes(benchmark::internal::Benchmark* b) {
  Sizes(b, "partners", {1, 4, 16, 64});
}

BENCHMARK(BM_ReadyStorm<Fixed>)->Apply(StormSizes);
BENCHMARK(BM_ReadyStorm<Seed>)->Apply(StormSizes);
BENCHMARK(BM_ReadyStorm<Legacy>)->Apply(StormSizes);
BENCHMARK(BM_FanOutPingPong<Fixed>)->Apply(FanOutSizes);
BENCHMARK(BM_FanOutPingPong<Seed>)->Apply(FanOutSizes);
BENCHMARK(BM_FanOutPingPong<Legacy>)->Apply(FanOutSizes);

}  // namespace
}  // namespace pollstorm

BENCHMARK_MAIN();
