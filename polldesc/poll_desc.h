// polldesc/poll_desc.h: PollDesc<Env, Variant>, a port of Go's pollDesc
// (src/runtime/netpoll.go at commit 1b072b3, Oct 2021).
//
// Hold netpoll.go beside this file: each ported function names its Go
// original (`// GO: netpollblock`); every departure says `// GO-DIFF:` and why.
//
// ---------------------------------------------------------------------------
// The rg/wg binary semaphores
// ---------------------------------------------------------------------------
// One slot per mode: rg_ for reads, wg_ for writes. A slot holds
//
//   kPdNil    0  nothing: no pending readiness, no waiter.
//   kPdReady  1  an I/O notification is pending; the next wait consumes it.
//                Set by netpollunblock(ioready=true); cleared by the waiter
//                (CAS in netpollblock, or the Swap after waking) or by
//                pollReset. Never created by close or timeout.
//   kPdWait   2  a waiter is about to park: it published WAIT and will commit
//                (CAS WAIT -> G) unless a notifier moves the slot first. This is
//                the window in which races are settled.
//   G            the address of a parked waiter's Parker (> 2). Published by
//                the commit CAS, taken (CAS G -> READY/nil) by exactly one
//                notifier, which then wakes it after dropping lock_.
//
// State x operation (one mode; "-" = no change):
//
//   from \ op   Reset   block:consume  block:publish  commit   ready(io)  timeout/close
//   nil         nil     -              WAIT           (n/a)    READY      -
//   READY       nil     nil, ok        (n/a)          (n/a)    - (coalesce) -
//   WAIT        invalid invalid        invalid        G, parks READY     nil
//   G           invalid throw "double wait"           (n/a)    READY+wake nil+wake
//
// "invalid": forbidden by the caller contract (one waiter per mode, Reset only
// by that waiter); the port throws where Go throws and otherwise does not
// check. Errors (closing, timeout, event error) are never latched in the slot:
// they are level state read by NetpollCheckErr, so the waiter must re-read
// them AFTER publishing WAIT (pattern B below).
//
// ---------------------------------------------------------------------------
// The two synchronisation patterns (semantics reference §7.1)
// ---------------------------------------------------------------------------
// Pattern A (I/O readiness, one variable): the notifier's RMW on the slot and
//   the waiter's RMW on the slot meet in the slot's modification order. Any
//   RMW is enough; a plain load+store (LEGACY's consume step) is not: #48925.
// Pattern B (close/timeout, two variables, store-buffering):
//   waiter:  W1 = CAS slot nil->WAIT (netpollblock), R1 = load closing/rd/wd
//            (NetpollCheckErr);
//   closer:  W2 = store closing/rd/wd (under lock_), R2 = load slot
//            (NetpollUnblock).
//   Forbidden: R1 sees "not closed" and R2 sees nil; the waiter then parks
//   forever. W->R order is needed on BOTH sides: seq_cst on all four accesses
//   (FIXED) or a full fence between W and R on both sides. SEED has the fence
//   on the closer side only and a plain R1: #45211.
//
// Lock order: lock_ -> timer service lock. Timer callbacks take lock_ and run
// without the timer lock. The cache lock is never taken under lock_. Waiters
// are woken only after lock_ is released.
#pragma once

#include <cstdint>
#include <type_traits>

#include "polldesc/env.h"

namespace pollstorm {

inline constexpr uintptr_t kPdNil = 0;
inline constexpr uintptr_t kPdReady = 1;
inline constexpr uintptr_t kPdWait = 2;

template <class Env, class V>
class PollServer;
template <class PD, class Env>
class PollCache;

// GList: the Gs a poll round made runnable (Go's gList). Fixed capacity: the
// epoll loop handles at most 128 events, each readying at most two Gs.
template <class G>
struct GList {
  static constexpr int kCapacity = 256;
  G* g[kCapacity];
  int n = 0;
  void Push(G* x) { g[n++] = x; }
};

// Snapshot of a descriptor's state, for failure dumps only (racy by design).
struct PollDescDebug {
  uintptr_t fd, rg, wg, rseq, wseq;
  int64_t rd, wd;
  bool closing, everr, rt_armed, wt_armed;
  uintptr_t fdseq;  // tip only (has_info)
  uint32_t info;    // tip only: the atomicInfo word
  bool has_info;
};

// Where a descriptor's counters start when the cache carves it. Go's
// persistentalloc memory is zeroed ({0, 0, 0}); a harness may start them near
// their wrap so that a few incarnations cross it. fdseq exists on tip only.
struct CounterOrigin {
  uintptr_t fdseq = 0, rseq = 0, wseq = 0;
};

template <class Env, class V>
class PollDesc {
 public:
  using G = typename Env::Parker;
  using Server = PollServer<Env, V>;

