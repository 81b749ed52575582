// stress/storm_worker.cc: one storm, in this process.
//
// Threads: half are waiters (Reset + Wait on a random descriptor and mode,
// holding that mode's waiter token: at most one waiter per descriptor and mode,
// as internal/poll guarantees), the rest are actors (ready, everr, deadline,
// reopen, io). A watchdog thread checks wake obligations; the main thread
// prints progress and ends the storm.
//
// The oracle's bookkeeping uses only relaxed atomics on purpose: TSan draws no
// happens-before edge through them, so it sees the port's races as they are.
// Compiler-only fences (atomic_signal_fence) keep the bookkeeping on its side
// of each call into the port.
// (Only the caller contract itself, the per-descriptor reference count that
// internal/poll's fdMutex provides, synchronises.) The timing inferences below
// rely on the host keeping the order of these RMWs in real time, which x86-TSO
// and QEMU's TSO-on-x86 both do.
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
#include "polldesc/real.h"
#include "stress/storm.h"

namespace pollstorm::storm {
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
  std::atomic<uint64_t> inc{0};               // incarnation
  std::atomic<uint32_t> refs{0};              // ops in flight | kClosingBit
  std::atomic<uint64_t> unblock_started_inc{UINT64_MAX};
  std::atomic<uint64_t> unblock_done_inc{UINT64_MAX};
  std::atomic<int64_t> unblock_done_t{0};
  std::atomic<int> rfd{-1}, wfd{-1};  // io profile: the pipe
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
      : cfg_(cfg), slots_(cfg.descriptors), logs_(cfg.threads + 2) {
    server_ = std::make_unique<Server>(cfg.profile->io ? static_cast<NetpollPlatform*>(&poller_)
                                                       : nullptr);
    poller_.Attach(server_.get());
    for (int s = 0; s < cfg_.descriptors; s++) OpenSlot(s);
    if (cfg_.profile->io) poller_.Start();
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

  void OpenSlot(int si);
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
  void CheckResult(int self, int si, int mode, int err, uint64_t inc, PD* pd, uint64_t r_base,
                   uint64_t dl_s0, int64_t t_start, int64_t t_ret);
  void Report(Finding f, int si, int mode);
  std::string Dump(int si) const;
  std::string Repro() const;
  bool Stopping() const { return stop_.load(kRelaxed); }

  const StormConfig& cfg_;
  RealPoller<V> poller_;
  std::unique_ptr<Server> server_;
  std::vector<Slot<V>> slots_;
  std::vector<ThreadLog> logs_;
  PdState pd_states_[kMaxPdObjects];
  std::atomic<int> num_pds_{0};  // written only by openers, each holding its slot exclusively
  std::mutex register_mu_;       // openers of different slots register one at a time
  Stats stats_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> watchdog_stop_{false};
  std::atomic<uint64_t> findings_{0};
  std::atomic<uint64_t> wakes_{0};  // for --drop-wake
  std::mutex report_mu_;            // serialises finding output only
  int64_t start_ = Now();
};

template <class V>
void Storm<V>::OpenSlot(int si) {
  Slot<V>& s = slots_[si];
  uintptr_t fd = ~uintptr_t{0};
  if (cfg_.profile->io) {
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
      std::perror("pollstorm: pipe2");
      std::_Exit(3);
    }
    s.rfd.store(p[0], kRelaxed);
    s.wfd.store(p[1], kRelaxed);
    fd = static_cast<uintptr_t>(p[0]);
  }
  auto [pd, err] = server_->Open(fd);
  if (pd == nullptr) {
    std::fprintf(stderr, "pollstorm: pollOpen failed: %s\n", std::strerror(err));
    std::_Exit(3);
  }
  for (auto& m : s.mode) {
    m.dl_expiry.store(kNone, kRelaxed);
  }
  {
    std::lock_guard<std::mutex> l(register_mu_);
    const int n = num_pds_.load(kRelaxed);
    bool known = false;
    for (int i = 0; i < n; i++) known |= pd_states_[i].pd.load(kRelaxed) == pd;
    if (!known) {
      if (n == kMaxPdObjects) {
        std::fprintf(stderr, "pollstorm: internal error: more than %d descriptor objects\n",
                     kMaxPdObjects);
        std::_Exit(3);
      }
      pd_states_[n].pd.store(pd, kRelaxed);
      num_pds_.store(n + 1, kRelaxed);
    }
  }
  s.pd.store(pd, std::memory_order_release);
}

