// bench/deadline_bench.cc: how late does a 100 us deadline wake its waiter?
// A pollDesc read deadline (timer thread -> netpolldeadlineimpl -> unpark)
// against a timed futex wait and a timerfd read, in the same run. Each
// benchmark reports the median and p99 lateness (ns past the deadline) as
// counters; the time per iteration is the whole wait. BM_Lateness_FdPipe is
// the like-for-like of Go's (bench/go/peer.go): a read deadline on an empty
// pipe through the Fd facade, as internal/poll does. Every waiter is unpinned.
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "bench/bench_util.h"
#include "polldesc/real.h"

namespace pollstorm {
namespace {

constexpr int64_t kDeadlineNs = 100000;

void Report(benchmark::State& state, std::vector<int64_t>& late) {
  if (late.empty()) return;
  std::sort(late.begin(), late.end());
  state.counters["late_median_ns"] = static_cast<double>(late[late.size() / 2]);
  state.counters["late_p99_ns"] = static_cast<double>(late[late.size() * 99 / 100]);
}

void BM_Lateness_TimedFutex(benchmark::State& state) {
  std::atomic<uint32_t> word{0};
  std::vector<int64_t> late;
  for (auto _ : state) {
    const int64_t start = RealEnv::Nanotime();
    timespec ts{0, kDeadlineNs};
    // Nobody wakes it: it returns at the timeout (or spuriously: loop).
    while (RealEnv::Nanotime() - start < kDeadlineNs) {
      const int64_t left = kDeadlineNs - (RealEnv::Nanotime() - start);
      ts.tv_nsec = left > 0 ? left : 1;
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, 0, &ts, nullptr,
              0);
    }
    late.push_back(RealEnv::Nanotime() - start - kDeadlineNs);
  }
  Report(state, late);
}

void BM_Lateness_Timerfd(benchmark::State& state) {
  const int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  std::vector<int64_t> late;
  for (auto _ : state) {
    const int64_t start = RealEnv::Nanotime();
    itimerspec its{};
    its.it_value.tv_nsec = kDeadlineNs;
    timerfd_settime(tfd, 0, &its, nullptr);
    uint64_t n;
    (void)read(tfd, &n, sizeof n);
    late.push_back(RealEnv::Nanotime() - start - kDeadlineNs);
  }
  close(tfd);
  Report(state, late);
}

template <class V>
void BM_Lateness_PollDesc(benchmark::State& state) {
  RealServer<V> server;
  auto* pd = server.Open(~uintptr_t{0}).first;
  std::vector<int64_t> late;
  for (auto _ : state) {
    const int64_t start = RealEnv::Nanotime();
    pd->SetDeadline(kDeadlineNs, kModeRead);
    const int r = pd->Wait(kModeRead);
    late.push_back(RealEnv::Nanotime() - start - kDeadlineNs);
    if (r != kPollErrTimeout) state.SkipWithError("wait did not time out");
    pd->SetDeadline(0, kModeRead);
  }
  pd->Unblock();
  server.Close(pd);
  Report(state, late);
}

// The same pipe read with a 100 us read deadline, through the Fd facade and
// the epoll poller: nothing is ever written, so every read times out.
template <class V>
void BM_Lateness_FdPipe(benchmark::State& state) {
  bench::PolledServer<V> ps;
  bench::FdPipe<V> pipe(ps.server);
  if (!pipe.ok()) {
    state.SkipWithError("pipe");
    return;
  }
  std::vector<int64_t> late;
  char c;
  for (auto _ : state) {
    const int64_t start = RealEnv::Nanotime();
    pipe.r->SetDeadline(kDeadlineNs, kModeRead);
    const IoResult res = pipe.r->Read(&c, 1);
    late.push_back(RealEnv::Nanotime() - start - kDeadlineNs);
    if (res.poll_err != kPollErrTimeout) state.SkipWithError("read did not time out");
  }
  Report(state, late);
}

#define LATENESS UseRealTime()->MeasureProcessCPUTime()->Iterations(2000)
BENCHMARK(BM_Lateness_TimedFutex)->LATENESS;
BENCHMARK(BM_Lateness_Timerfd)->LATENESS;
BENCHMARK(BM_Lateness_PollDesc<Fixed>)->LATENESS;
BENCHMARK(BM_Lateness_FdPipe<Fixed>)->LATENESS;

}  // namespace
}  // namespace pollstorm

BENCHMARK_MAIN();