  // PollDesc::Reset(mode)                      GO: poll_runtime_pollReset
  // Drops a stale READY before the caller attempts its syscall. Returns the
  // pending error (closing > timeout > event error) or kPollNoError. Only the
  // (single) waiter of `mode` may call it.
  int Reset(int mode) {
    int errcode = NetpollCheckErr(mode);
    if (errcode != kPollNoError) return errcode;
    if (mode == kModeRead) {
      SlotStore(rg_, kPdNil);
    } else if (mode == kModeWrite) {
      SlotStore(wg_, kPdNil);
    }
    return kPollNoError;
  }

  // PollDesc::Wait(mode)                        GO: poll_runtime_pollWait
  // Blocks until I/O readiness (kPollNoError), or returns the error state.
  // A timeout is reported only if the deadline is expired when the waiter
  // re-checks: extending a deadline un-expires it. At most one waiter per mode
  // (the caller's contract; a second concurrent one throws "double wait").
  int Wait(int mode) {
    int errcode = NetpollCheckErr(mode);
    if (errcode != kPollNoError) return errcode;
    // GO: netpollarm is only for level-triggered platforms; epoll is edge-triggered.
    while (!NetpollBlock(mode, /*waitio=*/false)) {
      errcode = NetpollCheckErr(mode);
      if (errcode != kPollNoError) return errcode;
      // The timeout fired and unblocked us, but the deadline was reset before
      // we ran: pretend it did not happen and retry.
    }
    return kPollNoError;
  }

  // PollDesc::WaitCanceled(mode)                GO: poll_runtime_pollWaitCanceled
  // Waits for real I/O completion only, ignoring closing and timeouts (Go uses
  // it on Windows after CancelIoEx fails). A close or expiry still wakes it
  // (slot -> nil); it parks again.
  void WaitCanceled(int mode) {
    while (!NetpollBlock(mode, /*waitio=*/true)) {
    }
  }

  // PollDesc::SetDeadline(d, mode)              GO: poll_runtime_pollSetDeadline
  // d is relative nanoseconds: 0 = no deadline, < 0 = already expired, > 0 =
  // now + d (saturating at INT64_MAX). mode is 'r', 'w' or 'r'+'w'. When the
  // read and write deadlines are equal and pending, one timer (rt_, callback
  // NetpollDeadline) expires both. A no-op once Unblock has run.
  void SetDeadline(int64_t d, int mode) {
    lock_.lock();
    if (InfoLoadLocked(closing_)) {
      lock_.unlock();
      return;
    }
    const int64_t rd0 = InfoLoadLocked(rd_);
    const int64_t wd0 = InfoLoadLocked(wd_);
    const bool combo0 = rd0 > 0 && rd0 == wd0;
    if (d > 0) {
      // GO: d += nanotime(); if d <= 0 { d = 1<<63 - 1 }. Signed overflow is
      // UB in C++, so detect it instead of wrapping.
      if (__builtin_add_overflow(d, Env::Nanotime(), &d) || d <= 0) {
        d = INT64_MAX;
      }
    }
    if (mode == kModeRead || mode == kModeReadWrite) InfoStore(rd_, d);
    if (mode == kModeWrite || mode == kModeReadWrite) InfoStore(wd_, d);
    const int64_t rd = InfoLoadLocked(rd_);
    const int64_t wd = InfoLoadLocked(wd_);
    const bool combo = rd > 0 && rd == wd;
    const TimerFunc rtf = combo ? &NetpollDeadline : &NetpollReadDeadline;
    if (rt_f_.Read() == nullptr) {
      if (rd > 0) {
        // The timer carries the current rseq_; a firing with another seq is
        // stale (descriptor reused or deadline changed) and is ignored.
        rt_f_.Write(rtf);
        rt_.Modify(rd, rtf, this, rseq_.Read());  // GO: resettimer
      }
    } else if (rd != rd0 || combo != combo0) {
      rseq_.Write(rseq_.Read() + 1);  // invalidate a firing already in flight
      if (rd > 0) {
        rt_f_.Write(rtf);
        rt_.Modify(rd, rtf, this, rseq_.Read());  // GO: modtimer
      } else {
        rt_.Delete();  // GO: deltimer; does not wait for a running callback
        rt_f_.Write(nullptr);
      }
    }
    if (wt_f_.Read() == nullptr) {
      if (wd > 0 && !combo) {
        wt_f_.Write(&NetpollWriteDeadline);
        wt_.Modify(wd, &NetpollWriteDeadline, this, wseq_.Read());
      }
    } else if (wd != wd0 || combo != combo0) {
      wseq_.Write(wseq_.Read() + 1);
      if (wd > 0 && !combo) {
        wt_f_.Write(&NetpollWriteDeadline);
        wt_.Modify(wd, &NetpollWriteDeadline, this, wseq_.Read());
      } else {
        wt_.Delete();
        wt_f_.Write(nullptr);
      }
    }
    // If the new deadline is in the past, unblock pending I/O.
    G* rg = nullptr;
    G* wg = nullptr;
    if (rd < 0 || wd < 0) {
      // GO: atomic.StorepNoWB(&wg, nil): "full memory barrier between stores
      // to rd/wd and load of rg/wg in netpollunblock". Pattern B, closer
      // side: orders W2 (the rd_/wd_ store above) before R2 (NetpollUnblock's
      // slot load). Pairs with the waiter's W1 -> R1 in NetpollBlock.
      Env::FullBarrier();
      if (rd < 0) rg = NetpollUnblock(kModeRead, false);
      if (wd < 0) wg = NetpollUnblock(kModeWrite, false);
    }
    lock_.unlock();
    if (rg != nullptr) NetpollGoready(rg);
    if (wg != nullptr) NetpollGoready(wg);
  }

