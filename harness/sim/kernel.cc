#include "harness/sim/kernel.h"

#include <cerrno>
#include <cstring>

#include <sys/epoll.h>

#include <algorithm>

#include "harness/sim/sim_env.h"

namespace pollstorm::sim {
namespace {
// The fibers of one execution run on one host thread, one at a time.
thread_local Kernel* current_kernel = nullptr;

}  // namespace

Kernel::Kernel(int capacity)
    : write_side_(capacity > 0), capacity_(capacity > 0 ? capacity : 1), prev_(current_kernel) {
  current_kernel = this;
}
Kernel::~Kernel() { current_kernel = prev_; }

Kernel* Kernel::Current() { return current_kernel; }

Kernel::File* Kernel::Get(int fd) {
  const int i = fd - kFdBase;
  return i >= 0 && i < kMaxFds ? &files_[i] : nullptr;
}

namespace {
// The ready list's bit for fd index i and one epoll event.
uint64_t ReadyBits(int i, uint32_t events) {
  uint64_t b = 0;
  if (events & EPOLLIN) b |= uint64_t{1} << i;
  if (events & EPOLLOUT) b |= uint64_t{1} << (16 + i);
  if (events & EPOLLHUP) b |= uint64_t{1} << (32 + i);
  if (events & EPOLLERR) b |= uint64_t{1} << (48 + i);
  return b;
}
}  // namespace

void Kernel::MarkReady(int i, uint32_t events) {
  ready_.Write(ready_.Read() | ReadyBits(i, events == 1 ? EPOLLIN : events));
}
void Kernel::ClearReady(int i) {
  ready_.Write(ready_.Read() & ~ReadyBits(i, EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLERR));
}

void Kernel::Edge(int fd, uint32_t events) {
  File* f = Get(fd);
  mu_.lock();
  if (f->open.Read() && f->ud.Read() != 0) MarkReady(fd - kFdBase, events);
  mu_.unlock();
}

template <class F>
bool Kernel::Update(File* f, F&& fn, int64_t* before) {
  int64_t have = f->bytes.load(std::memory_order_seq_cst);
  for (;;) {
    if (have < 0) {
      errno = EBADF;
      return false;
    }
    const int64_t next = fn(have);
    if (next < 0) return false;  // fn set errno
    if (f->bytes.compare_exchange_strong(have, next, std::memory_order_seq_cst)) {
      *before = have;
      return true;
    }
  }
}

int Kernel::Pipe() {
  mu_.lock();
  for (int i = 0; i < kMaxFds; i++) {
    if (files_[i].open.Read()) continue;
    files_[i].open.Write(true);
    files_[i].ud.Write(0);
    // seq_cst, as every access to the pipe state (see the header).
    files_[i].bytes.store(0, std::memory_order_seq_cst);
    mu_.unlock();
    return kFdBase + i;
  }
  mu_.unlock();
  return -1;  // EMFILE: the runners open at most kMaxFds at once
}

ssize_t Kernel::PeerWrite(int fd, size_t n) {
  File* f = Get(fd);
  if (f == nullptr) {
    errno = EBADF;
    return -1;
  }
  // The bytes first, then the edge: whoever takes the edge and reads finds them.
  int64_t before = 0;
  const bool ok = Update(
      f,
      [n](int64_t have) -> int64_t {
        if (have & kHup) {
          errno = EPIPE;  // the writer closed its end: it writes no more
          return -1;
        }
        return have + static_cast<int64_t>(n);
      },
      &before);
  if (!ok) return -1;  // EBADF: the reader's end is gone (EPIPE for a real writer)
  Edge(fd, EPOLLIN);
  return static_cast<ssize_t>(n);
}

ssize_t Kernel::Read(int fd, void* buf, size_t n) {
  File* f = Get(fd);
  if (f == nullptr) {
    errno = EBADF;
    return -1;
  }
  int64_t have = f->bytes.load(std::memory_order_seq_cst);
  for (;;) {
    if (have < 0) {
      errno = EBADF;
      return -1;
    }
    const int64_t in = have & kInMask;
    if (in == 0) {
      if (have & kHup) return 0;  // end of file: the writer is gone and the pipe is empty
      errno = EAGAIN;
      return -1;
    }
    const int64_t take = in < static_cast<int64_t>(n) ? in : static_cast<int64_t>(n);
    if (f->bytes.compare_exchange_strong(have, have - take, std::memory_order_seq_cst)) {
      std::memset(buf, 'x', static_cast<size_t>(take));
      return static_cast<ssize_t>(take);
    }
  }
}

ssize_t Kernel::Write(int fd, size_t n) {
  File* f = Get(fd);
  if (f == nullptr) {
    errno = EBADF;
    return -1;
  }
  int64_t before = 0;
  int64_t took = 0;
  const bool ok = Update(
      f,
      [this, n, &took](int64_t have) -> int64_t {
        if (have & kErr) {
          errno = EPIPE;  // the reader is gone
          return -1;
        }
        const int64_t out = (have & kOutMask) >> kOutShift;
        if (out >= capacity_) {
          errno = EAGAIN;  // full
          return -1;
        }
        took = std::min<int64_t>(static_cast<int64_t>(n), capacity_ - out);
        return have + (took << kOutShift);
      },
      &before);
  return ok ? static_cast<ssize_t>(took) : -1;
}

ssize_t Kernel::Drain(int fd) {
  File* f = Get(fd);
  if (f == nullptr) {
    errno = EBADF;
    return -1;
  }
  int64_t before = 0;
  if (!Update(f, [](int64_t have) { return have & ~kOutMask; }, &before)) return -1;
  const int64_t out = (before & kOutMask) >> kOutShift;
  // Linux's pipe_read wakes the writers (EPOLLOUT) when it frees a full pipe.
  if (out >= capacity_) Edge(fd, EPOLLOUT);
  return static_cast<ssize_t>(out);
}

int Kernel::Hangup(int fd) {
  File* f = Get(fd);
  if (f == nullptr) {
    errno = EBADF;
    return -1;
  }
  int64_t before = 0;
  if (!Update(f, [](int64_t have) { return have | kHup; }, &before)) return -1;
  // pipe_release wakes the reader; pipe_poll then says EPOLLHUP, and EPOLLIN
  // while bytes remain. A second hangup is no new edge.
  if ((before & kHup) == 0) Edge(fd, EPOLLHUP | ((before & kInMask) > 0 ? EPOLLIN : 0u));
  return 0;
}

int Kernel::RaiseErr(int fd) {
  File* f = Get(fd);
  if (f == nullptr) {
    errno = EBADF;
    return -1;
  }
  int64_t before = 0;
  if (!Update(f, [](int64_t have) { return have | kErr; }, &before)) return -1;
  // A pipe whose reader is gone polls EPOLLERR for the writer; the edge is
  // EPOLLERR alone (what netpoll records as the event error).
  if ((before & kErr) == 0) Edge(fd, EPOLLERR);
  return 0;
}

int Kernel::Close(int fd) {
  File* f = Get(fd);
  if (f == nullptr) {
    errno = EBADF;
    return -1;
  }
  mu_.lock();
  const bool was_open = f->open.Read();
  f->open.Write(false);
  f->ud.Write(0);
  ClearReady(fd - kFdBase);
  // Under the lock, so a Pipe() that reuses the number cannot come between.
  if (was_open) f->bytes.store(kClosed, std::memory_order_seq_cst);
  mu_.unlock();
  if (!was_open) {
    errno = EBADF;
    return -1;
  }
  return 0;
}

int Kernel::NetpollOpen(uintptr_t fd, uint64_t user_data) {
  File* f = Get(static_cast<int>(fd));
  if (f == nullptr) return EBADF;
  mu_.lock();
  int err = 0;
  if (!f->open.Read()) {
    err = EBADF;
  } else {
    f->ud.Write(user_data);
    // epoll_ctl ADD reports the state the fd already has.
    const int64_t st = f->bytes.load(std::memory_order_seq_cst);
    uint32_t ev = 0;
    if (st > 0 && (st & kInMask) > 0) ev |= EPOLLIN;
    if (write_side_ && st >= 0) {
      if (st & kHup) ev |= EPOLLHUP;
      if (st & kErr) ev |= EPOLLERR;
      else if (((st & kOutMask) >> kOutShift) < capacity_) ev |= EPOLLOUT;
    }
    if (ev != 0) MarkReady(static_cast<int>(fd) - kFdBase, ev);
  }
  mu_.unlock();
  return err;
}

int Kernel::NetpollClose(uintptr_t fd) {
  File* f = Get(static_cast<int>(fd));
  if (f == nullptr) return EBADF;
  mu_.lock();
  f->ud.Write(0);
  ClearReady(static_cast<int>(fd) - kFdBase);
  mu_.unlock();
  return 0;
}

int Kernel::Poll(Deliver deliver, void* ctx) {
  uint64_t uds[kMaxFds];
  uint32_t evs[kMaxFds];
  int n = 0;
  mu_.lock();
  const uint64_t ready = ready_.Read();
  if (ready != 0) {
    ready_.Write(0);
    for (int i = 0; i < kMaxFds; i++) {
      uint32_t ev = 0;
      if (ready >> i & 1) ev |= EPOLLIN;
      if (ready >> (16 + i) & 1) ev |= EPOLLOUT;
      if (ready >> (32 + i) & 1) ev |= EPOLLHUP;
      if (ready >> (48 + i) & 1) ev |= EPOLLERR;
      if (ev == 0) continue;
      if (uint64_t ud = files_[i].ud.Read()) {
        uds[n] = ud;
        evs[n++] = ev;
      }
    }
  }
  mu_.unlock();
  // GO: netpoll returns the list; netpollready runs after epoll_wait, with
  // no kernel lock held. A descriptor closed meanwhile still gets its
  // notification (type-stable pollDescs make that a spurious readiness).
  for (int i = 0; i < n; i++) deliver(ctx, uds[i], evs[i]);
  return n;
}

int64_t Kernel::BytesForOracle(int fd) const {
  const int i = fd - kFdBase;
  if (i < 0 || i >= kMaxFds || files_[i].bytes.Raw() < 0) return 0;
  return files_[i].bytes.Raw() & kInMask;
}
int64_t Kernel::OutBytesForOracle(int fd) const {
  const int i = fd - kFdBase;
  if (i < 0 || i >= kMaxFds || files_[i].bytes.Raw() < 0) return 0;
  return (files_[i].bytes.Raw() & kOutMask) >> kOutShift;
}
bool Kernel::HungUpForOracle(int fd) const {
  const int i = fd - kFdBase;
  return i >= 0 && i < kMaxFds && files_[i].bytes.Raw() >= 0 && (files_[i].bytes.Raw() & kHup);
}
bool Kernel::ErroredForOracle(int fd) const {
  const int i = fd - kFdBase;
  return i >= 0 && i < kMaxFds && files_[i].bytes.Raw() >= 0 && (files_[i].bytes.Raw() & kErr);
}

// SimEnv's system calls: the current execution's kernel, or EBADF.
ssize_t SimEnv::SysRead(int fd, void* buf, size_t n) {
  if (Kernel* k = Kernel::Current()) return k->Read(fd, buf, n);
  errno = EBADF;
  return -1;
}
ssize_t SimEnv::SysWrite(int fd, const void*, size_t n) {  // the program's write (out-pipe)
  if (Kernel* k = Kernel::Current()) return k->Write(fd, n);
  errno = EBADF;
  return -1;
}
int SimEnv::SysClose(int fd) {
  if (Kernel* k = Kernel::Current()) return k->Close(fd);
  errno = EBADF;
  return -1;
}

}  // namespace pollstorm::sim
