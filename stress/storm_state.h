// stress/storm_state.h: the storm's state, shared by its parts (included only
// by storm_worker.cc, through the part headers):
//
//   constants     the bounds and sentinels the oracle's arithmetic uses
//   ThreadLog     each thread's ring of its last kRingSize events (for dumps)
//   PdState       oracle state per descriptor OBJECT (readiness, event errors)
//   Slot          one descriptor slot: the published pd, its incarnation, the
//                 caller contract's reference count, per-mode oracle state
//   Stats         counters for the summary line
//   Storm<V>      the storm; its members are defined in storm_generator.h
//                 (the threads' operations), storm_oracle.h (judging each
//                 result), storm_watchdog.h (wake obligations), storm_dump.h
//                 (what a finding carries) and storm_worker.cc (Run)
//
// The oracle's bookkeeping uses only relaxed atomics on purpose: TSan draws no
// happens-before edge through them, so it sees the port's races as they are.
// Compiler-only fences (atomic_signal_fence) keep the bookkeeping on its side
// of each call into the port.
// (Only the caller contract itself, the per-descriptor reference count that
// internal/poll's fdMutex provides, synchronises.) The timing inferences
// rely on the host keeping the order of these RMWs in real time, which x86-TSO
// and QEMU's TSO-on-x86 both do.
//
// Limits: at most kMaxPdObjects distinct descriptor objects per storm (the
// LIFO cache hands the same objects out again, so reopens add none); a
// thread's ring keeps its last kRingSize events.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "harness/findings/finding.h"
#include "harness/history/history.h"
#include "harness/oracle/known_bugs.h"
#include "polldesc/real.h"
#include "stress/storm.h"

namespace pollstorm::storm {
// Unnamed: these headers are parts of storm_worker.cc, its one translation
// unit; nothing here has external linkage.
namespace {

constexpr std::memory_order kRelaxed = std::memory_order_relaxed;
constexpr int kRingSize = 12;                 // recent events kept per thread
constexpr int64_t kNone = INT64_MAX;          // "no deadline in force"
constexpr int64_t kExpiredPast = INT64_MIN;   // a past deadline: expired at once
constexpr int64_t kAmbiguous = INT64_MIN + 1; // overlapping sets: order unknown, not judged
constexpr uint64_t kNotJudged = UINT64_MAX;   // a wait whose deadline cannot be judged
constexpr uint32_t kClosingBit = 1u << 30;    // in Slot::refs
constexpr int kLatencyBuckets = 24;           // log2(us) histogram

int64_t Now() { return RealEnv::Nanotime(); }

// SIGUSR1 from the supervisor (a finding with --stop-on-first, or the user's
// Ctrl-C): end the storm gracefully, with its drain and summary.
std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);
void OnStopSignal(int) { g_stop_requested.store(true, std::memory_order_relaxed); }

// ---- per-thread event rings (relaxed, for dumps) ----

struct Event {
  std::atomic<int64_t> t{0};
  std::atomic<uint64_t> packed{0};  // kind | desc << 8 | mode << 16 | result << 32 | valid << 40
  std::atomic<int64_t> arg{0};
};

struct ThreadLog {
  Event ring[kRingSize];
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> ops{0};
  std::atomic<bool> done{false};
  std::atomic<bool> reported_stuck{false};
  std::string role;