  // PollDesc::Unblock()                          GO: poll_runtime_pollUnblock
  // Marks the descriptor closing, wakes both waiters (they return
  // kPollErrClosing) and deletes the deadline timers. At most once per
  // incarnation: a second call throws "runtime: unblock on closing polldesc".
  void Unblock() {
    lock_.lock();
    if (InfoLoadLocked(closing_)) Env::Fatal("runtime: unblock on closing polldesc");
    InfoStore(closing_, true);
    rseq_.Write(rseq_.Read() + 1);
    wseq_.Write(wseq_.Read() + 1);
    // GO: atomic.StorepNoWB(&rg, nil): "full memory barrier between store to
    // closing and read of rg/wg in netpollunblock". Pattern B, closer side
    // (W2 = closing_ store, R2 = the slot loads below).
    Env::FullBarrier();
    G* rg = NetpollUnblock(kModeRead, false);
    G* wg = NetpollUnblock(kModeWrite, false);
    if (rt_f_.Read() != nullptr) {
      rt_.Delete();
      rt_f_.Write(nullptr);
    }
    if (wt_f_.Read() != nullptr) {
      wt_.Delete();
      wt_f_.Write(nullptr);
    }
    lock_.unlock();
    if (rg != nullptr) NetpollGoready(rg);
    if (wg != nullptr) NetpollGoready(wg);
  }

  // PollDesc::NetpollReady(to_run, mode)         GO: netpollready
  // I/O readiness for `mode` ('r', 'w', 'r'+'w'): latches READY (coalescing
  // repeats) and appends a parked waiter, if any, to to_run. The caller makes
  // them runnable (PollServer::Inject, Go's injectglist). Lock-free.
  void NetpollReady(GList<G>& to_run, int mode) {
    G* rg = nullptr;
    G* wg = nullptr;
    if (mode == kModeRead || mode == kModeReadWrite) rg = NetpollUnblock(kModeRead, true);
    if (mode == kModeWrite || mode == kModeReadWrite) wg = NetpollUnblock(kModeWrite, true);
    if (rg != nullptr) to_run.Push(rg);
    if (wg != nullptr) to_run.Push(wg);
  }

  // PollDesc::SetEventErr(err)                   GO: netpoll's `pd.everr = ...`
  // The poller records whether the last event was EPOLLERR alone. Lock-free.
  void SetEventErr(bool err) { InfoStore(everr_, err); }

  // The file descriptor of this incarnation (const between Open and Close).
  uintptr_t fd() { return fd_.Read(); }

  // For failure dumps only: reads every field without synchronisation, so it
  // is excluded from TSan (it must not add reports of its own).
  __attribute__((no_sanitize("thread"))) PollDescDebug DebugSnapshot() {
    PollDescDebug s{};
    s.fd = fd_.Raw();
    s.rg = RawSlot(rg_);
    s.wg = RawSlot(wg_);
    s.rseq = rseq_.Raw();
    s.wseq = wseq_.Raw();
    s.rd = RawInfo(rd_);
    s.wd = RawInfo(wd_);
    s.closing = RawInfo(closing_);
    s.everr = RawInfo(everr_);
    s.rt_armed = rt_f_.Raw() != nullptr;
    s.wt_armed = wt_f_.Raw() != nullptr;
    return s;
  }

