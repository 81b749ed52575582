// stress/storm_generator.h: what the storm's threads do to the port, the
// workload generator. Half the threads are waiters: Reset then Wait on a
// random descriptor and mode, holding that mode's waiter token (at most one
// waiter per descriptor and mode, as internal/poll guarantees). The others are
// actors: ready, everr, deadline (past, zero, near, far), reopen (unblock,
// wait for the ops in flight, pollClose, open the next incarnation), io (a
// byte into the descriptor's pipe), hangup (close the pipe's write end) and
// drain (read the pipe empty), picked by the profile's weights.
//
// The io profile's descriptor is a real pipe whose two ends are registered
// with epoll under the descriptor's one key (as a socket's two directions
// are under one fd): a read waiter reads the read end (parking on EAGAIN; 0
// after a hang-up is end of file), a write waiter writes the write end until
// the pipe (one page) is full, parks, and after its wake writes once more.
//
// Each operation also records, before and after its call into the port, what
// the oracle (storm_oracle.h) and the watchdog (storm_watchdog.h) need: ready
// counts per descriptor object, deadline-set tickets per mode, the waiter's
// obligation base. The caller contract (Acquire/Release in storm_state.h) is
// internal/poll's reference count and the only synchronisation added.
//
// Limits: a thread's choices come from its own seed, but the interleaving is
// the OS's: a seed does not replay a storm. A deadline set that overlaps
// another on the same mode leaves the deadline in force unknown (kAmbiguous),
// and timeouts are not judged until a clean set follows.
#pragma once

#include "stress/storm_state.h"

