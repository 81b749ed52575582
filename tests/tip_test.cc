// tests/tip_test.cc: what changed in Go's netpoll since the seed, on real
// threads (RealEnv): incarnation-tagged events (#59545), waiter accounting
// (#33624 / #60782), and every counter driven across its wrap and its field
// boundaries (fdseq at tagBits, fdseq's field in the info word, rseq/wseq at
// 2^64). Each expectation is per variant: the historical ports must show the
// known bugs, tip must not.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "polldesc/real.h"
#include "tests/test_util.h"

namespace pollstorm {
namespace {

template <class V>
class IncarnationTest : public ::testing::Test {};
using Variants = ::testing::Types<Legacy, Seed, Fixed, Tip>;
TYPED_TEST_SUITE(IncarnationTest, Variants, VariantNames);

constexpr bool kTipLike(std::string_view n) { return n == Tip::kName; }

// Go #59545: an event captured for incarnation 0 is delivered after the
// descriptor was freed and reused. Before tip it reaches incarnation 1.
TYPED_TEST(IncarnationTest, StaleEventErrorReachesOnlyTheHistoricalVariants) {
  RealServer<TypeParam> server;
  auto* pd = server.Open(~uintptr_t{0}).first;
  const uint64_t key0 = server.EventKey(pd);
  pd->Unblock();
  server.Close(pd);
  auto* again = server.Open(~uintptr_t{0}).first;
  ASSERT_EQ(again, pd) << "the LIFO cache reuses the descriptor";
  server.ErrEvent(key0, true);
  const int want = kTipLike(TypeParam::kName) ? kPollNoError : kPollErrNotPollable;
  EXPECT_EQ(again->Reset(kModeRead), want);
  // The stale readiness: dropped by tip, delivered (a spurious ready) before.
  EXPECT_EQ(server.ReadyEvent(key0, kModeRead), !kTipLike(TypeParam::kName));
  again->Unblock();
  server.Close(again);
}

// Go #33624: a poller-woken waiter is never subtracted from netpollWaiters
// before tip; tip's delta brings it back to 0.
TYPED_TEST(IncarnationTest, PollerWakeLeavesWaitersAtZeroOnlyOnTip) {
  RealServer<TypeParam> server;
  auto* pd = server.Open(~uintptr_t{0}).first;
  std::thread waiter([pd] { EXPECT_EQ(pd->Wait(kModeRead), kPollNoError); });
  const int64_t give_up = RealEnv::Nanotime() + int64_t{5} * 1000000000;
  while (server.Waiters() != 1 && RealEnv::Nanotime() < give_up) std::this_thread::yield();
  ASSERT_EQ(server.Waiters(), 1) << "the waiter committed";
  // Until the waiter is parked (slot holds its G), a ready could find WAIT.
  while (pd->DebugSnapshot().rg <= kPdWait && RealEnv::Nanotime() < give_up) std::this_thread::yield();
  EXPECT_TRUE(server.ReadyEvent(server.EventKey(pd), kModeRead));
  waiter.join();
  EXPECT_EQ(server.Waiters(), kTipLike(TypeParam::kName) ? 0 : 1);
  pd->Unblock();
  server.Close(pd);
}

// rseq/wseq across 2^64: a timer armed just before the wrap, left pending
// when the descriptor is reused across it, must not expire the new
// incarnation (the seq check is equality, so the wrap must not matter).
TYPED_TEST(IncarnationTest, StaleTimerAcrossTheSeqWrapIsIgnored) {
  CounterOrigin origin;
  origin.rseq = UINT64_MAX - 1;
  origin.wseq = UINT64_MAX - 1;
  RealServer<TypeParam> server(nullptr, origin);
  auto* pd = server.Open(~uintptr_t{0}).first;  // rseq = 2^64 - 1
  EXPECT_EQ(pd->DebugSnapshot().rseq, UINT64_MAX);
  pd->SetDeadline(2 * 1000000, kModeReadWrite);  // 2 ms, armed at seq 2^64 - 1
  pd->SetDeadline(3 * 1000000, kModeWrite);      // split: a write timer too
  pd->Unblock();                                 // rseq wraps to 0
  server.Close(pd);
  auto* again = server.Open(~uintptr_t{0}).first;
  ASSERT_EQ(again, pd);
  EXPECT_LT(again->DebugSnapshot().rseq, 16u) << "rseq crossed 2^64";
  EXPECT_LT(again->DebugSnapshot().wseq, 16u) << "wseq crossed 2^64";
  std::this_thread::sleep_for(std::chrono::milliseconds(8));
  EXPECT_EQ(again->Reset(kModeRead), kPollNoError);
  EXPECT_EQ(again->Reset(kModeWrite), kPollNoError);
  // And a deadline of the new incarnation still fires.
  again->SetDeadline(1000000, kModeRead);
  EXPECT_EQ(again->Wait(kModeRead), kPollErrTimeout);
  again->Unblock();
  server.Close(again);
}

class TipCounters : public ::testing::Test {
 protected:
  using Server = RealServer<Tip>;
  // One close/open cycle; returns the new incarnation's fdseq.
  static uintptr_t Cycle(Server& s, RealPollDesc<Tip>*& pd) {
    pd->Unblock();
    s.Close(pd);
    pd = s.Open(~uintptr_t{0}).first;
    return pd->Fdseq();
  }
  // Whether an EPOLLERR event for the current incarnation is reported.
  static bool EventErrorSeen(Server& s, RealPollDesc<Tip>* pd) {
    s.ErrEvent(s.EventKey(pd), true);
    const bool seen = pd->Reset(kModeRead) == kPollErrNotPollable;
    s.ErrEvent(s.EventKey(pd), false);
    return seen;
  }
};

// fdseq at tagBits (25): it wraps to 0, which pollOpen never uses (0 is
// setEventErr's "any" value) and turns into 1. Events keep working.
TEST_F(TipCounters, FdseqWrapsAtTagBitsAndSkipsZero) {
  CounterOrigin origin;
  origin.fdseq = (uintptr_t{1} << tip::kTagBits) - 2;
  Server s(nullptr, origin);
  auto* pd = s.Open(~uintptr_t{0}).first;
  EXPECT_EQ(pd->Fdseq(), (uintptr_t{1} << tip::kTagBits) - 2);
  EXPECT_EQ(Cycle(s, pd), (uintptr_t{1} << tip::kTagBits) - 1);
  EXPECT_EQ(Cycle(s, pd), 1u) << "the wrap to 0 is skipped";
  const uint64_t key = s.EventKey(pd);
  EXPECT_EQ(tip::TaggedPointerTag(key), 1u);
  EXPECT_EQ(tip::TaggedPointerPointer(key), pd);
  EXPECT_TRUE(s.ReadyEvent(key, kModeRead));
  EXPECT_EQ(pd->Wait(kModeRead), kPollNoError);
  pd->Unblock();
  s.Close(pd);
}

// The fdseq field of the info word, at its 16-bit boundary (the GO-BUG? in
// netpoll_tip.h SetEventErr and corpus/triage/tip-fdseq-field-16-bits.txt):
// Go's code, as ported, loses the event error for the current incarnation
// whenever fdseq has a bit among 16..19 set. This test pins the port to Go's
// behaviour on both sides of each boundary, so a "fix" in the port (which
// would no longer be Go) fails here.
TEST_F(TipCounters, EventErrorAcrossTheInfoFieldBoundaries) {
  struct Case {
    uintptr_t fdseq;
    bool seen;
  };
  const Case cases[] = {
      {0xFFFF, true},     // the last value whose low 20 bits fit in 16
      {0x10000, false},   // bit 16 set: lost (Go's code)
      {0xF0000, false},   // bits 16..19 set: lost
      {0xFFFFF, false},   // the last 20-bit value: lost
      {0x100000, true},   // bits 16..19 clear again (bit 20 is outside the mask)
      {0x10FFFF, true},
  };
  for (const Case& c : cases) {
    CounterOrigin origin;
    origin.fdseq = c.fdseq;
    Server s(nullptr, origin);
    auto* pd = s.Open(~uintptr_t{0}).first;
    ASSERT_EQ(pd->Fdseq(), c.fdseq);
    EXPECT_EQ(EventErrorSeen(s, pd), c.seen) << "fdseq 0x" << std::hex << c.fdseq;
    pd->Unblock();
    s.Close(pd);
  }
}

// One descriptor through 2^20 incarnations (the whole 20-bit field, crossing
// 2^16 sixteen times): every incarnation's tag is its fdseq, the sequence is
// exact, and readiness keeps reaching it. Prints the rate.
TEST_F(TipCounters, OneDescriptorThroughTwoToTheTwentyIncarnations) {
  Server s;
  auto* pd = s.Open(~uintptr_t{0}).first;
  uintptr_t want = pd->Fdseq();
  const int64_t t0 = RealEnv::Nanotime();
  constexpr int kN = 1 << 20;
  int lost = 0;
  for (int i = 0; i < kN; i++) {
    want = (want + 1) & ((uintptr_t{1} << tip::kTagBits) - 1);
    if (want == 0) want = 1;
    ASSERT_EQ(Cycle(s, pd), want) << "incarnation " << i;
    if ((i & 0xFFF) == 0) {
      lost += !s.ReadyEvent(s.EventKey(pd), kModeRead);
      lost += pd->Wait(kModeRead) != kPollNoError;
    }
  }
  const double secs = (RealEnv::Nanotime() - t0) / 1e9;
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(pd->Fdseq(), uintptr_t{kN} + 1);
  std::printf("[ figures  ] %d incarnations in %.2f s: %.0f incarnations/s\n", kN, secs, kN / secs);
  pd->Unblock();
  s.Close(pd);
}

// taggedPointerPack throws for a pointer whose low tagAlignBits are not zero.
TEST(TipTaggedPointer, PackRejectsUnalignedPointers) {
  alignas(512) static char block[1024];
  const auto t = tip::TaggedPointerPack<RealEnv>(block, 0x1ABCDEF);
  EXPECT_EQ(tip::TaggedPointerPointer(t), static_cast<void*>(block));
  EXPECT_EQ(tip::TaggedPointerTag(t), 0x1ABCDEFu);
  EXPECT_DEATH(tip::TaggedPointerPack<RealEnv>(block + 8, 1), "taggedPointerPack");
}

}  // namespace
}  // namespace pollstorm
