// harness/sim/kernel.h: sim::Kernel, the simulated kernel under SimEnv's
// SysRead/SysWrite/SysClose: pipes that hold a byte count, and an
// edge-triggered readiness list that a netpoll pass hands to the poll server.
// It lets the Fd facade's loop (polldesc/fd.h ReadLoop: pollReset -> read ->
// pollWait on EAGAIN) run in the simulator, so a lost wakeup can be stated
// the way a user sees it: bytes are readable, a ready was delivered after
// they arrived, and the reader is still parked.
//
//   Pipe()             a new pipe; returns its read end's fd (the lowest free
//                      number, as POSIX does: numbers are reused, and so are
//                      the races that come with reuse)
//   Write(fd, n)       n bytes arrive (another process writes the pipe): the
//                      byte count grows, then the fd goes on the ready list
//                      (EPOLLIN|EPOLLET: every arrival is an edge, as a pipe
//                      write wakes epoll on Linux)
//   Read(fd, buf, n)   takes min(n, count) bytes, or -1/EAGAIN when empty
//   Close(fd)          the fd is gone (reads: EBADF); its edges are dropped
//   NetpollOpen/Close  NetpollPlatform: register fd -> user data (epoll_ctl ADD/DEL).
//                      ADD reports readiness the pipe already has, as epoll does.
//   Poll(deliver)      one netpoll(0) pass: takes the ready list and calls
//                      deliver(user data, 'r') for each registered fd on it, after
//                      releasing the kernel lock (Go's netpoll returns a list,
//                      then netpollready runs).
//
// The byte count is a seq_cst atomic: the kernel's own locking makes a pipe
// sequentially consistent, and a read that sees a write's bytes is ordered
// after it. It also says whether the pipe exists (kClosed), so a read or a
// write needs no lock, as a real one needs none from epoll. The ready list and the registrations are guarded by the kernel's
// mutex (epoll's ep->lock), as sim::Shared fields the race detector checks.
// Every operation is a scheduling point. One Kernel per execution (sim::Make
// it); SimEnv's Sys* calls reach the one alive on this thread.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "harness/sim/atomic.h"
#include "harness/sim/mutex.h"
#include "harness/sim/shared.h"
#include "polldesc/env.h"

namespace pollstorm::sim {

class Kernel final : public NetpollPlatform {
 public:
  static constexpr int kFdBase = 100;  // simulated fds: kFdBase .. kFdBase + kMaxFds - 1
  static constexpr int kMaxFds = 16;  // a program has at most 16 descriptors open

  Kernel();
  ~Kernel() override;
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  // The kernel of the execution running on this thread, or nullptr.
  static Kernel* Current();

  int Pipe();
  // Returns n, or -1 with errno EBADF.
  ssize_t Write(int fd, size_t n);
  ssize_t Read(int fd, void* buf, size_t n);
  int Close(int fd);

  int NetpollOpen(uintptr_t fd, uint64_t user_data) override;
  int NetpollClose(uintptr_t fd) override;

  using Deliver = void (*)(void* ctx, uint64_t user_data, int mode);
  // Returns how many ready descriptors it delivered.
  int Poll(Deliver deliver, void* ctx);

  // Host-side view for oracles (no scheduling point): bytes in fd's pipe.
  int64_t BytesForOracle(int fd) const;

 private:
  static constexpr int64_t kClosed = -1;
  struct File {
    Atomic<int64_t> bytes{kClosed};  // seq_cst: the pipe buffer; kClosed: no pipe
    Shared<bool> open{false};      // guarded by mu_
    Shared<uint64_t> ud{0};        // guarded by mu_: the epoll registration's user data (0: none)
  };
  File* Get(int fd);
  void MarkReady(int i);   // needs mu_
  void ClearReady(int i);  // needs mu_

  Mutex mu_;
  Shared<uint32_t> ready_{0};  // guarded by mu_: epoll's ready list, a bit per fd
  File files_[kMaxFds];
  Kernel* prev_;
};

}  // namespace pollstorm::sim