  void Record(ops::OpKind kind, int desc, int mode, int64_t arg, int result) {
    const uint64_t i = next.load(kRelaxed);
    Event& e = ring[i % kRingSize];
    e.t.store(Now(), kRelaxed);
    e.arg.store(arg, kRelaxed);
    e.packed.store(static_cast<uint64_t>(kind) | static_cast<uint64_t>(desc) << 8 |
                       static_cast<uint64_t>(mode) << 16 |
                       static_cast<uint64_t>(static_cast<uint8_t>(result)) << 32 | 1ull << 40,
                   kRelaxed);
    next.store(i + 1, kRelaxed);
    ops.fetch_add(1, kRelaxed);
  }
};

// result codes in the ring besides PollErr values
constexpr int kResPending = 200;  // op started, no result yet (a wait in progress)
constexpr int kResNone = 201;     // ops without a result

std::string ResultName(int r) {
  if (r == kResPending) return "... (in progress)";
  if (r == kResNone) return "";
  return std::string("-> ") + PollErrName(r);
}

// ---- per-descriptor oracle state ----

// Readiness is counted per descriptor OBJECT, not per slot: a notifier holding
// a stale pointer readies whatever incarnation (of whichever slot) the LIFO
// cache handed that object to next. That is Go's stale-event case and legal
// spurious readiness; counting per object explains it, and keeps the lost-
// wakeup argument exact (a ready counted on P was delivered to P).
struct ReadyCount {
  std::atomic<uint64_t> started{0};   // bumped before netpollready
  std::atomic<uint64_t> finished{0};  // bumped after netpollready + inject
  std::atomic<int64_t> finished_t{0};
};
struct PdState {
  std::atomic<const void*> pd{nullptr};
  ReadyCount ready[2];                // [0] = 'r', [1] = 'w'
  std::atomic<uint64_t> everr_on{0};  // everr(on) ops delivered to this object
};
constexpr int kMaxPdObjects = 128;

struct ModeState {
  // deadline sets of the current incarnation (setters hold a reference)
  std::atomic<uint64_t> dl_started{0};
  std::atomic<uint64_t> dl_finished{0};
  std::atomic<int64_t> dl_expiry{kNone};  // of the last finished set
  // the waiter in Wait, if any
  std::atomic<bool> token{false};  // the one-waiter-per-mode contract
  std::atomic<bool> active{false};
  std::atomic<uint64_t> wait_id{0};
  std::atomic<int64_t> wait_since{0};
  std::atomic<uint64_t> obl_base{0};  // ready started count when its Reset returned
  std::atomic<int> waiter_thread{-1};
  std::atomic<PdState*> waiter_pd{nullptr};
  // watchdog state (watchdog thread only)
  uint64_t wd_id = 0;
  int64_t wd_first_seen = 0;
  bool wd_reported = false;
};

template <class V>
struct Slot {
  std::atomic<RealPollDesc<V>*> pd{nullptr};  // release-published by the (re)opener
  std::atomic<uint64_t> key{0};               // its epoll user data (EventKey), published after pd
  std::atomic<uint64_t> inc{0};               // incarnation
  // The latest incarnation an everr(on) was attributed to (UINT64_MAX: none):
  // an event error belongs to the incarnation whose key the event carried.
  std::atomic<uint64_t> everr_inc{UINT64_MAX};
  std::atomic<uint32_t> refs{0};              // ops in flight | kClosingBit
  std::atomic<uint64_t> unblock_started_inc{UINT64_MAX};
  std::atomic<uint64_t> unblock_done_inc{UINT64_MAX};
  std::atomic<int64_t> unblock_done_t{0};
  std::atomic<int> rfd{-1}, wfd{-1};  // io profile: the pipe (wfd -1 once hung up)
  // io profile: wfd's writes and its close (the hang-up) take it, so a write
  // never reaches a reused fd number. The harness's lock, not the port's.
  std::mutex wfd_mu;
  // io profile, this incarnation: when the write end was closed (0: not),
  // when the pipe was last read empty by a drain (0: never).
  std::atomic<int64_t> hup_t{0}, drained_t{0};
  ModeState mode[2];                  // [0] = 'r', [1] = 'w'
};

int ModeIndex(int mode) { return mode == kModeRead ? 0 : 1; }

struct Stats {
  std::atomic<uint64_t> by_kind[ops::kNumOpKinds] = {};
  std::atomic<uint64_t> results[4] = {};
  std::atomic<uint64_t> wake_latency[kLatencyBuckets] = {};
  std::atomic<uint64_t> timeouts_judged{0}, timeouts_early{0};
  std::atomic<int64_t> timeout_late_max_ns{0};
  std::atomic<uint64_t> timeout_late_sum_us{0};
  std::atomic<uint64_t> waits_explained_by_inflight{0};
  // io profile: writers that found their pipe full and parked; reads that
  // returned end of file after a hang-up.
  std::atomic<uint64_t> pipe_full_waits{0}, eof_reads{0};
};

int Bucket(int64_t ns) {
  int64_t us = ns / 1000;
  int b = 0;
  while (us > 0 && b < kLatencyBuckets - 1) {
    us >>= 1;
    b++;
  }
  return b;
}

template <class V>
class Storm {
 public:
  using PD = RealPollDesc<V>;
  using Server = RealServer<V>;