namespace pollstorm::storm {
// Unnamed: these headers are parts of storm_worker.cc, its one translation
// unit; nothing here has external linkage.
namespace {

template <class V>
void Storm<V>::OpenSlot(int si, int self) {
  Slot<V>& s = slots_[si];
  uintptr_t fd = ~uintptr_t{0};
  if (cfg_.profile->io) {
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
      std::perror("pollstorm: pipe2");
      std::_Exit(3);
    }
    // One page: a writer fills it in one write, so writes until full are cheap.
    (void)fcntl(p[1], F_SETPIPE_SZ, 4096);
    s.rfd.store(p[0], kRelaxed);
    s.wfd.store(p[1], kRelaxed);
    s.hup_t.store(0, kRelaxed);
    s.drained_t.store(0, kRelaxed);
    fd = static_cast<uintptr_t>(p[0]);
  }
  const int64_t t_open = Now();
  auto [pd, err] = server_->Open(fd);
  const int64_t t_opened = Now();
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
  const uint64_t key = server_->EventKey(pd);
  Hist(self, pd, history::Kind::kOpen, 0, t_open, t_opened, 0, 0, key);
  s.pd.store(pd, std::memory_order_release);
  // release: an actor that reads the key (acquire) sees the opened pd.
  s.key.store(key, std::memory_order_release);
  // The write end under the same key: its EPOLLOUT (room again) and EPOLLERR
  // reach this descriptor as write readiness. Closing the fd deregisters it.
  if (cfg_.profile->io && server_->platform()->NetpollOpen(
                              static_cast<uintptr_t>(s.wfd.load(kRelaxed)), key) != 0) {
    std::perror("pollstorm: epoll_ctl ADD (write end)");
    std::_Exit(3);
  }
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
  const int64_t t_unblock = Now();
  pd->Unblock();
  Hist(self, pd, history::Kind::kUnblock, 0, t_unblock, Now());
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
  const int64_t t_close = Now();
  server_->Close(pd);
  Hist(self, pd, history::Kind::kClose, 0, t_close, Now());
  stats_.by_kind[static_cast<int>(ops::OpKind::kClose)].fetch_add(1, kRelaxed);
  if (cfg_.profile->io) {
    // The write end first: closing the read end while the (registered) write
    // end is open would raise EPOLLERR on it, an event error for whichever
    // incarnation the descriptor object serves by the time it is delivered.
    {
      std::lock_guard<std::mutex> l(s.wfd_mu);
      if (s.wfd.load(kRelaxed) >= 0) close(s.wfd.load(kRelaxed));
    }
    close(s.rfd.load(kRelaxed));
  }
  s.inc.store(inc + 1, kRelaxed);
  OpenSlot(si, self);
  logs_[self].Record(ops::OpKind::kOpen, si, 0, 0, kResNone);
  stats_.by_kind[static_cast<int>(ops::OpKind::kOpen)].fetch_add(1, kRelaxed);
  s.refs.store(0, std::memory_order_release);  // pairs with Acquire's acquire
  return true;
}

// pollSetDeadline(d, mode) on slot si, with the oracle's bookkeeping (the
// deadline in force per mode, tickets for overlapping sets). The caller
// holds a reference to the slot.
template <class V>
void Storm<V>::SetDeadlineOp(int self, int si, int mode, int64_t d) {
  Slot<V>& s = slots_[si];
  ThreadLog& log = logs_[self];
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
  PD* const dpd = s.pd.load(kRelaxed);
  dpd->SetDeadline(d, mode);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  Hist(self, dpd, history::Kind::kDeadline, mode, before, Now(), 0, d);
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
  const bool io_w = cfg_.profile->io && mode == kModeWrite;
  bool was_full = false;  // io_w: the pipe was found full, then the writer waited
  ReadyCount& rc = StateOf(pd).ready[ModeIndex(mode)];
  m.waiter_pd.store(&StateOf(pd), kRelaxed);
  if (cfg_.profile->waiter_deadlines) {
    // The waiter's own deadline, set while it holds the mode's token (so no
    // other waiter's set can overlap it; an actor's still may).
    SetDeadlineOp(self, si, mode, 1000 + static_cast<int64_t>(rng() % 2000000));
  }
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
  Hist(self, pd, history::Kind::kReset, mode, t_start, Now(), err);
  log.Record(ops::OpKind::kReset, si, mode, 0, err);
  stats_.by_kind[static_cast<int>(ops::OpKind::kReset)].fetch_add(1, kRelaxed);
  if (err != kPollNoError) {
    CheckResult(self, si, mode, err, inc, pd, r_base, dl_s0, t_start, Now());
  } else {
    for (;;) {
      if (io) {
        char buf[64];
        const ssize_t n = read(s.rfd.load(kRelaxed), buf, sizeof buf);
        if (n > 0) break;   // consumed real data
        if (n == 0) {  // end of file: the write end was closed (hang-up)
          stats_.eof_reads.fetch_add(1, kRelaxed);
          break;
        }
      }
      if (io_w) {
        // Write until the pipe is full; after a wait, one write that fits
        // ends the op (the drain's room reached the writer).
        static const char page[4096] = {};
        bool done = false;
        for (;;) {
          std::unique_lock<std::mutex> l(s.wfd_mu);
          const int wfd = s.wfd.load(kRelaxed);
          if (wfd < 0) {
            done = true;  // hung up: nothing left to write into
            break;
          }
          const ssize_t n = write(wfd, page, sizeof page);
          l.unlock();
          if (n > 0 && was_full) {
            done = true;
            break;
          }
          if (n < 0) {
            done = errno != EAGAIN;  // EPIPE after a reopen's close of the read end
            break;
          }
        }
        if (done || Stopping()) break;
        if (!was_full) stats_.pipe_full_waits.fetch_add(1, kRelaxed);
        was_full = true;
      }
      m.obl_base.store(rc.started.load(kRelaxed), kRelaxed);
      m.wait_since.store(Now(), kRelaxed);
      m.waiter_thread.store(self, kRelaxed);
      m.wait_id.fetch_add(1, kRelaxed);
      m.active.store(true, kRelaxed);
      log.Record(ops::OpKind::kWait, si, mode, 0, kResPending);
      const int64_t t_wait = Now();
      std::atomic_signal_fence(std::memory_order_seq_cst);
      err = pd->Wait(mode);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      const int64_t t_ret = Now();
      Hist(self, pd, history::Kind::kWait, mode, t_wait, t_ret, err);
      m.active.store(false, kRelaxed);
      log.Record(ops::OpKind::kWait, si, mode, 0, err);
      stats_.by_kind[static_cast<int>(ops::OpKind::kWait)].fetch_add(1, kRelaxed);
      if ((!io && !io_w) || err != kPollNoError) {
        CheckResult(self, si, mode, err, inc, pd, r_base, dl_s0, t_start, t_ret);
      }
      if ((!io && !io_w) || err != kPollNoError || Stopping()) break;
      // io: a successful wait may be spurious (EAGAIN again is legal); loop.
    }
  }
  m.token.store(false, kRelaxed);
  Release(s);
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
        // acquire: the key was published by Open with release; Go gets this
        // edge from the epoll registration syscall. The event carries the
        // key of the incarnation it saw, as epoll's user data would.
        const uint64_t key = s.key.load(std::memory_order_acquire);
        PD* pd = Server::KeyPd(key);
        PdState& ps = StateOf(pd);
        if (mode != kModeWrite) ps.ready[0].started.fetch_add(1, kRelaxed);
        if (mode != kModeRead) ps.ready[1].started.fetch_add(1, kRelaxed);
        GList<typename PD::G> list;
        int32_t delta = 0;
        const int64_t t_ready = Now();
        std::atomic_signal_fence(std::memory_order_seq_cst);
        const bool taken = server_->ReadyInto(key, mode, list, &delta);
        if (list.n > 0 && cfg_.drop_wake != 0 &&
            wakes_.fetch_add(1, kRelaxed) + 1 == cfg_.drop_wake) {
          list.n = 0;  // injected fault: the taken G is never made runnable
        }
        server_->InjectList(list, delta);
        std::atomic_signal_fence(std::memory_order_seq_cst);
        Hist(self, pd, history::Kind::kReady, mode, t_ready, Now(), 0, 0, key);
        // Dropped by the poll loop: owes no wake only if the key is stale (tip:
        // another incarnation's tag). A dropped event for the incarnation
        // still published is counted as delivered, so its obligation stands.
        if (!taken && s.key.load(std::memory_order_acquire) != key) {
          stale_ready_dropped_.fetch_add(1, kRelaxed);
          break;
        }
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
        // Which incarnation the key belongs to: inc read on both sides of the
        // key (a reopen in between makes it ambiguous: attribute to the later
        // one, so the oracle never blames a legal result).
        const uint64_t inc0 = s.inc.load(std::memory_order_acquire);
        const uint64_t key = s.key.load(std::memory_order_acquire);
        const uint64_t inc1 = s.inc.load(std::memory_order_acquire);
        PD* pd = Server::KeyPd(key);
        if (on) {
          StateOf(pd).everr_on.fetch_add(1, kRelaxed);
          uint64_t mark = s.everr_inc.load(kRelaxed);
          const uint64_t attr = std::max(inc0, inc1);
          while ((mark == UINT64_MAX || mark < attr) &&
                 !s.everr_inc.compare_exchange_weak(mark, attr, kRelaxed)) {
          }
        }
        const int64_t t_everr = Now();
        server_->ErrEvent(key, on);
        Hist(self, pd, history::Kind::kEventErr, 0, t_everr, Now(), 0, on, key);
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
        SetDeadlineOp(self, si, mode, d);
        Release(s);
        break;
      }
      case kActReopen:
        if (cfg_.profile->kernel_wakes_only &&
            (s.hup_t.load(kRelaxed) == 0 || s.mode[0].active.load(kRelaxed) ||
             s.mode[1].active.load(kRelaxed))) {
          break;
        }
        Reopen(si, self, true);
        break;
      case kActHangup: {
        if (cfg_.profile->kernel_wakes_only && !s.mode[0].active.load(kRelaxed)) break;
        if (!Acquire(s)) break;
        {
          std::lock_guard<std::mutex> l(s.wfd_mu);
          if (s.wfd.load(kRelaxed) >= 0) {
            close(s.wfd.load(kRelaxed));
            s.wfd.store(-1, kRelaxed);
            // After the close: a reader parked from here on is owed its wake.
            s.hup_t.store(Now(), kRelaxed);
          }
        }
        log.Record(ops::OpKind::kHangup, si, 0, 0, kResNone);
        stats_.by_kind[static_cast<int>(ops::OpKind::kHangup)].fetch_add(1, kRelaxed);
        Release(s);
        break;
      }
      case kActDrain: {
        if (!Acquire(s)) break;
        char buf[4096];
        ssize_t got = 0, n;
        while ((n = read(s.rfd.load(kRelaxed), buf, sizeof buf)) > 0) got += n;
        // After the read that emptied it: a writer parked before is owed EPOLLOUT.
        if (got > 0) s.drained_t.store(Now(), kRelaxed);
        log.Record(ops::OpKind::kDrain, si, 0, 0, kResNone);
        stats_.by_kind[static_cast<int>(ops::OpKind::kDrain)].fetch_add(1, kRelaxed);
        Release(s);
        break;
      }
      case kActIo: {
        if (!Acquire(s)) break;  // the fd must stay open while we write
        const char b = 'x';
        {
          std::lock_guard<std::mutex> l(s.wfd_mu);
          if (s.wfd.load(kRelaxed) >= 0) {
            const ssize_t n = write(s.wfd.load(kRelaxed), &b, 1);
            (void)n;  // EAGAIN on a full pipe is fine: it is readable anyway
          }
        }
        log.Record(ops::OpKind::kIo, si, 0, 0, kResNone);
        stats_.by_kind[static_cast<int>(ops::OpKind::kIo)].fetch_add(1, kRelaxed);
        Release(s);
        break;
      }
    }
    if (rng() % 8 == 0) std::this_thread::yield();
    if (cfg_.profile->actor_pause_ms > 0) {
      // Rest in short slices, so the storm's end is not delayed.
      const int64_t until =
          Now() + static_cast<int64_t>(rng() % (2 * cfg_.profile->actor_pause_ms + 1)) * 1000000;
      while (!Stopping() && Now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
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

}  // namespace
}  // namespace pollstorm::storm
