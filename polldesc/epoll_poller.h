// polldesc/epoll_poller.h: EpollPoller<Server>, Go's netpoll_epoll.go on a real
// epoll instance: edge-triggered registration, a poll loop that calls
// netpollready, and an eventfd break to wake it. Two ways to run the loop
// (PollerMode): Start(kDedicatedThread) runs it on its own thread, which
// relays every readiness to the parked waiter through a futex wake;
// Start(kWaiterPolls) installs the poller for the waiters themselves (Go's
// findRunnable: a thread about to park blocks in netpoll and runs the G it
// readied; RealParker in real_env.h holds that protocol). Stop() ends either.
#pragma once

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <thread>

#include "polldesc/env.h"
#include "polldesc/poll_server.h"

namespace pollstorm {

enum class PollerMode {
  kDedicatedThread,  // a poller thread relays readiness (futex wake per event)
  kWaiterPolls,      // the waiter about to park polls itself (issue #17)
};

template <class Server>
class EpollPoller final : public NetpollPlatform, public WaiterPoller {
 public:
  using PD = typename Server::PD;
  using Env = typename Server::EnvType;

  // GO: netpollinit. Throws (Fatal) on failure, as Go does.
  EpollPoller() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) Env::Fatal("runtime: netpollinit failed");
    // GO (>= 1.23): the break descriptor is an eventfd, level-triggered.
    break_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (break_fd_ < 0) Env::Fatal("runtime: eventfd failed");
    epoll_event ev{};
    ev.events = EPOLLIN;
    // The sentinel is the address of a member of this poller: disjoint from
    // every pollDesc address, compared in full (#72900).
    ev.data.ptr = &break_fd_;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, break_fd_, &ev) != 0) Env::Fatal("runtime: epollctl failed");
  }
  ~EpollPoller() override {
    Stop();
    close(break_fd_);
    close(epfd_);
  }
  EpollPoller(const EpollPoller&) = delete;
  EpollPoller& operator=(const EpollPoller&) = delete;

  void Attach(Server* server) { server_ = server; }

  // GO: netpollopen. Edge-triggered, all directions, the server's EventKey
  // as user data (tip: the tagged pointer).
  int NetpollOpen(uintptr_t fd, uint64_t user_data) override {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = user_data;
    return epoll_ctl(epfd_, EPOLL_CTL_ADD, static_cast<int>(fd), &ev) == 0 ? 0 : errno;
  }

  // GO: netpollclose.
  int NetpollClose(uintptr_t fd) override {
    epoll_event ev{};
    return epoll_ctl(epfd_, EPOLL_CTL_DEL, static_cast<int>(fd), &ev) == 0 ? 0 : errno;
  }

  // GO: netpollBreak. At most one wake in flight (wake_sig_).
  void Break() {
    uint32_t expected = 0;
    // acq_rel: pairs with Poll's release store of 0 after it drained the fd,
    // so a later Break sees the drain and writes a fresh wake.
    if (!wake_sig_.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) return;
    for (;;) {
      uint64_t one = 1;
      ssize_t n = write(break_fd_, &one, sizeof one);
      if (n == sizeof one) return;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;  // the counter is full: a wake is pending anyway
      Env::Fatal("runtime: netpollBreak write failed");
    }
  }

  // EpollPoller::Poll(delay_ns)                      GO: netpoll(delay)
  // delay < 0 blocks, 0 polls, > 0 waits up to delay. Makes the woken waiters
  // runnable (injectglist) and returns how many there were.
  int Poll(int64_t delay) {
    int waitms;
    if (delay < 0) {
      waitms = -1;
    } else if (delay == 0) {
      waitms = 0;
    } else if (delay < 1000000) {
      waitms = 1;
    } else if (delay < 1000000000000000) {
      waitms = static_cast<int>(delay / 1000000);
    } else {
      waitms = 1000000000;  // ~11.5 days, as Go caps it
    }
    epoll_event events[128];
    int n;
    for (;;) {
      n = epoll_wait(epfd_, events, 128, waitms);
      if (n >= 0) break;
      if (errno != EINTR) Env::Fatal("runtime: netpoll failed");
      // A timed wait returns so the caller recomputes its delay.
      if (waitms > 0) return 0;
    }
    GList<typename PD::G> to_run;
    int32_t delta = 0;
    for (int i = 0; i < n; i++) {
      const epoll_event& ev = events[i];
      if (ev.events == 0) continue;
      if (ev.data.ptr == &break_fd_) {
        if (ev.events != EPOLLIN) {
          Env::Fatal("runtime: netpoll: eventfd ready for something unexpected");
        }
        if (delay != 0) {
          // Only a blocking poll consumes the wake; a non-blocking one leaves
          // it for the next blocking poll (level-triggered, returns at once).
          uint64_t buf;
          (void)read(break_fd_, &buf, sizeof buf);
          wake_sig_.store(0, std::memory_order_release);  // pairs with Break's acq_rel CAS
        }
        continue;
      }
      delta += server_->PollEvent(ev.data.u64, ev.events, to_run);
    }
    const int woken = to_run.n;
    server_->InjectList(to_run, delta);
    return woken;
  }

  // WaiterPoller: a parking thread holding the poller role polls here.
  // GO-DIFF: Go's findRunnable polls with a delay up to the next timer,
  // since its timers run on the P; here deadlines run on the timer thread,
  // whose Unpark of a polling waiter breaks the poll (RealParker::Unpark),
  // so the round blocks without a timeout.
  void PollAsWaiter() override { Poll(-1); }
  void BreakPoll() override { Break(); }

  // Start(mode): run the poll loop until Stop(). kWaiterPolls needs the
  // process's waiter-poller slot (one netpoller per process, as Go has); if
  // another poller holds it, this one runs its own thread instead. Returns
  // the mode it runs in.
  PollerMode Start(PollerMode mode = PollerMode::kDedicatedThread) {
    if (mode == PollerMode::kWaiterPolls && Env::InstallWaiterPoller(this)) {
      waiter_mode_ = true;
      return mode;
    }
    StartThread();
    return PollerMode::kDedicatedThread;
  }
  void Stop() {
    if (waiter_mode_) {
      Env::RemoveWaiterPoller(this);
      waiter_mode_ = false;
    }
    StopThread();
  }

 private:
  // Runs the poll loop on its own thread until StopThread().
  void StartThread() {
    stop_.store(false, std::memory_order_relaxed);  // before the thread exists
    thread_ = std::thread([this] {
      // acquire: pairs with Stop's release store, made before its Break.
      while (!stop_.load(std::memory_order_acquire)) Poll(-1);
    });
  }
  void StopThread() {
    if (!thread_.joinable()) return;
    stop_.store(true, std::memory_order_release);
    Break();
    thread_.join();
  }

  Server* server_ = nullptr;
  int epfd_ = -1;
  int break_fd_ = -1;
  std::atomic<uint32_t> wake_sig_{0};  // GO: netpollWakeSig
  std::atomic<bool> stop_{false};
  std::thread thread_;
  bool waiter_mode_ = false;  // installed as the waiter poller (owner's thread only)
};

}  // namespace pollstorm