 private:
  friend class PollServer<Env, V>;
  friend class PollCache<PollDesc, Env>;

  template <class T>
  using Atomic = typename Env::template Atomic<T>;
  template <class T>
  using Shared = typename Env::template Shared<T>;
  // rg/wg: atomic from SEED on; LEGACY keeps a plain word that Go also
  // CASed and swapped (Go's atomic.* on a plain uintptr).
  using Slot = std::conditional_t<V::kAtomicSlots, Atomic<uintptr_t>, Shared<uintptr_t>>;
  // closing/rd/wd/everr: read lock-free. Plain up to SEED (#45211).
  template <class T>
  using Info = std::conditional_t<V::kAtomicInfo, Atomic<T>, Shared<T>>;

  // ---- slot accessors: every slot access not written as an RMW ----

  // A lock-free load of rg/wg. LEGACY: plain (#48925). From SEED on: seq_cst,
  // because in NetpollUnblock this is pattern B's R2; it must not be ordered
  // before the closer's W2 store (do not weaken: §7.2).
  static uintptr_t SlotLoad(Slot& s) {
    if constexpr (V::kAtomicSlots) {
      return s.load(std::memory_order_seq_cst);
    } else {
      return s.Read();
    }
  }
  // A store to rg/wg (pollReset, pollOpen). LEGACY: plain. From SEED on:
  // seq_cst: NetpollUnblock's seq_cst load (SlotLoad) must not read a READY
  // that this store already replaced. A release store is outside the total
  // order S, and the notifier could then see its own stale READY, conclude
  // "already ready", and drop the wake; the simulator shows exactly that
  // lost wakeup (mutants/slotstore-release.patch, mutants/RESULTS.md).
  static void SlotStore(Slot& s, uintptr_t v) {
    if constexpr (V::kAtomicSlots) {
      s.store(v, std::memory_order_seq_cst);
    } else {
      s.Write(v);
    }
  }
  // RMWs on rg/wg are atomic in every variant (Go used atomic.Cas/Xchg even
  // before the seed). seq_cst: pattern A needs only RMW atomicity, but the
  // nil->WAIT CAS is pattern B's W1 and must be ordered before the R1 loads in
  // NetpollCheckErr that follow it.
  static bool SlotCas(Slot& s, uintptr_t from, uintptr_t to) {
    return s.compare_exchange_strong(from, to, std::memory_order_seq_cst);
  }
  static uintptr_t SlotSwap(Slot& s, uintptr_t to) {
    return s.exchange(to, std::memory_order_seq_cst);
  }

  // ---- info accessors: closing_, rd_, wd_, everr_ ----

  // A lock-free read (NetpollCheckErr). FIXED: seq_cst, pattern B's R1; it
  // pairs with the seq_cst W2 store in InfoStore and with the seq_cst W1 CAS
  // before it. SEED and LEGACY: plain racy read (#45211).
  template <class F>
  static auto InfoLoad(F& f) {
    if constexpr (V::kAtomicInfo) {
      return f.load(std::memory_order_seq_cst);
    } else {
      return f.Read();
    }
  }
  // A read by a thread that holds lock_. FIXED: relaxed, because every store
  // to closing_/rd_/wd_ is made under lock_ (the lock orders them), except
  // everr_, which lock holders never read.
  template <class F>
  static auto InfoLoadLocked(F& f) {
    if constexpr (V::kAtomicInfo) {
      return f.load(std::memory_order_relaxed);
    } else {
      return f.Read();
    }
  }
  // A store (under lock_, except everr_ by the poller). FIXED: seq_cst, pattern
  // B's W2; pairs with R1 in NetpollCheckErr. (For everr_ release would do:
  // the poller's slot RMW that follows publishes it; seq_cst costs the same
  // single store on the poller thread.) SEED and LEGACY: plain.
  template <class F, class T>
  static void InfoStore(F& f, T v) {
    if constexpr (V::kAtomicInfo) {
      f.store(v, std::memory_order_seq_cst);
    } else {
      f.Write(v);
    }
  }
  // Debug reads (DebugSnapshot): relaxed, nothing is inferred from them.
  template <class F>
  static auto RawInfo(F& f) {
    if constexpr (V::kAtomicInfo) {
      return f.load(std::memory_order_relaxed);
    } else {
      return f.Raw();
    }
  }
  static uintptr_t RawSlot(Slot& s) {
    if constexpr (V::kAtomicSlots) {
      return s.load(std::memory_order_relaxed);
    } else {
      return s.Raw();
    }
  }

