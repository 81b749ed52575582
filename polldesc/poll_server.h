// polldesc/poll_server.h: the process-wide half of netpoll.go.
//
//   PollCache<PD, Env>    GO: pollCache. LIFO free list of type-stable
//                         descriptors carved from 4 KiB blocks, never freed
//                         while the server lives.
//   PollServer<Env, V>    GO: the poll server (poll_runtime_pollServerInit's
//                         world): the cache, netpollWaiters, the platform, and
//                         pollOpen / pollClose, which need the cache.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <sys/epoll.h>

#include "polldesc/poll_desc.h"

namespace pollstorm {

inline constexpr std::size_t kPollBlockSize = 4096;  // GO: pollBlockSize

// GO: netpoll's mode from an epoll event mask (netpoll_epoll.go, the same in
// every version ported here): 'r', 'w', 'r'+'w', or 0 for none.
inline int EpollEventMode(uint32_t events) {
  int mode = 0;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) mode += kModeRead;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) mode += kModeWrite;
  return mode;
}

// ReadyEventVia(server, key, mode): one in-memory readiness event, what the
// poll loop does for it (the server's ReadyInto, then injectglist and the
// delta); returns whether the event was for the current incarnation. Shared
// by both servers, whose ReadyInto differ.
template <class Server>
bool ReadyEventVia(Server& server, uint64_t key, int mode) {
  GList<typename Server::G> to_run;
  int32_t delta = 0;
  const bool taken = server.ReadyInto(key, mode, to_run, &delta);
  server.InjectList(to_run, delta);
  return taken;
}

template <class PD, class Env>
class PollCache {
 public:
  PollCache() = default;
  PollCache(const PollCache&) = delete;
  PollCache& operator=(const PollCache&) = delete;

  // PollCache::Alloc(server)                      GO: pollcache.alloc
  // Pops the most recently freed descriptor (LIFO: immediate reuse is the
  // common case, which makes reuse races reproducible). Carves a new block
  // when the list is empty.
  PD* Alloc(typename PD::Server* server) {
    mu_.lock();
    if (first_.Read() == nullptr) {
      constexpr std::size_t n = kPollBlockSize / sizeof(PD) > 0 ? kPollBlockSize / sizeof(PD) : 1;
      blocks_.push_back(std::make_unique<PD[]>(n));
      PD* block = blocks_.back().get();
      for (std::size_t i = 0; i < n; i++) {
        block[i].server_ = server;
        server->Carved(block[i]);
        block[i].link_.Write(first_.Read());
        first_.Write(&block[i]);
      }
    }
    PD* pd = first_.Read();
    first_.Write(pd->link_.Read());
    // GO: lockInit(&pd.lock): nothing to do for a C++ mutex.
    mu_.unlock();
    return pd;
  }

  // PollCache::Free(pd)                           GO: pollcache.free
  // Pushes pd on the free list. Resets no state: Open does that.
  void Free(PD* pd) {
    mu_.lock();
    pd->link_.Write(first_.Read());
    first_.Write(pd);
    mu_.unlock();
  }

  // PollCache::StopTimers(): the server's destructor (GO-DIFF: Go never frees
  // pollDescs): disarm every descriptor's timers and wait out a callback
  // still running, so none touches freed memory.
  void StopTimers() {
    ForEachCarved([](PD& pd) {
      pd.rt_.Delete();
      pd.wt_.Delete();
      pd.rt_.WaitIdle();
      pd.wt_.WaitIdle();
    });
  }

  // PollCache::WaitTimersIdle(): until no deadline callback of any descriptor
  // runs (see PollServer::WaitCallbacksIdle).
  void WaitTimersIdle() {
    ForEachCarved([](PD& pd) {
      pd.rt_.WaitIdle();
      pd.wt_.WaitIdle();
    });
  }

  // Every descriptor ever carved (quiescent use only: the server's destructor).
  template <class F>
  void ForEachCarved(F&& f) {
    constexpr std::size_t n = kPollBlockSize / sizeof(PD) > 0 ? kPollBlockSize / sizeof(PD) : 1;
    for (auto& b : blocks_) {
      for (std::size_t i = 0; i < n; i++) f(b[i]);
    }
  }

