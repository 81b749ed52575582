// stress/storm_worker.cc: one storm, in this process. Run starts the waiters,
// the actors (storm_generator.h) and the watchdog (storm_watchdog.h), prints
// progress, ends the storm at its duration or op budget, drains it (every
// descriptor unblocked; a thread that still does not finish is a lost
// wakeup, and the storm then exits without joining it) and prints the summary.
// The runtime's throws are reported with the event logs (storm_dump.h).
//
// The parts of the storm are headers of this one translation unit:
// storm_state.h (the state and the Storm class), storm_generator.h,
// storm_oracle.h, storm_watchdog.h, storm_dump.h.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "stress/storm_dump.h"
#include "stress/storm_generator.h"
#include "stress/storm_history.h"
#include "stress/storm_oracle.h"
#include "stress/storm_state.h"
#include "stress/storm_watchdog.h"

namespace pollstorm::storm {
namespace {

// The runtime's throw, captured: report it with the event logs, then abort.
std::atomic<void (*)(const char*)> g_throw_reporter{nullptr};
void OnFatal(const char* msg) {
  if (auto r = g_throw_reporter.load()) r(msg);
}

template <class V>
int Storm<V>::Run() {
  static Storm* self_for_throw = nullptr;
  self_for_throw = this;
  g_throw_reporter.store([](const char* msg) {
    Storm* st = self_for_throw;
    Finding f = MakeFinding("throw", msg, std::string("throw:") + msg);
    f.variant = std::string(V::kName);
    f.seed = st->cfg_.seed;
    f.after_s = (Now() - st->start_) / 1e9;
    f.repro = st->Repro();
    f.detail = st->Dump(-1);
    std::printf("FINDING\t%s\n", FindingToJson(f).c_str());
    std::fflush(stdout);
  });
  SetFatalHook(&OnFatal);
  signal(SIGUSR1, &OnStopSignal);

  const int waiters = std::max(1, cfg_.threads / 2);
  std::vector<std::thread> threads;
  std::seed_seq seq{cfg_.seed};
  std::vector<uint64_t> seeds(cfg_.threads);
  seq.generate(seeds.begin(), seeds.end());
  for (int t = 0; t < cfg_.threads; t++) {
    logs_[t].role = t < waiters ? "waiter" : "actor";
    if (t < waiters) {
      threads.emplace_back([this, t, s = seeds[t]] { WaiterLoop(t, s); });
    } else {
      threads.emplace_back([this, t, s = seeds[t]] { ActorLoop(t, s); });
    }
  }
  std::thread watchdog([this] { WatchdogLoop(); });

  const int64_t end = start_ + static_cast<int64_t>(cfg_.duration_s * 1e9);
  int64_t next_progress = start_ + int64_t{cfg_.progress_ms} * 1000000;
  auto total_ops = [&] {
    uint64_t n = 0;
    for (const auto& l : logs_) n += l.ops.load(kRelaxed);
    return n;
  };
  while (!Stopping() && !g_stop_requested.load(kRelaxed)) {
    const int64_t now = Now();
    if (now >= end || (cfg_.max_ops && total_ops() >= cfg_.max_ops)) break;
    if (now >= next_progress) {
      std::printf("PROGRESS\t%.3f\t%" PRIu64 "\t%" PRIu64 "\n", (now - start_) / 1e9, total_ops(),
                  findings_.load(kRelaxed));
      std::fflush(stdout);
      next_progress += int64_t{cfg_.progress_ms} * 1000000;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const double elapsed = (Now() - start_) / 1e9;
  const uint64_t ops_done = total_ops();
  stop_.store(true, kRelaxed);
  // Actors finish their current op (each is bounded), then the drain unblocks
  // every descriptor so parked waiters leave with closing. Every thread must
  // be done within the bound; a stuck one is a lost wakeup, and we then leave
  // without joining it.
  const int64_t actors_deadline = Now() + int64_t{cfg_.watchdog_ms} * 2000000;
  for (int t = waiters; t < cfg_.threads; t++) {
    while (!logs_[t].done.load(kRelaxed) && Now() < actors_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  const int main_log = cfg_.threads;
  logs_[main_log].role = "main (drain)";
  for (int si = 0; si < static_cast<int>(slots_.size()); si++) Reopen(si, main_log, false);
  const int64_t drain_deadline = Now() + int64_t{cfg_.watchdog_ms} * 1000000;
  bool stuck = false;
  for (int t = 0; t < cfg_.threads; t++) {
    while (!logs_[t].done.load(kRelaxed) && Now() < drain_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (!logs_[t].done.load(kRelaxed)) stuck = true;
  }
  watchdog_stop_.store(true, kRelaxed);
  watchdog.join();
  // Every descriptor unblocked, every thread gone: netpollWaiters must be 0
  // (harness/oracle/known_bugs.h: tip always; the seed's drift, #33624, only
  // when asked).
  // True quiescence first: the poller's last round and every deadline
  // callback applied their deltas (tip applies them after goready).
  if (!stuck && oracle::AccountingWaitsForCallbacks()) {
    if (cfg_.profile->io) poller_.Stop();
    server_->WaitCallbacksIdle();
  }
  const int32_t waiters_end = server_->Waiters();
  if (!stuck && oracle::AccountingChecked(V::kName) && waiters_end != 0) {
    Report(MakeFinding("waiter-accounting",
                       "netpollWaiters is " + std::to_string(waiters_end) +
                           " after the drain, with no waiter parked" +
                           (waiters_end > 0 ? " (a wake that never subtracted its waiter: the shape of Go #33624)"
                                            : " (negative)"),
                       "waiter-accounting:" + std::string(V::kName)),
           -1, 0);
  }
  if (stuck) {
    for (int t = 0; t < cfg_.threads; t++) {
      if (!logs_[t].done.load(kRelaxed) && !logs_[t].reported_stuck.load(kRelaxed)) {
        Report(MakeFinding("lost-wakeup",
                "thread " + std::to_string(t) +
                    " never left its operation after every descriptor was unblocked",
                "lost-wakeup:drain:" + std::string(V::kName)),
               -1, 0);
      }
    }
  }

  // Every thread left: join them (their history buffers are theirs until
  // then), and check the history. Stuck threads cannot be joined.
  std::string history_json = "null";
  if (!stuck) {
    for (auto& t : threads) t.join();
    threads.clear();
    history_json = CheckHistory();
  }

  // Summary (JSON), then leave. Stuck threads cannot be joined: _Exit.
  std::string j = "{\"variant\":\"" + std::string(V::kName) + "\",\"profile\":\"" +
                  cfg_.profile->name + "\",\"seed\":" + std::to_string(cfg_.seed) +
                  ",\"threads\":" + std::to_string(cfg_.threads) +
                  ",\"descriptors\":" + std::to_string(cfg_.descriptors) +
                  ",\"elapsed_s\":" + std::to_string(elapsed) +
                  ",\"ops\":" + std::to_string(ops_done) +
                  ",\"ops_per_s\":" + std::to_string(ops_done / std::max(elapsed, 1e-9)) +
                  ",\"waiters_end\":" + std::to_string(waiters_end) +
                  ",\"stale_ready_dropped\":" + std::to_string(stale_ready_dropped_.load(kRelaxed)) +
                  ",\"history\":" + history_json +
                  ",\"ops_by_kind\":{";
  for (int k = 0; k < ops::kNumOpKinds; k++) {
    j += std::string(k ? "," : "") + "\"" + ops::KindName(static_cast<ops::OpKind>(k)) +
         "\":" + std::to_string(stats_.by_kind[k].load(kRelaxed));
  }
  j += "},\"results\":{";
  for (int r = 0; r < 4; r++) {
    j += std::string(r ? "," : "") + "\"" + PollErrName(r) +
         "\":" + std::to_string(stats_.results[r].load(kRelaxed));
  }
  j += "},\"wake_latency_log2us\":[";
  for (int b = 0; b < kLatencyBuckets; b++) {
    j += std::string(b ? "," : "") + std::to_string(stats_.wake_latency[b].load(kRelaxed));
  }
  const uint64_t judged = stats_.timeouts_judged.load(kRelaxed);
  const uint64_t early = stats_.timeouts_early.load(kRelaxed);
  j += "],\"timeouts\":{\"judged\":" + std::to_string(judged) +
       ",\"early\":" + std::to_string(early) + ",\"late_mean_us\":" +
       std::to_string(judged > early ? stats_.timeout_late_sum_us.load(kRelaxed) / (judged - early)
                                     : 0) +
       ",\"late_max_us\":" + std::to_string(stats_.timeout_late_max_ns.load(kRelaxed) / 1000) +
       "},\"pipes\":{\"full_waits\":" + std::to_string(stats_.pipe_full_waits.load(kRelaxed)) +
       ",\"eof_reads\":" + std::to_string(stats_.eof_reads.load(kRelaxed)) +
       "},\"findings\":" + std::to_string(findings_.load(kRelaxed)) + "}";
  std::printf("SUMMARY\t%s\n", j.c_str());
  std::fflush(stdout);
  const int code = findings_.load(kRelaxed) ? 1 : 0;
  if (stuck) std::_Exit(code);
  if (cfg_.profile->io) poller_.Stop();
  for (auto& t : threads) t.join();
  return code;
}

}  // namespace

int RunStormWorker(const StormConfig& cfg) {
  int rc = 3;
  ForVariant(cfg.variant, [&](auto v) {
    using V = typename decltype(v)::type;
    auto storm = std::make_unique<Storm<V>>(cfg);
    rc = storm->Run();
    // Descriptors stay alive until here; destroying the server waits out
    // stale timer callbacks (see PollServer's destructor).
  });
  return rc;
}

}  // namespace pollstorm::storm