  // GO: netpollcheckerr. Precedence: closing > timeout > event error (reads
  // only: a write-side error is left for the next write syscall to report).
  int NetpollCheckErr(int mode) {
    if (InfoLoad(closing_)) return kPollErrClosing;
    if ((mode == kModeRead && InfoLoad(rd_) < 0) || (mode == kModeWrite && InfoLoad(wd_) < 0)) {
      return kPollErrTimeout;
    }
    if (mode == kModeRead && InfoLoad(everr_)) return kPollErrNotPollable;
    return kPollNoError;
  }

  // GO: netpollblock. Returns true if I/O is ready, false if timed out or
  // closed. waitio: wait only for completed I/O, ignore errors. Concurrent
  // calls in the same mode are forbidden: one waiting G per mode.
  bool NetpollBlock(int mode, bool waitio) {
    Slot& gpp = mode == kModeWrite ? wg_ : rg_;
    // Set the gpp semaphore to pdWait.
    if constexpr (V::kAtomicSlots) {
      for (;;) {
        // Consume the notification if already ready.
        if (SlotCas(gpp, kPdReady, kPdNil)) return true;
        if (SlotCas(gpp, kPdNil, kPdWait)) break;
        // Double check that this isn't corrupt; otherwise we'd loop forever.
        const uintptr_t v = SlotLoad(gpp);
        if (v != kPdReady && v != kPdNil) Env::Fatal("runtime: double wait");
      }
    } else {
      for (;;) {
        // LEGACY (#48925): a plain load and, on READY, a plain store of nil:
        // no happens-before edge to a concurrent netpollunblock, which may
        // read a stale READY and drop its notification.
        const uintptr_t old = gpp.Read();
        if (old == kPdReady) {
          gpp.Write(kPdNil);
          return true;
        }
        if (old != kPdNil) Env::Fatal("runtime: double wait");
        if (SlotCas(gpp, kPdNil, kPdWait)) break;
      }
    }
    // Need to recheck error states after setting gpp to pdWait: closers do the
    // opposite (store closing/rd/wd, barrier, load rg/wg). Pattern B, waiter
    // side: W1 was the CAS above, R1 is NetpollCheckErr's loads.
    if (waitio || NetpollCheckErr(mode) == kPollNoError) {
      Gopark(gpp);
    }
    // Be careful to not lose a concurrent pdReady notification: the Swap picks
    // up a READY that raced in at any point, even after the error check.
    const uintptr_t old = SlotSwap(gpp, kPdNil);
    if (old > kPdWait) Env::Fatal("runtime: corrupted polldesc");
    return old == kPdReady;
  }

  // GO: gopark(netpollblockcommit, gpp, ...). Go parks the G first and
  // publishes it from the unlock callback; here the commit CAS publishes the
  // Parker and the thread then parks. A notifier that takes the Parker in
  // between unparks it before it sleeps, which the Parker tolerates, so the
  // effect is the same: no sleep without a published G, no lost wake.
  void Gopark(Slot& gpp) {
    G* gp = Env::CurrentParker();
    if (NetpollBlockCommit(gp, gpp)) {
      gp->Park();
    }
    // Commit failed: a notifier moved WAIT to READY or nil first. Go's park_m
    // resumes the G at once; so do we.
  }

  // GO: netpollblockcommit. CAS WAIT -> G; on success count the waiter.
  bool NetpollBlockCommit(G* gp, Slot& gpp) {
    const bool r = SlotCas(gpp, kPdWait, reinterpret_cast<uintptr_t>(gp));
    if (r) {
      // relaxed: netpollWaiters is a hint for the scheduler (Go: Xadd); no
      // data is published through it.
      server_->netpoll_waiters_.fetch_add(1, std::memory_order_relaxed);
    }
    return r;
  }

  // GO: netpollgoready. Only called after lock_ is released.
  void NetpollGoready(G* gp) {
    server_->netpoll_waiters_.fetch_sub(1, std::memory_order_relaxed);  // a hint, as above
    gp->Unpark();
  }

