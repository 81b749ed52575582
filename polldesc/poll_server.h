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

#include "polldesc/poll_desc.h"

namespace pollstorm {

inline constexpr std::size_t kPollBlockSize = 4096;  // GO: pollBlockSize

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
  explicit PollServer(NetpollPlatform* platform = nullptr) : platform_(platform) {}
  PollServer(const PollServer&) = delete;
  PollServer& operator=(const PollServer&) = delete;

  // GO-DIFF: Go never frees pollDescs. A server may be destroyed only when
  // no operation runs on any of its descriptors; it then deletes their timers
  // and waits out a callback that is still running, so none touches freed
  // memory.
  ~PollServer() {
    cache_.ForEachCarved([](PD& pd) {
      pd.rt_.Delete();
      pd.wt_.Delete();
      pd.rt_.WaitIdle();
      pd.wt_.WaitIdle();
    });
  }

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
      const int errno_ = platform_->NetpollOpen(fd, pd);
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

  // PollServer::Ready(pd, mode): an in-memory I/O notification, what one epoll
  // event does: netpollready, then make the taken Gs runnable (injectglist).
  void Ready(PD* pd, int mode) {
    GList<G> to_run;
    pd->NetpollReady(to_run, mode);
    Inject(to_run);
  }

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

 private:
  friend PD;
  NetpollPlatform* const platform_;
  PollCache<PD, Env> cache_;
  // relaxed everywhere: a hint, publishes nothing.
  typename Env::template Atomic<int32_t> netpoll_waiters_{0};
};

}  // namespace pollstorm
