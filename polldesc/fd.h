// polldesc/fd.h: Fd<Server>, a small internal/poll (fd_unix.go, fd_poll_runtime.go)
// over a non-blocking file descriptor: Read/Write loop pollReset -> syscall ->
// pollWait on EAGAIN (ReadLoop, WriteLoop; a read of 0 is end of file);
// deadlines; Close that unblocks, waits for the operations
// in flight, then closes. It keeps internal/poll's contract with pollDesc: at
// most one reader and one writer in pollWait per descriptor.
//
// GO-DIFF: internal/poll's fdMutex is a lock-free packed counter with
// semaphores; here it is three Env mutexes (read, write, other operations) and
// an atomic closed flag. It is the caller, not the system under test, and only
// its contract matters: serialised readers, serialised writers, and no pollDesc
// call after pollClose.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "polldesc/env.h"
#include "polldesc/poll_server.h"

namespace pollstorm {

// What an Fd operation returns: bytes moved, and either a pollDesc error
// (ErrClosing, ErrDeadlineExceeded, ErrNotPollable in Go) or a syscall errno.
struct IoResult {
  ssize_t n = 0;
  int poll_err = kPollNoError;  // kPollErr* or kPollNoError
  int sys_errno = 0;            // the syscall's errno when it failed for another reason
  bool ok() const { return poll_err == kPollNoError && sys_errno == 0; }
};

// The hooks ReadLoop and WriteLoop call around their steps; an oracle (the
// simulator's program runner) overrides them to learn where the reader or
// writer is. No-ops here.
struct ReadHooks {
  void BeforeRead() {}
  void BeforeWait() {}
};
struct WriteHooks {
  void BeforeWrite() {}
  void BeforeWait() {}
};

// ReadLoop<Env>(pd, sysfd, buf, n, hooks)      internal/poll: FD.Read's body
// (prepareRead, then read; on EAGAIN waitRead and read again). The caller
// holds the read lock and a reference (fdMutex). Shared by Fd::Read and the
// simulator, so the loop the simulator judges is the one real callers run.
template <class Env, class PD, class Hooks = ReadHooks>
IoResult ReadLoop(PD* pd, int sysfd, void* buf, std::size_t n, Hooks&& hooks = {}) {
  if (int e = pd->Reset(kModeRead); e != kPollNoError) return {0, e, 0};
  for (;;) {
    hooks.BeforeRead();
    ssize_t r = Env::SysRead(sysfd, buf, n);
    if (r >= 0) return {r, kPollNoError, 0};
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return {0, kPollNoError, errno};
    hooks.BeforeWait();
    if (int e = pd->Wait(kModeRead); e != kPollNoError) return {0, e, 0};
  }
}

// WriteLoop<Env>(pd, sysfd, buf, n, hooks)     internal/poll: FD.Write's body
// (prepareWrite, then write; on EAGAIN waitWrite and write the rest). Writes
// everything unless an error stops it; n is what was written. The caller
// holds the write lock and a reference. Shared by Fd::Write and the
// simulator, as ReadLoop is.
template <class Env, class PD, class Hooks = WriteHooks>
IoResult WriteLoop(PD* pd, int sysfd, const void* buf, std::size_t n, Hooks&& hooks = {}) {
  if (int e = pd->Reset(kModeWrite); e != kPollNoError) return {0, e, 0};
  std::size_t nn = 0;
  for (;;) {
    hooks.BeforeWrite();
    ssize_t r = Env::SysWrite(sysfd, static_cast<const char*>(buf) + nn, n - nn);
    if (r > 0) nn += static_cast<std::size_t>(r);
    if (nn == n) return {static_cast<ssize_t>(nn), kPollNoError, 0};
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) {
      hooks.BeforeWait();
      if (int e = pd->Wait(kModeWrite); e != kPollNoError) return {static_cast<ssize_t>(nn), e, 0};
      continue;
    }
    if (r < 0) return {static_cast<ssize_t>(nn), kPollNoError, errno};
  }
}

template <class Server>
class Fd {
 public:
  using Env = typename Server::EnvType;
  using PD = typename Server::PD;

  // Fd::Open(server, sysfd, &errno)                internal/poll: FD.Init
  // sysfd must be non-blocking. Returns nullptr and sets *err on failure.
  static std::unique_ptr<Fd> Open(Server& server, int sysfd, int* err) {
    auto [pd, e] = server.Open(static_cast<uintptr_t>(sysfd));
    if (pd == nullptr) {
      if (err != nullptr) *err = e;
      return nullptr;
    }
    return std::unique_ptr<Fd>(new Fd(server, sysfd, pd));
  }

  ~Fd() {
    if (!closed_.load(std::memory_order_relaxed)) Close();
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  // Fd::Read(buf, n)                                internal/poll: FD.Read
  IoResult Read(void* buf, std::size_t n) {
    OpGuard g(this, read_mu_);
    if (!g.ok) return {0, kPollErrClosing, 0};
    if (n == 0) return {};
    return ReadLoop<Env>(pd_, sysfd_, buf, n);
  }

  // Fd::Write(buf, n)                               internal/poll: FD.Write
  // Writes everything unless an error stops it; n is what was written.
  IoResult Write(const void* buf, std::size_t n) {
    OpGuard g(this, write_mu_);
    if (!g.ok) return {0, kPollErrClosing, 0};
    return WriteLoop<Env>(pd_, sysfd_, buf, n);
  }

  // Fd::SetDeadline(d, mode)                       internal/poll: setDeadlineImpl
  // d: relative ns (0 none, < 0 expired). Fails with ErrClosing after Close.
  int SetDeadline(int64_t d, int mode) {
    OpGuard g(this, other_mu_);
    if (!g.ok) return kPollErrClosing;
    pd_->SetDeadline(d, mode);
    return kPollNoError;
  }

  // Fd::Close()                                     internal/poll: FD.Close
  // increfAndClose (mark closed) -> evict (pollUnblock: waiters return
  // ErrClosing) -> wait for every operation in flight -> pollClose -> close.
  int Close() {
    if (closed_.exchange(true, std::memory_order_acq_rel)) return kPollErrClosing;
    pd_->Unblock();
    // Each operation holds its mutex for its whole duration: taking all three
    // waits for the ones in flight; later ones see closed_ and leave.
    read_mu_.lock();
    write_mu_.lock();
    other_mu_.lock();
    server_.Close(pd_);
    const int r = Env::SysClose(sysfd_);
    other_mu_.unlock();
    write_mu_.unlock();
    read_mu_.unlock();
    return r == 0 ? kPollNoError : -errno;
  }

  PD* pd() const { return pd_; }
  int sysfd() const { return sysfd_; }

 private:
  Fd(Server& server, int sysfd, PD* pd) : server_(server), sysfd_(sysfd), pd_(pd) {}

  struct OpGuard {
    typename Env::Mutex& mu;
    bool ok;
    OpGuard(Fd* fd, typename Env::Mutex& m) : mu(m) {
      mu.lock();
      // acquire: pairs with Close's exchange; an operation that starts after
      // Close marked the Fd never touches the pollDesc.
      ok = !fd->closed_.load(std::memory_order_acquire);
    }
    ~OpGuard() { mu.unlock(); }
  };

  Server& server_;
  const int sysfd_;
  PD* const pd_;
  std::atomic<bool> closed_{false};
  typename Env::Mutex read_mu_;   // one reader at a time (fdMutex read lock)
  typename Env::Mutex write_mu_;  // one writer at a time (fdMutex write lock)
  typename Env::Mutex other_mu_;  // SetDeadline against Close (fdMutex refcount)
};

}  // namespace pollstorm