  explicit Storm(const StormConfig& cfg)
      : cfg_(cfg), slots_(cfg.descriptors), logs_(cfg.threads + 2), hist_(cfg.threads + 2) {
    server_ = std::make_unique<Server>(cfg.profile->io ? static_cast<NetpollPlatform*>(&poller_)
                                                       : nullptr,
                                       CounterOrigin{cfg.fdseq_start, cfg.seq_start, cfg.seq_start});
    poller_.Attach(server_.get());
    for (int s = 0; s < cfg_.descriptors; s++) OpenSlot(s, cfg.threads);
    if (cfg_.profile->io) {
      const PollerMode want = cfg.waiter_polls ? PollerMode::kWaiterPolls : PollerMode::kDedicatedThread;
      if (poller_.Start(want) != want) RealEnv::Fatal("storm: the waiter-poller slot is taken");
    }
  }

  int Run();

 private:
  // ---- caller contract: internal/poll's reference count ----
  bool Acquire(Slot<V>& s) {
    uint32_t r = s.refs.load(std::memory_order_relaxed);
    for (;;) {
      if (r & kClosingBit) return false;
      // acquire: pairs with the reopener's release of refs, so the new
      // incarnation's pd is fully opened before this op touches it.
      if (s.refs.compare_exchange_weak(r, r + 1, std::memory_order_acquire)) return true;
    }
  }
  // release: pairs with the closer's acquire wait, so every op on the old
  // incarnation is done before pollClose (Go: fdMutex decref).
  void Release(Slot<V>& s) { s.refs.fetch_sub(1, std::memory_order_release); }

  void OpenSlot(int si, int self);
  // The oracle state of a descriptor object (registered when first opened,
  // before its pointer is published, so every reader finds it).
  PdState& StateOf(const PD* pd) {
    const int n = num_pds_.load(std::memory_order_relaxed);
    for (int i = 0; i < n; i++) {
      if (pd_states_[i].pd.load(kRelaxed) == pd) return pd_states_[i];
    }
    std::fprintf(stderr, "pollstorm: internal error: unregistered descriptor\n");
    std::_Exit(3);
  }
  bool Reopen(int si, int self, bool reopen);
  void WaiterLoop(int self, uint64_t seed);
  void ActorLoop(int self, uint64_t seed);
  void WatchdogLoop();
  void WaitOp(int self, int si, int mode, std::mt19937_64& rng);
  void SetDeadlineOp(int self, int si, int mode, int64_t d);
  void CheckResult(int self, int si, int mode, int err, uint64_t inc, PD* pd, uint64_t r_base,
                   uint64_t dl_s0, int64_t t_start, int64_t t_ret);
  void Report(Finding f, int si, int mode);
  // storm_history.h: each op's interval and result, per thread; the check.
  bool HistoryOn() const { return cfg_.history_ops > 0 && !cfg_.profile->io; }
  void Hist(int self, const PD* pd, history::Kind kind, int mode, int64_t inv, int64_t resp,
            int result = 0, int64_t arg = 0, uint64_t key = 0);
  std::string CheckHistory();
  std::string Dump(int si) const;
  std::string Repro() const;
  bool Stopping() const { return stop_.load(kRelaxed); }

  const StormConfig& cfg_;
  RealPoller<V> poller_;
  std::unique_ptr<Server> server_;
  std::vector<Slot<V>> slots_;
  std::vector<ThreadLog> logs_;
  struct HistRec {
    int obj;  // index into pd_states_
    history::Op op;
  };
  std::vector<std::vector<HistRec>> hist_;  // per thread (logs_'s indices), written by it alone
  PdState pd_states_[kMaxPdObjects];
  std::atomic<int> num_pds_{0};  // written only by openers, each holding its slot exclusively
  std::mutex register_mu_;       // openers of different slots register one at a time
  Stats stats_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> watchdog_stop_{false};
  std::atomic<uint64_t> findings_{0};
  std::atomic<uint64_t> wakes_{0};  // for --drop-wake
  std::atomic<uint64_t> stale_ready_dropped_{0};  // ready events the poll loop dropped (tip)
  std::mutex report_mu_;            // serialises finding output only
  int64_t start_ = Now();
};

}  // namespace
}  // namespace pollstorm::storm
