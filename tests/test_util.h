// tests/test_util.h: small helpers shared by the GoogleTest suites.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "polldesc/epoll_poller.h"
#include "polldesc/poll_desc.h"
#include "polldesc/real_env.h"

namespace pollstorm {

constexpr int64_t Ms(int64_t ms) { return ms * 1000000; }

// Names typed tests after the variant: PollDescTest/fixed.Behaviour.
struct VariantNames {
  template <class V>
  static std::string GetName(int) {
    return std::string(V::kName);
  }
};

// Spins until a waiter has committed (the slot holds a parked G). Fails the
// test after 10 s instead of hanging.
template <class PD>
void WaitUntilParked(PD* pd, int mode) {
  const int64_t deadline = RealEnv::Nanotime() + Ms(10000);
  for (;;) {
    const auto s = pd->DebugSnapshot();
    if ((mode == kModeRead ? s.rg : s.wg) > kPdWait) return;
    if (RealEnv::Nanotime() > deadline) {
      ADD_FAILURE() << "waiter never parked";
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// The poller mode the Fd suites run in: POLLSTORM_TEST_POLLER=thread (the
// default) or waiter (the waiter polls, issue #17), so every Fd test runs in
// both (ctest unit.fd.waiter). Any other value: a clear error, exit 2.
inline PollerMode TestPollerMode() {
  const char* e = std::getenv("POLLSTORM_TEST_POLLER");
  if (e == nullptr || *e == '\0' || std::strcmp(e, "thread") == 0) return PollerMode::kDedicatedThread;
  if (std::strcmp(e, "waiter") == 0) return PollerMode::kWaiterPolls;
  std::fprintf(stderr, "POLLSTORM_TEST_POLLER='%.80s' is not a poller mode (thread, waiter)\n", e);
  std::exit(2);
}

}  // namespace pollstorm
