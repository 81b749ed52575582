#include "harness/sim/kernel.h"

#include <cerrno>
#include <cstring>

#include "harness/sim/sim_env.h"

namespace pollstorm::sim {
namespace {
// The fibers of one execution run on one host thread, one at a time.
thread_local Kernel* current_kernel = nullptr;
}  // namespace

Kernel::Kernel() : prev_(current_kernel) { current_kernel = this; }
Kernel::~Kernel() { current_kernel = prev_; }

Kernel* Kernel::Current() { return current_kernel; }

Kernel::File* Kernel::Get(int fd) {
  const int i = fd - kFdBase;
  return i >= 0 && i < kMaxFds ? &files_[i] : nullptr;
}

void Kernel::MarkReady(int i) { ready_.Write(ready_.Read() | (uint32_t{1} << i)); }
void Kernel::ClearReady(int i) { ready_.Write(ready_.Read() & ~(uint32_t{1} << i)); }

int Kernel::Pipe() {
  mu_.lock();
  for (int i = 0; i < kMaxFds; i++) {
    if (files_[i].open.Read()) continue;
    files_[i].open.Write(true);
    files_[i].ud.Write(0);
    // seq_cst, as every access to the pipe buffer (see the header).
    files_[i].bytes.store(0, std::memory_order_seq_cst);
    mu_.unlock();
    return kFdBase + i;
  }
  mu_.unlock();
  return -1;  // EMFILE: the runners open at most kMaxFds at once
}

ssize_t Kernel::Write(int fd, size_t n) {
  File* f = Get(fd);
  if (f == nullptr) {
    errno = EBADF;
    return -1;
  }
  // The bytes first, then the edge: whoever takes the edge and reads finds them.
  int64_t have = f->bytes.load(std::memory_order_seq_cst);
  do {
    if (have < 0) {
      errno = EBADF;  // the reader's end is gone (EPIPE for a real writer)
      return -1;
    }
  } while (!f->bytes.compare_exchange_strong(have, have + static_cast<int64_t>(n),
                                             std::memory_order_seq_cst));
  mu_.lock();
  if (f->open.Read() && f->ud.Read() != 0) MarkReady(fd - kFdBase);
  mu_.unlock();
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
    if (have <= 0) {
      errno = have == 0 ? EAGAIN : EBADF;
      return -1;
    }
    const int64_t take = have < static_cast<int64_t>(n) ? have : static_cast<int64_t>(n);
    if (f->bytes.compare_exchange_strong(have, have - take, std::memory_order_seq_cst)) {
      std::memset(buf, 'x', static_cast<size_t>(take));
      return static_cast<ssize_t>(take);
    }
  }
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
    if (f->bytes.load(std::memory_order_seq_cst) > 0) MarkReady(static_cast<int>(fd) - kFdBase);
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
  int n = 0;
  mu_.lock();
  const uint32_t ready = ready_.Read();
  if (ready != 0) {
    ready_.Write(0);
    for (int i = 0; i < kMaxFds; i++) {
      if ((ready >> i & 1) == 0) continue;
      if (uint64_t ud = files_[i].ud.Read()) uds[n++] = ud;
    }
  }
  mu_.unlock();
  // GO: netpoll returns the list; netpollready runs after epoll_wait, with
  // no kernel lock held. A descriptor closed meanwhile still gets its
  // notification (type-stable pollDescs make that a spurious readiness).
  for (int i = 0; i < n; i++) deliver(ctx, uds[i], kModeRead);
  return n;
}

int64_t Kernel::BytesForOracle(int fd) const {
  const int i = fd - kFdBase;
  return i >= 0 && i < kMaxFds && files_[i].bytes.Raw() > 0 ? files_[i].bytes.Raw() : 0;
}

// SimEnv's system calls: the current execution's kernel, or EBADF.
ssize_t SimEnv::SysRead(int fd, void* buf, size_t n) {
  if (Kernel* k = Kernel::Current()) return k->Read(fd, buf, n);
  errno = EBADF;
  return -1;
}
ssize_t SimEnv::SysWrite(int fd, const void*, size_t n) {
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