 private:
  typename Env::Mutex mu_;
  typename Env::template Shared<PD*> first_{};  // guarded by mu_
  std::vector<std::unique_ptr<PD[]>> blocks_;   // guarded by mu_
};

template <class Env, class V>
class PollServer {
 public:
  using PD = PollDesc<Env, V>;
  using G = typename PD::G;
  using EnvType = Env;
  using Variant = V;

  // platform: where Open registers the fd (epoll, a simulated poller), or
  // nullptr for in-memory descriptors that only see PollServer::Ready.
  explicit PollServer(NetpollPlatform* platform = nullptr, CounterOrigin origin = {})
      : platform_(platform), origin_(origin) {}
  PollServer(const PollServer&) = delete;
  PollServer& operator=(const PollServer&) = delete;

  // GO-DIFF: Go never frees pollDescs. A server may be destroyed only when
  // no operation runs on any of its descriptors; it then deletes their timers
  // and waits out a callback that is still running, so none touches freed
  // memory.
  ~PollServer() { cache_.StopTimers(); }

  // PollServer::Open(fd) -> (pd, errno)           GO: poll_runtime_pollOpen
  // Takes a descriptor from the cache, starts a new incarnation (bumping
  // rseq/wseq so the previous incarnation's timers are stale) and registers fd
  // with the platform. On a registration error the descriptor goes back to the
  // cache and (nullptr, errno) is returned (SEED behaviour).
  std::pair<PD*, int> Open(uintptr_t fd) {
    PD* pd = cache_.Alloc(this);
    pd->lock_.lock();
    const uintptr_t wg = PD::SlotLoad(pd->wg_);  // LEGACY: `pd.wg`, plain
    if (wg != kPdNil && wg != kPdReady) Env::Fatal("runtime: blocked write on free polldesc");
    const uintptr_t rg = PD::SlotLoad(pd->rg_);
    if (rg != kPdNil && rg != kPdReady) Env::Fatal("runtime: blocked read on free polldesc");
    pd->fd_.Write(fd);
    PD::InfoStore(pd->closing_, false);
    PD::InfoStore(pd->everr_, false);
    pd->rseq_.Write(pd->rseq_.Read() + 1);
    PD::SlotStore(pd->rg_, kPdNil);
    PD::InfoStore(pd->rd_, int64_t{0});
    pd->wseq_.Write(pd->wseq_.Read() + 1);
    PD::SlotStore(pd->wg_, kPdNil);
    PD::InfoStore(pd->wd_, int64_t{0});
    pd->lock_.unlock();
    if (platform_ != nullptr) {
      const int errno_ = platform_->NetpollOpen(fd, EventKey(pd));
      if (errno_ != 0) {
        cache_.Free(pd);
        return {nullptr, errno_};
      }
    }
    return {pd, 0};
  }

  // PollServer::Close(pd)                         GO: poll_runtime_pollClose
  // Deregisters the fd and returns pd to the cache. Takes no lock: the caller
  // guarantees exclusivity (no operation on pd runs or will run) and must have
  // called pd->Unblock() first ("close polldesc w/o unblock" otherwise).
  void Close(PD* pd) {
    if (!PD::InfoLoad(pd->closing_)) Env::Fatal("runtime: close polldesc w/o unblock");
    const uintptr_t wg = PD::SlotLoad(pd->wg_);
    if (wg != kPdNil && wg != kPdReady) Env::Fatal("runtime: blocked write on closing polldesc");
    const uintptr_t rg = PD::SlotLoad(pd->rg_);
    if (rg != kPdNil && rg != kPdReady) Env::Fatal("runtime: blocked read on closing polldesc");
    if (platform_ != nullptr) platform_->NetpollClose(pd->fd_.Read());
    cache_.Free(pd);
  }