// Unblock, wait for the ops in flight to leave, pollClose, and (if reopen)
// open the next incarnation. Returns false if another thread is closing it.
template <class V>
bool Storm<V>::Reopen(int si, int self, bool reopen) {
  Slot<V>& s = slots_[si];
  // acq_rel: acquire pairs with the ops' release in Release(); release makes
  // the closing bit visible before the Unblock below.
  const uint32_t prev = s.refs.fetch_or(kClosingBit, std::memory_order_acq_rel);
  if (prev & kClosingBit) return false;
  const uint64_t inc = s.inc.load(kRelaxed);
  PD* pd = s.pd.load(kRelaxed);
  logs_[self].Record(ops::OpKind::kUnblock, si, 0, 0, kResNone);
  s.unblock_started_inc.store(inc, kRelaxed);
  pd->Unblock();
  stats_.by_kind[static_cast<int>(ops::OpKind::kUnblock)].fetch_add(1, kRelaxed);
  s.unblock_done_t.store(Now(), kRelaxed);
  s.unblock_done_inc.store(inc, kRelaxed);
  if (!reopen) return true;  // the end-of-storm drain: the slot stays closing
  // Wait for the waiters to leave. A waiter that never leaves is the
  // watchdog's to report; give up after the bound so this thread stays live.
  const int64_t give_up = Now() + int64_t{cfg_.watchdog_ms} * 2000000;
  while (s.refs.load(std::memory_order_acquire) != kClosingBit) {
    if (Now() > give_up) return true;  // the slot stays closing; the watchdog reports
    std::this_thread::yield();
  }
  logs_[self].Record(ops::OpKind::kClose, si, 0, 0, kResNone);
  server_->Close(pd);
  stats_.by_kind[static_cast<int>(ops::OpKind::kClose)].fetch_add(1, kRelaxed);
  if (cfg_.profile->io) {
    close(s.rfd.load(kRelaxed));
    close(s.wfd.load(kRelaxed));
  }
  s.inc.store(inc + 1, kRelaxed);
  OpenSlot(si);
  logs_[self].Record(ops::OpKind::kOpen, si, 0, 0, kResNone);
  stats_.by_kind[static_cast<int>(ops::OpKind::kOpen)].fetch_add(1, kRelaxed);
  s.refs.store(0, std::memory_order_release);  // pairs with Acquire's acquire
  return true;
}

