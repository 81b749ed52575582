// harness/sim/kernel.h: sim::Kernel, the simulated kernel under SimEnv's
// SysRead/SysWrite/SysClose: a pair of pipes per descriptor (in: another
// process writes it, the program reads; out: the program writes it, bounded,
// another process drains it), both under one fd as a socket's two directions
// are, and an edge-triggered ready list that a netpoll pass hands to the poll
// server as epoll event masks. It lets the Fd facade's loops (polldesc/fd.h
// ReadLoop and WriteLoop: pollReset -> syscall -> pollWait on EAGAIN) run in
// the simulator, so a lost wakeup can be stated the way a user sees it: bytes
// are readable, a ready was delivered after they arrived, and the reader is
// still parked; the writer end hung up and the reader still parks; the pipe
// was drained and the writer still parks.
//
//   Pipe()             a new pipe pair; returns its fd (the lowest free
//                      number, as POSIX does: numbers are reused, and so are
//                      the races that come with reuse)
//   PeerWrite(fd, n)   n bytes arrive (another process writes the in-pipe):
//                      the byte count grows, then the fd goes on the ready list
//                      with EPOLLIN (every arrival is an edge, as a pipe write
//                      wakes epoll on Linux); EPIPE after Hangup
//   Read(fd, buf, n)   takes min(n, count) bytes; 0 (end of file) when empty
//                      after Hangup; else -1/EAGAIN when empty
//   Write(fd, n)       the program writes the out-pipe: min(n, room) bytes, or
//                      -1/EAGAIN when it holds kPipeCapacity (full), -1/EPIPE
//                      after RaiseErr (the reader is gone)
//   Drain(fd)          another process reads the out-pipe empty; if it was
//                      full, an EPOLLOUT edge (Linux's pipe_read wakes writers
//                      when it frees a full pipe)
//   Hangup(fd)         another process closes the in-pipe's write end: an
//                      EPOLLHUP edge (with EPOLLIN while bytes remain), as
//                      pipe_release wakes the reader on Linux
//   RaiseErr(fd)       another process closes the out-pipe's read end: an
//                      EPOLLERR edge alone, and later writes fail with EPIPE
//   Close(fd)          the fd is gone (reads: EBADF); its edges are dropped
//   NetpollOpen/Close  NetpollPlatform: register fd -> user data (epoll_ctl ADD/DEL).
//                      ADD reports the state the pipe already has, as epoll does.
//   Poll(deliver)      one netpoll(0) pass: takes the ready list and calls
//                      deliver(user data, events) for each registered fd on it,
//                      after releasing the kernel lock (Go's netpoll returns a
//                      list, then netpollready runs).
//
// A kernel made with capacity 0 (programs with no write, drain,
// hangup or epollerr op: binary version 2's programs) has exactly the old
// read-only pipes: no EPOLLOUT ever (ADD reports none), so its executions
// take the scheduling points they always took and recorded schedules replay.
//
// A pipe pair's state is one seq_cst atomic word: the kernel's own locking
// makes a pipe sequentially consistent, and a read that sees a write's bytes
// is ordered after it. It also says whether the pipe exists (kClosed), so a
// read or a write needs no lock, as a real one needs none from epoll. The
// ready list (a pending event mask per fd) and the registrations are guarded
// by the kernel's mutex (epoll's ep->lock), as sim::Shared fields the race
// detector checks. Every operation is a scheduling point. One Kernel per
// execution (sim::Make it); SimEnv's Sys* calls reach the one alive on this
// thread.
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

  // capacity > 0: the write side (out-pipes of that many bytes, EPOLLOUT,
  // EPOLLHUP, EPOLLERR); 0: the read-only kernel (see the header).
  explicit Kernel(int capacity = 0);
  ~Kernel() override;
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  // The kernel of the execution running on this thread, or nullptr.
  static Kernel* Current();

  int Pipe();
  // Returns n, or -1 with errno EBADF (no pipe) or EPIPE (hung up).
  ssize_t PeerWrite(int fd, size_t n);
  ssize_t Read(int fd, void* buf, size_t n);
  ssize_t Write(int fd, size_t n);
  // Return the bytes drained, or -1/EBADF; Hangup and RaiseErr return 0 or -1/EBADF.
  ssize_t Drain(int fd);
  int Hangup(int fd);
  int RaiseErr(int fd);
  int Close(int fd);

  int NetpollOpen(uintptr_t fd, uint64_t user_data) override;
  int NetpollClose(uintptr_t fd) override;

  // events: an epoll mask (EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR).
  using Deliver = void (*)(void* ctx, uint64_t user_data, uint32_t events);
  // Returns how many ready descriptors it delivered.
  int Poll(Deliver deliver, void* ctx);

  // Host-side views for oracles (no scheduling point): bytes in fd's
  // in-pipe, in its out-pipe, whether it was hung up / errored.
  int64_t BytesForOracle(int fd) const;
  int64_t OutBytesForOracle(int fd) const;
  bool HungUpForOracle(int fd) const;
  bool ErroredForOracle(int fd) const;

 private:
  static constexpr int64_t kClosed = -1;
  // The state word: in-pipe bytes in the low 16 bits (the whole word, for a
  // read-only kernel's pipes, as before), out-pipe bytes above, then flags.
  static constexpr int64_t kInMask = 0xffff;
  static constexpr int kOutShift = 16;
  static constexpr int64_t kOutMask = int64_t{0xff} << kOutShift;
  static constexpr int64_t kHup = int64_t{1} << 24;  // the in-pipe's writer is gone
  static constexpr int64_t kErr = int64_t{1} << 25;  // the out-pipe's reader is gone
  struct File {
    Atomic<int64_t> bytes{kClosed};  // seq_cst: the pipes' state word; kClosed: no pipe
    Shared<bool> open{false};      // guarded by mu_
    Shared<uint64_t> ud{0};        // guarded by mu_: the epoll registration's user data (0: none)
  };
  File* Get(int fd);
  // Applies f to the state word (a CAS loop); returns false (errno set) if
  // f refuses (returns -1 with errno) or there is no pipe.
  template <class F>
  bool Update(File* f, F&& fn, int64_t* before);
  void Edge(int fd, uint32_t events);  // takes mu_: a registered fd goes on the ready list
  void MarkReady(int i, uint32_t events = 1);  // needs mu_ (events: an epoll mask; 1 = EPOLLIN)
  void ClearReady(int i);  // needs mu_

  const bool write_side_;
  const int64_t capacity_;  // the out-pipe's size in bytes
  Mutex mu_;
  // guarded by mu_: epoll's ready list, a pending-event bit per fd and event:
  // bits 0-15 EPOLLIN, 16-31 EPOLLOUT, 32-47 EPOLLHUP, 48-63 EPOLLERR.
  Shared<uint64_t> ready_{0};
  File files_[kMaxFds];
  Kernel* prev_;
};

}  // namespace pollstorm::sim
