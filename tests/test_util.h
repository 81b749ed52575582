// tests/test_util.h: small helpers shared by the GoogleTest suites.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

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

}  // namespace pollstorm