  // PollServer::EventKey(pd): the epoll user data netpollopen registers for
  // pd's incarnation. Before tip it is the bare address, the same for every
  // incarnation: an event queued for an earlier one reaches a later one
  // (#59545; tip tags it with fdseq).
  uint64_t EventKey(PD* pd) { return reinterpret_cast<uintptr_t>(pd); }
  static PD* KeyPd(uint64_t key) { return reinterpret_cast<PD*>(static_cast<uintptr_t>(key)); }

  // PollServer::PollEvent(key, events, to_run)   GO: netpoll's per-event body
  // (netpoll_epoll.go at the seed): record whether the event was EPOLLERR
  // alone, then netpollready. Returns the netpollWaiters delta: always 0
  // before tip, which never adjusted the count on this path (#33624).
  int32_t PollEvent(uint64_t key, uint32_t events, GList<G>& to_run) {
    const int mode = EpollEventMode(events);
    if (mode == 0) return 0;
    PD* pd = KeyPd(key);
    pd->SetEventErr(events == EPOLLERR);
    pd->NetpollReady(to_run, mode);
    return 0;
  }

  // In-memory events: the two halves of PollEvent, for the harness's `ready`
  // and `everr` ops. GO-DIFF: an epoll event always does both.
  // ReadyInto: netpollready into to_run; returns whether the event was for
  // the descriptor's current incarnation (always, before tip) and adds the
  // netpollWaiters delta (none, before tip) to *delta.
  bool ReadyInto(uint64_t key, int mode, GList<G>& to_run, int32_t* /*delta*/) {
    KeyPd(key)->NetpollReady(to_run, mode);
    return true;
  }
  bool ReadyEvent(uint64_t key, int mode) { return ReadyEventVia(*this, key, mode); }
  void ErrEvent(uint64_t key, bool err) { KeyPd(key)->SetEventErr(err); }
  // PollServer::Ready(pd, mode): an event for pd's current incarnation.
  void Ready(PD* pd, int mode) { ReadyEvent(EventKey(pd), mode); }

  // The poll loop's end: make the Gs runnable (injectglist); the delta is 0.
  void InjectList(GList<G>& list, int32_t /*delta*/) { Inject(list); }

  // PollServer::Inject(list)                       GO: injectglist
  // GO-DIFF: none intended, and so SEED's accounting bug is kept: the poller
  // path does not decrement netpollWaiters (#33624, fixed by #60782), so
  // Waiters() drifts upwards by one per poller-woken waiter.
  void Inject(GList<G>& list) {
    for (int i = 0; i < list.n; i++) list.g[i]->Unpark();
    list.n = 0;
  }

  // GO: netpollWaiters (a scheduler hint; see Inject for its known drift).
  int32_t Waiters() const { return netpoll_waiters_.load(std::memory_order_relaxed); }

  NetpollPlatform* platform() const { return platform_; }

  // Waits until no deadline callback of any descriptor runs (Timer::WaitIdle).
  // For oracles that read netpollWaiters at a quiescent point: a callback
  // may have made its G runnable and not yet applied its delta (tip applies
  // it after goready, by design: the count may be high for a moment, never
  // low). Only while no operation starts. Not Go (Go never needs it).
  void WaitCallbacksIdle() { cache_.WaitTimersIdle(); }

  // Called by the cache for each descriptor it carves (GO-DIFF: Go's memory
  // is zeroed; see CounterOrigin). Before publication: plain writes.
  void Carved(PD& pd) {
    // The zero origin is what the memory already holds: no access at all,
    // so the simulator's schedules are those of a zeroed carve.
    if (origin_.rseq != 0) pd.rseq_.Write(origin_.rseq);
    if (origin_.wseq != 0) pd.wseq_.Write(origin_.wseq);
  }

 private:
  friend PD;
  NetpollPlatform* const platform_;
  const CounterOrigin origin_;
  PollCache<PD, Env> cache_;
  // relaxed everywhere: a hint, publishes nothing.
  typename Env::template Atomic<int32_t> netpoll_waiters_{0};
};

}  // namespace pollstorm

// Go's current netpoll: the partial specialisations for Tip.
#include "polldesc/tip/netpoll_tip.h"