template <class V>
void Storm<V>::WaitOp(int self, int si, int mode, std::mt19937_64& rng) {
  Slot<V>& s = slots_[si];
  ModeState& m = s.mode[ModeIndex(mode)];
  if (!Acquire(s)) return;
  bool expected = false;
  // relaxed: the token is only the storm's own contract check; the waiter's
  // pollDesc accesses are what TSan must judge.
  if (!m.token.compare_exchange_strong(expected, true, kRelaxed)) {
    Release(s);
    return;
  }
  PD* pd = s.pd.load(kRelaxed);  // stable while we hold a reference
  const uint64_t inc = s.inc.load(kRelaxed);
  ThreadLog& log = logs_[self];
  const bool io = cfg_.profile->io && mode == kModeRead;
  ReadyCount& rc = StateOf(pd).ready[ModeIndex(mode)];
  m.waiter_pd.store(&StateOf(pd), kRelaxed);
  const uint64_t r_base = rc.finished.load(kRelaxed);
  // A deadline set in flight when the wait begins may land before or after
  // the waiter reads the state: such waits are not judged (kNotJudged).
  const uint64_t dl_f0 = m.dl_finished.load(kRelaxed);
  const uint64_t dl_s0_raw = m.dl_started.load(kRelaxed);
  const uint64_t dl_s0 = dl_s0_raw == dl_f0 ? dl_s0_raw : kNotJudged;
  const int64_t t_start = Now();
  std::atomic_signal_fence(std::memory_order_seq_cst);
  int err = pd->Reset(mode);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  log.Record(ops::OpKind::kReset, si, mode, 0, err);
  stats_.by_kind[static_cast<int>(ops::OpKind::kReset)].fetch_add(1, kRelaxed);
  if (err != kPollNoError) {
    CheckResult(self, si, mode, err, inc, pd, r_base, dl_s0, t_start, Now());
  } else {
    for (;;) {
      if (io) {
        char buf[64];
        const ssize_t n = read(s.rfd.load(kRelaxed), buf, sizeof buf);
        if (n > 0) break;  // consumed real data
      }
      m.obl_base.store(rc.started.load(kRelaxed), kRelaxed);
      m.wait_since.store(Now(), kRelaxed);
      m.waiter_thread.store(self, kRelaxed);
      m.wait_id.fetch_add(1, kRelaxed);
      m.active.store(true, kRelaxed);
      log.Record(ops::OpKind::kWait, si, mode, 0, kResPending);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      err = pd->Wait(mode);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      const int64_t t_ret = Now();
      m.active.store(false, kRelaxed);
      log.Record(ops::OpKind::kWait, si, mode, 0, err);
      stats_.by_kind[static_cast<int>(ops::OpKind::kWait)].fetch_add(1, kRelaxed);
      if (!io || err != kPollNoError) {
        CheckResult(self, si, mode, err, inc, pd, r_base, dl_s0, t_start, t_ret);
      }
      if (!io || err != kPollNoError || Stopping()) break;
      // io: a successful wait may be spurious (EAGAIN again is legal); loop.
    }
  }
  (void)rng;
  m.token.store(false, kRelaxed);
  Release(s);
}