  // GO: netpollunblock. ioready: an I/O notification (latches READY) rather
  // than a timeout or close (moves WAIT/G to nil, never creates READY).
  // Returns the parked G it took, which the caller must wake after dropping
  // lock_, or nullptr.
  G* NetpollUnblock(int mode, bool ioready) {
    Slot& gpp = mode == kModeWrite ? wg_ : rg_;
    for (;;) {
      uintptr_t old = SlotLoad(gpp);  // LEGACY: `old := *gpp`, plain
      if (old == kPdReady) return nullptr;
      if (old == kPdNil && !ioready) {
        // Only set READY for ioready. runtime_pollWait will check for timeout
        // or closing.
        return nullptr;
      }
      const uintptr_t nw = ioready ? kPdReady : kPdNil;
      if (SlotCas(gpp, old, nw)) {
        if (old == kPdWait) return nullptr;  // not committed; its commit fails
        return reinterpret_cast<G*>(old);
      }
    }
  }

  // GO: netpollDeadline / netpollReadDeadline / netpollWriteDeadline.
  static void NetpollDeadline(void* arg, uintptr_t seq) {
    static_cast<PollDesc*>(arg)->NetpollDeadlineImpl(seq, true, true);
  }
  static void NetpollReadDeadline(void* arg, uintptr_t seq) {
    static_cast<PollDesc*>(arg)->NetpollDeadlineImpl(seq, true, false);
  }
  static void NetpollWriteDeadline(void* arg, uintptr_t seq) {
    static_cast<PollDesc*>(arg)->NetpollDeadlineImpl(seq, false, true);
  }

  // GO: netpolldeadlineimpl. Runs on the timer thread, without the timer lock.
  void NetpollDeadlineImpl(uintptr_t seq, bool read, bool write) {
    lock_.lock();
    // seq is the seq when the timer was set. If it is stale (descriptor
    // reused, closed, or deadline changed), ignore the firing.
    const uintptr_t current_seq = read ? rseq_.Read() : wseq_.Read();
    if (seq != current_seq) {
      lock_.unlock();
      return;
    }
    G* rg = nullptr;
    if (read) {
      if (InfoLoadLocked(rd_) <= 0 || rt_f_.Read() == nullptr) {
        Env::Fatal("runtime: inconsistent read deadline");
      }
      InfoStore(rd_, int64_t{-1});
      // GO: atomic.StorepNoWB(&pd.rt.f, nil): clears the armed mark and is the
      // full barrier between the store to rd and the load of rg (pattern B).
      rt_f_.Write(nullptr);
      Env::FullBarrier();
      rg = NetpollUnblock(kModeRead, false);
    }
    G* wg = nullptr;
    if (write) {
      if (InfoLoadLocked(wd_) <= 0 || (wt_f_.Read() == nullptr && !read)) {
        Env::Fatal("runtime: inconsistent write deadline");
      }
      InfoStore(wd_, int64_t{-1});
      wt_f_.Write(nullptr);
      Env::FullBarrier();
      wg = NetpollUnblock(kModeWrite, false);
    }
    lock_.unlock();
    if (rg != nullptr) NetpollGoready(rg);
    if (wg != nullptr) NetpollGoready(wg);
  }

  // GO-DIFF: `user` (unused on Linux) and `self` (boxing pd into an interface
  // without allocating) have no C++ counterpart and are omitted.
  Shared<PollDesc*> link_{};         // in the free list; guarded by the cache lock
  Server* server_ = nullptr;         // const after the cache carved this descriptor
  typename Env::Mutex lock_;         // protects the fields marked "guarded by lock_"
  Shared<uintptr_t> fd_{};           // guarded by lock_; const for an incarnation
  Info<bool> closing_{};             // written under lock_; read lock-free
  Info<bool> everr_{};               // written lock-free by the poller; read lock-free
  Shared<uintptr_t> rseq_{};         // guarded by lock_; protects from stale read timers
  Slot rg_{};                        // kPdNil, kPdReady, kPdWait or a parked G; see top
  typename Env::Timer rt_;           // read (or combo) deadline timer
  Shared<TimerFunc> rt_f_{};         // guarded by lock_; rt_ armed iff non-null (GO: rt.f)
  Info<int64_t> rd_{};               // written under lock_; read lock-free. 0 none, >0 when, <0 expired
  Shared<uintptr_t> wseq_{};         // guarded by lock_; protects from stale write timers
  Slot wg_{};
  typename Env::Timer wt_;           // write deadline timer (never armed in combo mode)
  Shared<TimerFunc> wt_f_{};         // guarded by lock_
  Info<int64_t> wd_{};               // as rd_
};

}  // namespace pollstorm