// The online oracle: every result must be explained.
template <class V>
void Storm<V>::CheckResult(int self, int si, int mode, int err, uint64_t inc, PD* pd, uint64_t r_base,
                           uint64_t dl_s0, int64_t t_start, int64_t t_ret) {
  Slot<V>& s = slots_[si];
  ModeState& m = s.mode[ModeIndex(mode)];
  PdState& ps = StateOf(pd);
  ReadyCount& rc = ps.ready[ModeIndex(mode)];
  stats_.results[err & 3].fetch_add(1, kRelaxed);
  const std::string where = "d" + std::to_string(si) + " " + ops::ModeName(mode) +
                            " (incarnation " + std::to_string(inc) + ", thread " +
                            std::to_string(self) + ")";
  switch (err) {
    case kPollNoError: {
      // ok needs a ready that had not finished before our Reset began (any
      // incarnation: a stale notification is legal spurious readiness).
      if (rc.started.load(kRelaxed) <= r_base) {
        Report(MakeFinding("unexplained-ready", "wait returned ready with no notification since its reset " +
                                         where,
                "unexplained-ready:" + std::string(V::kName)),
               si, mode);
      }
      const int64_t rt = rc.finished_t.load(kRelaxed);
      if (rt > t_start && t_ret >= rt) stats_.wake_latency[Bucket(t_ret - rt)].fetch_add(1, kRelaxed);
      break;
    }
    case kPollErrClosing:
      if (s.unblock_started_inc.load(kRelaxed) != inc) {
        Report(MakeFinding("unexplained-closing", "closing returned before unblock began on " + where,
                "unexplained-closing:" + std::string(V::kName)),
               si, mode);
      } else {
        const int64_t ut = s.unblock_done_t.load(kRelaxed);
        if (ut > t_start && t_ret >= ut) stats_.wake_latency[Bucket(t_ret - ut)].fetch_add(1, kRelaxed);
      }
      break;
    case kPollErrTimeout: {
      // Judge only if no deadline set ran during the wait.
      // Seqlock-style: the expiry is the one in force during the wait only if
      // no set took a ticket from before the wait until after we read it.
      const uint64_t st = m.dl_started.load(kRelaxed);
      const uint64_t fin = m.dl_finished.load(kRelaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      const int64_t expiry = m.dl_expiry.load(kRelaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      if (dl_s0 == kNotJudged || st != dl_s0 || fin != st ||
          m.dl_started.load(kRelaxed) != st || expiry == kAmbiguous) {
        break;
      }
      stats_.timeouts_judged.fetch_add(1, kRelaxed);
      if (expiry == kNone) {
        stats_.timeouts_early.fetch_add(1, kRelaxed);
        Report(MakeFinding("early-timeout", "timeout with no deadline in force on " + where +
                                     " (a previous incarnation's or a stale timer?)",
                "early-timeout:no-deadline:" + std::string(V::kName)),
               si, mode);
      } else if (expiry != kExpiredPast && expiry > t_ret) {
        stats_.timeouts_early.fetch_add(1, kRelaxed);
        Report(MakeFinding("early-timeout", "timeout " + std::to_string((expiry - t_ret) / 1000) +
                                     " us before the deadline in force on " + where,
                "early-timeout:early:" + std::string(V::kName)),
               si, mode);
      } else if (expiry != kExpiredPast) {
        const int64_t late = t_ret - expiry;
        stats_.timeout_late_sum_us.fetch_add(static_cast<uint64_t>(late / 1000), kRelaxed);
        int64_t mx = stats_.timeout_late_max_ns.load(kRelaxed);
        while (late > mx && !stats_.timeout_late_max_ns.compare_exchange_weak(mx, late, kRelaxed)) {
        }
      }
      break;
    }
    case kPollErrNotPollable:
      if (mode != kModeRead || ps.everr_on.load(kRelaxed) == 0) {
        Report(MakeFinding("unexplained-notpollable", "event error reported without EPOLLERR on " + where,
                "unexplained-notpollable:" + std::string(V::kName)),
               si, mode);
      }
      break;
    default:
      Report(MakeFinding("bad-result", "unknown result " + std::to_string(err) + " on " + where,
              "bad-result:" + std::string(V::kName)),
             si, mode);
  }
}

template <class V>
void Storm<V>::ActorLoop(int self, uint64_t seed) {
  std::mt19937_64 rng(seed);
  ThreadLog& log = logs_[self];
  int total = 0;
  for (int w : cfg_.weights) total += w;
  while (!Stopping()) {
    int pick = static_cast<int>(rng() % static_cast<uint64_t>(total));
    int op = 0;
    while (pick >= cfg_.weights[op]) pick -= cfg_.weights[op++];
    const int si = static_cast<int>(rng() % slots_.size());
    Slot<V>& s = slots_[si];
    switch (op) {
      case kActReady: {
        const int modes[3] = {kModeRead, kModeWrite, kModeReadWrite};
        const int mode = modes[rng() % 3];
        if (cfg_.profile->io && mode != kModeWrite) break;  // io reads get epoll edges only
        // acquire: the pd was published by Open with release; Go gets this
        // edge from the epoll registration syscall.
        PD* pd = s.pd.load(std::memory_order_acquire);
        PdState& ps = StateOf(pd);
        if (mode != kModeWrite) ps.ready[0].started.fetch_add(1, kRelaxed);
        if (mode != kModeRead) ps.ready[1].started.fetch_add(1, kRelaxed);
        GList<typename PD::G> list;
        std::atomic_signal_fence(std::memory_order_seq_cst);
        pd->NetpollReady(list, mode);
        if (list.n > 0 && cfg_.drop_wake != 0 &&
            wakes_.fetch_add(1, kRelaxed) + 1 == cfg_.drop_wake) {
          list.n = 0;  // injected fault: the taken G is never made runnable
        }
        server_->Inject(list);
        std::atomic_signal_fence(std::memory_order_seq_cst);
        const int64_t t = Now();
        for (int i = 0; i < 2; i++) {
          if ((i == 0 && mode == kModeWrite) || (i == 1 && mode == kModeRead)) continue;
          ps.ready[i].finished_t.store(t, kRelaxed);
          ps.ready[i].finished.fetch_add(1, kRelaxed);
        }
        log.Record(ops::OpKind::kReady, si, mode, 0, kResNone);
        stats_.by_kind[static_cast<int>(ops::OpKind::kReady)].fetch_add(1, kRelaxed);
        break;
      }
      case kActEventErr: {
        const bool on = rng() % 4 == 0;
        PD* pd = s.pd.load(std::memory_order_acquire);
        if (on) StateOf(pd).everr_on.fetch_add(1, kRelaxed);
        pd->SetEventErr(on);
        log.Record(ops::OpKind::kEventErr, si, 0, on, kResNone);
        stats_.by_kind[static_cast<int>(ops::OpKind::kEventErr)].fetch_add(1, kRelaxed);
        break;
      }
      case kActDeadline: {
        if (!Acquire(s)) break;
        const int modes[3] = {kModeRead, kModeWrite, kModeReadWrite};
        const int mode = modes[rng() % 3];
        int64_t d;
        // The extremes too (issue 15): 1 ns, and INT64_MAX, whose now + d
        // overflows and saturates (Go: `if d <= 0 { d = 1<<63 - 1 }`).
        switch (rng() % 8) {
          case 0: d = ops::kDeadlinePast; break;
          case 1: d = ops::kDeadlineZero; break;
          case 2: d = ops::kDeadlineFar; break;
          case 3: d = 1; break;
          case 4: d = INT64_MAX; break;
          default: d = 1000 + static_cast<int64_t>(rng() % 2000000); break;  // 1 us .. 2 ms
        }
        ModeState* ms[2] = {mode != kModeWrite ? &s.mode[0] : nullptr,
                            mode != kModeRead ? &s.mode[1] : nullptr};
        // A set that overlapped another set of the same mode leaves the
        // deadline in force unknown to the oracle (the port applied them in
        // an order we cannot see): it records kAmbiguous, and timeouts are
        // not judged until a clean set follows.
        uint64_t my[2] = {0, 0};
        bool clean[2] = {true, true};
        // Clean = every earlier set had finished when this one took its
        // ticket, and no later one took a ticket before this one finished.
        for (int i = 0; i < 2; i++) {
          if (!ms[i]) continue;
          my[i] = ms[i]->dl_started.fetch_add(1, kRelaxed);
          clean[i] = ms[i]->dl_finished.load(kRelaxed) == my[i];
        }
        const int64_t before = Now();
        std::atomic_signal_fence(std::memory_order_seq_cst);
        s.pd.load(kRelaxed)->SetDeadline(d, mode);
        std::atomic_signal_fence(std::memory_order_seq_cst);
        // The port computes now + d with a later now; before + d is a lower
        // bound, so "early" judged against it is never a false alarm.
        int64_t expiry = d < 0 ? kExpiredPast : d == 0 ? kNone : 0;
        if (d > 0 && __builtin_add_overflow(before, d, &expiry)) expiry = INT64_MAX;
        for (int i = 0; i < 2; i++) {
          ModeState* m = ms[i];
          if (!m) continue;
          if (m->dl_started.load(kRelaxed) != my[i] + 1) clean[i] = false;
          m->dl_expiry.store(clean[i] ? expiry : kAmbiguous, kRelaxed);
          // A later set may have taken its ticket (and even recorded) while
          // this one was between its check and its store: then the record
          // may be stale, and is made ambiguous.
          if (m->dl_started.load(kRelaxed) != my[i] + 1) m->dl_expiry.store(kAmbiguous, kRelaxed);
          m->dl_finished.fetch_add(1, kRelaxed);
        }
        log.Record(ops::OpKind::kDeadline, si, mode, d, kResNone);
        stats_.by_kind[static_cast<int>(ops::OpKind::kDeadline)].fetch_add(1, kRelaxed);
        Release(s);
        break;
      }
      case kActReopen:
        Reopen(si, self, true);
        break;
      case kActIo: {
        if (!Acquire(s)) break;  // the fd must stay open while we write
        const char b = 'x';
        const ssize_t n = write(s.wfd.load(kRelaxed), &b, 1);
        (void)n;  // EAGAIN on a full pipe is fine: it is readable anyway
        log.Record(ops::OpKind::kIo, si, 0, 0, kResNone);
        stats_.by_kind[static_cast<int>(ops::OpKind::kIo)].fetch_add(1, kRelaxed);
        Release(s);
        break;
      }
    }
    if (rng() % 8 == 0) std::this_thread::yield();
  }
  log.done.store(true, kRelaxed);
}

template <class V>
void Storm<V>::WaiterLoop(int self, uint64_t seed) {
  std::mt19937_64 rng(seed);
  while (!Stopping()) {
    const int si = static_cast<int>(rng() % slots_.size());
    const int mode = rng() % 2 ? kModeRead : kModeWrite;
    WaitOp(self, si, mode, rng);
    std::this_thread::yield();
  }
  logs_[self].done.store(true, kRelaxed);
}

// Wake obligations: once a ready finished after the waiter's reset, its
// incarnation was unblocked, or its deadline expired, a waiter still in the
// same Wait one bound later is a lost wakeup.
template <class V>
void Storm<V>::WatchdogLoop() {
  const int64_t bound = int64_t{cfg_.watchdog_ms} * 1000000;
  while (!watchdog_stop_.load(kRelaxed)) {
    const int64_t now = Now();
    for (int si = 0; si < static_cast<int>(slots_.size()); si++) {
      Slot<V>& s = slots_[si];
      for (int mi = 0; mi < 2; mi++) {
        ModeState& m = s.mode[mi];
        if (!m.active.load(kRelaxed)) continue;
        const uint64_t id = m.wait_id.load(kRelaxed);
        const uint64_t inc = s.inc.load(kRelaxed);
        std::string why;
        const bool io = cfg_.profile->io && mi == 0;
        PdState* wps = m.waiter_pd.load(kRelaxed);
        if (!io && wps && wps->ready[mi].finished.load(kRelaxed) > m.obl_base.load(kRelaxed)) {
          why = "a ready finished after its reset";
        } else if (s.unblock_done_inc.load(kRelaxed) == inc) {
          why = "its incarnation was unblocked";
        } else if (m.dl_started.load(kRelaxed) == m.dl_finished.load(kRelaxed) &&
                   m.dl_expiry.load(kRelaxed) != kNone &&
                   m.dl_expiry.load(kRelaxed) != kAmbiguous && m.dl_expiry.load(kRelaxed) < now) {
          why = "its deadline expired";
        } else if (io) {
          int avail = 0;
          if (ioctl(s.rfd.load(kRelaxed), FIONREAD, &avail) == 0 && avail > 0) {
            why = "its pipe holds " + std::to_string(avail) + " unread bytes";
          }
        }
        if (why.empty()) {
          m.wd_id = 0;
          continue;
        }
        if (m.wd_id != id) {
          m.wd_id = id;
          m.wd_first_seen = now;
          m.wd_reported = false;
          continue;
        }
        if (m.wd_reported || now - m.wd_first_seen < bound) continue;
        if (!m.active.load(kRelaxed) || m.wait_id.load(kRelaxed) != id) continue;
        m.wd_reported = true;
        const int t = m.waiter_thread.load(kRelaxed);
        if (t >= 0) logs_[t].reported_stuck.store(true, kRelaxed);
        const int mode = mi == 0 ? kModeRead : kModeWrite;
        Report(MakeFinding("lost-wakeup",
                "waiter (thread " + std::to_string(t) + ") still parked on d" +
                    std::to_string(si) + " " + ops::ModeName(mode) + " " +
                    std::to_string((now - m.wait_since.load(kRelaxed)) / 1000000) +
                    " ms into its wait, although " + why + " " +
                    std::to_string((now - m.wd_first_seen) / 1000000) + "+ ms ago",
                "lost-wakeup:" + std::string(V::kName) + ":" + (io ? "io" : "mem")),
               si, mode);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

template <class V>
std::string Storm<V>::Dump(int si) const {
  std::string o;
  char buf[256];
  if (si >= 0) {
    const Slot<V>& s = slots_[si];
    const auto st = s.pd.load(kRelaxed)->DebugSnapshot();
    auto slot_name = [](uintptr_t v) {
      return v == kPdNil ? std::string("nil") : v == kPdReady ? std::string("READY")
             : v == kPdWait ? std::string("WAIT") : std::string("G");
    };
    std::snprintf(buf, sizeof buf,
                  "descriptor d%d (incarnation %" PRIu64 "): rg=%s wg=%s closing=%d everr=%d "
                  "rd=%" PRId64 " wd=%" PRId64 " rseq=%" PRIuPTR " wseq=%" PRIuPTR
                  " rt_armed=%d wt_armed=%d",
                  si, s.inc.load(kRelaxed), slot_name(st.rg).c_str(), slot_name(st.wg).c_str(),
                  st.closing, st.everr, st.rd, st.wd, st.rseq, st.wseq, st.rt_armed,
                  st.wt_armed);
    o += buf;
    o += "\n";
  }
  o += "recent events per thread (oldest first; times relative to the dump):\n";
  const int64_t now = Now();
  for (size_t t = 0; t < logs_.size(); t++) {
    const ThreadLog& l = logs_[t];
    const uint64_t n = l.next.load(kRelaxed);
    if (n == 0) continue;
    o += "thread " + std::to_string(t) + " (" + l.role + "):\n";
    for (uint64_t i = n > kRingSize ? n - kRingSize : 0; i < n; i++) {
      const Event& e = l.ring[i % kRingSize];
      const uint64_t p = e.packed.load(kRelaxed);
      if (!(p >> 40 & 1)) continue;
      ops::Op op;
      op.kind = static_cast<ops::OpKind>(p & 0xff);
      op.desc = static_cast<uint8_t>(p >> 8 & 0xff);
      op.mode = static_cast<int>(p >> 16 & 0xffff);
      if (op.mode == 0) op.mode = 'r';
      op.arg = e.arg.load(kRelaxed);
      std::snprintf(buf, sizeof buf, "  %10.3f ms  %-26s %s\n",
                    -(now - e.t.load(kRelaxed)) / 1e6, ops::FormatOp(op).c_str(),
                    ResultName(static_cast<int>(p >> 32 & 0xff)).c_str());
      o += buf;
    }
  }
  return o;
}

template <class V>
std::string Storm<V>::Repro() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "scripts/pollstorm storm --variant %s --seed %" PRIu64
                " --threads %d --descriptors %d --profile %s --duration %g",
                std::string(V::kName).c_str(), cfg_.seed, cfg_.threads, cfg_.descriptors,
                cfg_.profile->name, cfg_.duration_s);
  return buf;
}

template <class V>
void Storm<V>::Report(Finding f, int si, int mode) {
  (void)mode;
  f.variant = std::string(V::kName);
  f.seed = cfg_.seed;
  f.after_s = (Now() - start_) / 1e9;
  f.repro = Repro();
  f.detail = Dump(si);
  findings_.fetch_add(1, kRelaxed);
  std::lock_guard<std::mutex> l(report_mu_);
  std::printf("FINDING\t%s\n", FindingToJson(f).c_str());
  std::fflush(stdout);
  if (cfg_.stop_on_first) stop_.store(true, kRelaxed);
}

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

  // Summary (JSON), then leave. Stuck threads cannot be joined: _Exit.
  std::string j = "{\"variant\":\"" + std::string(V::kName) + "\",\"profile\":\"" +
                  cfg_.profile->name + "\",\"seed\":" + std::to_string(cfg_.seed) +
                  ",\"threads\":" + std::to_string(cfg_.threads) +
                  ",\"descriptors\":" + std::to_string(cfg_.descriptors) +
                  ",\"elapsed_s\":" + std::to_string(elapsed) +
                  ",\"ops\":" + std::to_string(ops_done) +
                  ",\"ops_per_s\":" + std::to_string(ops_done / std::max(elapsed, 1e-9)) +
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
