// tests/polldesc_test.cc: the documented behaviours of pollDesc (semantics
// reference §4-§6), on real threads, real timers and the real epoll poller,
// for each variant. Test names are `PollDescTest/<variant>.<Behaviour>`, so a
// lane can select a variant with --gtest_filter.
//
// Timing: assertions never depend on a wait finishing quickly. "Blocks" is
// checked by a deadline that must fire (or a result that must not appear)
// after a generous interval; "never early" compares against CLOCK_MONOTONIC.
#include <gtest/gtest.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <utility>

#include "polldesc/real.h"
#include "tests/test_util.h"

namespace pollstorm {
namespace {

template <class V>
class PollDescTest : public ::testing::Test {
 protected:
  using Server = RealServer<V>;
  using PD = RealPollDesc<V>;

  PD* OpenMem() {
    auto [pd, err] = server_.Open(~uintptr_t{0});
    EXPECT_EQ(err, 0);
    return pd;
  }
  void CloseMem(PD* pd) {
    pd->Unblock();
    server_.Close(pd);
  }

  Server server_;
};

using Variants = ::testing::Types<Legacy, Seed, Fixed, Tip>;
TYPED_TEST_SUITE(PollDescTest, Variants, VariantNames);

TYPED_TEST(PollDescTest, ReadinessIsLatchedAndCoalesced) {
  auto* pd = this->OpenMem();
  ASSERT_EQ(pd->Reset(kModeRead), kPollNoError);
  // Three notifications before anybody waits: latched, and coalesced to one.
  this->server_.Ready(pd, kModeRead);
  this->server_.Ready(pd, kModeRead);
  this->server_.Ready(pd, kModeRead);
  EXPECT_EQ(pd->Wait(kModeRead), kPollNoError);
  // The pending READY was consumed: the next wait blocks until its deadline.
  pd->SetDeadline(Ms(30), kModeRead);
  EXPECT_EQ(pd->Wait(kModeRead), kPollErrTimeout);
  this->CloseMem(pd);
}

TYPED_TEST(PollDescTest, ReadinessIsPerMode) {
  auto* pd = this->OpenMem();
  this->server_.Ready(pd, kModeWrite);
  pd->SetDeadline(Ms(30), kModeRead);
  EXPECT_EQ(pd->Wait(kModeRead), kPollErrTimeout);  // a write edge does not wake a reader
  EXPECT_EQ(pd->Wait(kModeWrite), kPollNoError);
  this->server_.Ready(pd, kModeReadWrite);
  EXPECT_EQ(pd->Reset(kModeRead), kPollErrTimeout);  // still expired for reads
  EXPECT_EQ(pd->Wait(kModeWrite), kPollNoError);
  this->CloseMem(pd);
}

TYPED_TEST(PollDescTest, ResetDropsReadiness) {
  auto* pd = this->OpenMem();
  this->server_.Ready(pd, kModeRead);
  ASSERT_EQ(pd->Reset(kModeRead), kPollNoError);
  pd->SetDeadline(Ms(30), kModeRead);
  EXPECT_EQ(pd->Wait(kModeRead), kPollErrTimeout);
  this->CloseMem(pd);
}

TYPED_TEST(PollDescTest, ReadyWakesParkedWaiter) {
  auto* pd = this->OpenMem();
  ASSERT_EQ(pd->Reset(kModeRead), kPollNoError);
  auto waiter = std::async(std::launch::async, [&] { return pd->Wait(kModeRead); });
  WaitUntilParked(pd, kModeRead);
  // The waiter counts itself (netpollWaiters += 1) just after the CAS that
  // puts its G in rg, and rg is all WaitUntilParked looks at: give the count
  // the same 10 s. Read at once, it was 0 once on aarch64-lse under QEMU
  // (the waiter descheduled between the two).
  const int64_t deadline = RealEnv::Nanotime() + Ms(10000);
  while (this->server_.Waiters() != 1 && RealEnv::Nanotime() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_EQ(this->server_.Waiters(), 1);
  this->server_.Ready(pd, kModeRead);
  EXPECT_EQ(waiter.get(), kPollNoError);
  this->CloseMem(pd);
}

TYPED_TEST(PollDescTest, PastDeadlineTimesOutAtOnce) {
  auto* pd = this->OpenMem();
  pd->SetDeadline(-1, kModeRead);
  EXPECT_EQ(pd->Reset(kModeRead), kPollErrTimeout);
  EXPECT_EQ(pd->Wait(kModeRead), kPollErrTimeout);
  this->CloseMem(pd);
}

TYPED_TEST(PollDescTest, PastReadDeadlineLeavesWritesAlone) {
  auto* pd = this->OpenMem();
  pd->SetDeadline(-1, kModeRead);
  EXPECT_EQ(pd->Reset(kModeWrite), kPollNoError);
  this->server_.Ready(pd, kModeWrite);
  EXPECT_EQ(pd->Wait(kModeWrite), kPollNoError);
  this->CloseMem(pd);
}

TYPED_TEST(PollDescTest, ZeroDeadlineMeansNone) {
  auto* pd = this->OpenMem();
  pd->SetDeadline(-1, kModeRead);
  pd->SetDeadline(0, kModeRead);  // clears the expiry
  EXPECT_EQ(pd->Reset(kModeRead), kPollNoError);
  EXPECT_EQ(pd->DebugSnapshot().rd, 0);
  EXPECT_FALSE(pd->DebugSnapshot().rt_armed);
  this->CloseMem(pd);
}

TYPED_TEST(PollDescTest, FutureDeadlineFiresNeverEarly) {
  auto* pd = this->OpenMem();
  ASSERT_EQ(pd->Reset(kModeRead), kPollNoError);
  const int64_t start = RealEnv::Nanotime();
  pd->SetDeadline(Ms(40), kModeRead);
  EXPECT_EQ(pd->Wait(kModeRead), kPollErrTimeout);
  EXPECT_GE(RealEnv::Nanotime() - start, Ms(40));
  EXPECT_EQ(pd->DebugSnapshot().rd, -1);
  if constexpr (std::is_same_v<TypeParam, Tip>) {
    // Tip's netpolldeadlineimpl no longer clears rrun: the flag stays set
    // until the next pollSetDeadline stops or re-modifies the fired timer.
    EXPECT_TRUE(pd->DebugSnapshot().rt_armed) << "tip keeps rrun after the timer fires";
  } else {
    EXPECT_FALSE(pd->DebugSnapshot().rt_armed) << "SEED clears rt.f when the timer fires";
  }
  this->CloseMem(pd);
}

TYPED_TEST(PollDescTest, OverflowingDeadlineSaturates) {
  auto* pd = this->OpenMem();
  pd->SetDeadline(INT64_MAX, kModeRead);
  EXPECT_EQ(pd->DebugSnapshot().rd, INT64_MAX);
  EXPECT_TRUE(pd->DebugSnapshot().rt_armed);
  // Regression: a timer at INT64_MAX once made the timer thread spin (the
  // wait overflowed), starving Delete. The process must stay nearly idle.
  timespec a, b;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
  const int64_t cpu_ns = (b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
  EXPECT_LT(cpu_ns, Ms(150)) << "the timer thread is busy while nothing is due";
  this->CloseMem(pd);
}

TYPED_TEST(PollDescTest, ExtendingDeadlineWhileBlockedKeepsWaiting) {
  auto* pd = this->OpenMem();
  ASSERT_EQ(pd->Reset(kModeRead), kPollNoError);
  pd->SetDeadline(Ms(60), kModeRead);
  const int64_t start = RealEnv::Nanotime();
  auto waiter = std::async(std::launch::async, [&] { return pd->Wait(kModeRead); });
  WaitUntilParked(pd, kModeRead);
  pd->SetDeadline(Ms(10000), kModeRead);  // extend before the first one fires
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  // Past the original deadline, the waiter must still be parked.
  EXPECT_GT(pd->DebugSnapshot().rg, kPdWait);
  this->server_.Ready(pd, kModeRead);
  EXPECT_EQ(waiter.get(), kPollNoError);
  EXPECT_GE(RealEnv::Nanotime() - start, Ms(150));
  this->CloseMem(pd);
}

TYPED_TEST(PollDescTest, ShorteningDeadlineWhileBlockedWakesEarlier) {
  auto* pd = this->OpenMem();
  pd->SetDeadline(Ms(60000), kModeRead);
  auto waiter = std::async(std::launch::async, [&] { return pd->Wait(kModeRead); });
  WaitUntilParked(pd, kModeRead);
  pd->SetDeadline(Ms(20), kModeRead);
  EXPECT_EQ(waiter.get(), kPollErrTimeout);
  this->CloseMem(pd);
}

// The timer service (polldesc/real_env.cc) wakes its thread only for a
// deadline earlier than the one it sleeps until. Pushing a pending deadline
// later, as internal/poll does before every read, must not wake it: this
// counts the wakes Modify sends, which is exact (decided under the service
// lock), not a timing.
TYPED_TEST(PollDescTest, RearmToLaterDeadlineDoesNotWakeTimerThread) {
  auto* pd = this->OpenMem();
  pd->SetDeadline(Ms(3600000), kModeRead);  // the first arm may wake it
  TimerService& ts = TimerService::Global();
  const uint64_t before = ts.DebugNotifies();
  for (int i = 1; i <= 1000; i++) pd->SetDeadline(Ms(3600000) + i, kModeRead);
  EXPECT_EQ(ts.DebugNotifies(), before) << "a re-arm to a later deadline woke the timer thread";
  EXPECT_TRUE(pd->DebugSnapshot().rt_armed);
  EXPECT_EQ(pd->Reset(kModeRead), kPollNoError) << "the deadline is an hour away";
  this->CloseMem(pd);
}

// The timer thread sleeps until the first deadline, which is then moved
// later without waking it: it wakes at the old deadline, must find nothing
// due, and fire at the new one, never before. (No wake count here: on a
// loaded machine the first deadline may fire before the re-arm, which then
// arms afresh and rightly wakes the thread.)
TYPED_TEST(PollDescTest, RearmToLaterDeadlineFiresNeverAtTheOldOne) {
  auto* pd = this->OpenMem();
  ASSERT_EQ(pd->Reset(kModeRead), kPollNoError);
  pd->SetDeadline(Ms(20), kModeRead);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // let the timer thread sleep
  const int64_t start = RealEnv::Nanotime();
  pd->SetDeadline(Ms(120), kModeRead);
  EXPECT_EQ(pd->Wait(kModeRead), kPollErrTimeout);
  EXPECT_GE(RealEnv::Nanotime() - start, Ms(120)) << "fired at (or near) the old deadline";
  EXPECT_EQ(pd->DebugSnapshot().rd, -1);
  this->CloseMem(pd);
}

// Deadlines moved both ways among several pending timers: each fires, never
// before its own (new) deadline, and one moved earlier does not drag the
// others with it.
TYPED_TEST(PollDescTest, RearmsBothWaysAmongSeveralTimersFireNeverEarly) {
  auto* a = this->OpenMem();
  auto* b = this->OpenMem();
  auto* c = this->OpenMem();
  a->SetDeadline(Ms(3600000), kModeRead);
  b->SetDeadline(Ms(50), kModeRead);
  c->SetDeadline(Ms(3600000) + 1, kModeRead);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // let it sleep until b's
  const int64_t start = RealEnv::Nanotime();
  a->SetDeadline(Ms(40), kModeRead);   // an hour -> 40 ms: before b's, a wake
  b->SetDeadline(Ms(80), kModeRead);   // 50 ms -> 80 ms: later, no wake
  c->SetDeadline(Ms(60), kModeWrite);  // c's read deadline stays an hour away
  auto wa = std::async(std::launch::async, [&] {
    const int r = a->Wait(kModeRead);
    return std::make_pair(r, RealEnv::Nanotime() - start);
  });
  auto wb = std::async(std::launch::async, [&] {
    const int r = b->Wait(kModeRead);
    return std::make_pair(r, RealEnv::Nanotime() - start);
  });
  const int rc = c->Wait(kModeWrite);
  const int64_t tc = RealEnv::Nanotime() - start;
  const auto [ra, ta] = wa.get();
  const auto [rb, tb] = wb.get();
  EXPECT_EQ(ra, kPollErrTimeout);
  EXPECT_EQ(rb, kPollErrTimeout);
  EXPECT_EQ(rc, kPollErrTimeout);
  EXPECT_GE(ta, Ms(40));
  EXPECT_GE(tb, Ms(80));
  EXPECT_GE(tc, Ms(60));
  EXPECT_EQ(c->Reset(kModeRead), kPollNoError) << "c's read deadline fired with its write one";
  EXPECT_TRUE(c->DebugSnapshot().rt_armed);
  this->CloseMem(a);
  this->CloseMem(b);
  this->CloseMem(c);
}

#ifdef __linux__
// The timer thread runs with 1 ns timer slack (the default 50 us made every
// deadline 50 us late). Read from inside a timer callback, which runs on
// that thread; the test's own thread keeps the default.
TEST(TimerServiceTest, TimerThreadRunsWithOneNanosecondSlack) {
  std::promise<long> slack;
  RealTimer t;
  t.Modify(
      RealEnv::Nanotime(),
      [](void* arg, uintptr_t) {
        static_cast<std::promise<long>*>(arg)->set_value(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
      },
      &slack, 0);
  EXPECT_EQ(slack.get_future().get(), 1);
  t.WaitIdle();  // the callback has returned before t goes away
  EXPECT_NE(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), 1) << "only the timer thread changes";
}
#endif

TYPED_TEST(PollDescTest, ComboDeadlineUsesOneTimerForBoth) {
  auto* pd = this->OpenMem();
  pd->SetDeadline(Ms(40), kModeReadWrite);
  const auto s = pd->DebugSnapshot();
  EXPECT_EQ(s.rd, s.wd);
  EXPECT_TRUE(s.rt_armed);
  EXPECT_FALSE(s.wt_armed) << "combo: the write timer stays unarmed";
  auto reader = std::async(std::launch::async, [&] { return pd->Wait(kModeRead); });
  auto writer = std::async(std::launch::async, [&] { return pd->Wait(kModeWrite); });
  EXPECT_EQ(reader.get(), kPollErrTimeout);
  EXPECT_EQ(writer.get(), kPollErrTimeout);
  this->CloseMem(pd);
}

TYPED_TEST(PollDescTest, SplittingComboRearmsBothTimers) {
  auto* pd = this->OpenMem();
  pd->SetDeadline(Ms(60000), kModeReadWrite);
  pd->SetDeadline(Ms(30), kModeWrite);  // no longer equal: separate timers
  const auto s = pd->DebugSnapshot();
  EXPECT_TRUE(s.rt_armed);
  EXPECT_TRUE(s.wt_armed);
  EXPECT_EQ(pd->Wait(kModeWrite), kPollErrTimeout);
  EXPECT_EQ(pd->Reset(kModeRead), kPollNoError) << "the read deadline is still in the future";
  this->CloseMem(pd);
}

TYPED_TEST(PollDescTest, UnblockWakesBothWaitersWithClosing) {
  auto* pd = this->OpenMem();
  auto reader = std::async(std::launch::async, [&] { return pd->Wait(kModeRead); });
  auto writer = std::async(std::launch::async, [&] { return pd->Wait(kModeWrite); });
  WaitUntilParked(pd, kModeRead);
  WaitUntilParked(pd, kModeWrite);
  pd->Unblock();
  EXPECT_EQ(reader.get(), kPollErrClosing);
  EXPECT_EQ(writer.get(), kPollErrClosing);
  // Later operations fail at once.
  EXPECT_EQ(pd->Reset(kModeRead), kPollErrClosing);
  EXPECT_EQ(pd->Wait(kModeWrite), kPollErrClosing);
  this->server_.Close(pd);
}

TYPED_TEST(PollDescTest, CloseNeverCreatesReadiness) {
  auto* pd = this->OpenMem();
  pd->Unblock();
  EXPECT_EQ(pd->DebugSnapshot().rg, kPdNil);
  EXPECT_EQ(pd->DebugSnapshot().wg, kPdNil);
  this->server_.Close(pd);
}

TYPED_TEST(PollDescTest, SetDeadlineAfterUnblockIsNoop) {
  auto* pd = this->OpenMem();
  pd->Unblock();
  pd->SetDeadline(-1, kModeReadWrite);
  pd->SetDeadline(Ms(10), kModeRead);
  const auto s = pd->DebugSnapshot();
  EXPECT_EQ(s.rd, 0);
  EXPECT_EQ(s.wd, 0);
  EXPECT_FALSE(s.rt_armed);
  EXPECT_EQ(pd->Wait(kModeRead), kPollErrClosing);
  this->server_.Close(pd);
}

TYPED_TEST(PollDescTest, UnblockDeletesTimers) {
  auto* pd = this->OpenMem();
  pd->SetDeadline(Ms(10), kModeRead);
  pd->SetDeadline(Ms(20), kModeWrite);
  pd->Unblock();
  EXPECT_FALSE(pd->DebugSnapshot().rt_armed);
  EXPECT_FALSE(pd->DebugSnapshot().wt_armed);
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  EXPECT_GT(pd->DebugSnapshot().rd, 0) << "a deleted timer must not expire the deadline";
  this->server_.Close(pd);
}

TYPED_TEST(PollDescTest, CacheIsLifo) {
  auto* a = this->OpenMem();
  auto* b = this->OpenMem();
  EXPECT_NE(a, b);
  this->CloseMem(a);
  this->CloseMem(b);
  EXPECT_EQ(this->OpenMem(), b);
  EXPECT_EQ(this->OpenMem(), a);
}

TYPED_TEST(PollDescTest, ReuseStartsFreshIncarnation) {
  auto* pd = this->OpenMem();
  pd->SetDeadline(-1, kModeRead);
  this->server_.ErrEvent(this->server_.EventKey(pd), true);
  const auto before = pd->DebugSnapshot();
  this->CloseMem(pd);
  auto* again = this->OpenMem();
  ASSERT_EQ(again, pd);
  const auto s = again->DebugSnapshot();
  EXPECT_FALSE(s.closing);
  EXPECT_FALSE(s.everr);
  EXPECT_EQ(s.rd, 0);
  EXPECT_EQ(s.wd, 0);
  EXPECT_GT(s.rseq, before.rseq);
  EXPECT_GT(s.wseq, before.wseq);
  EXPECT_EQ(again->Reset(kModeRead), kPollNoError);
  this->CloseMem(again);
}

// The previous incarnation's timer is made to fire around the moment the
// descriptor is unblocked, freed and reused, so some firings are already
// running (stale) when the new incarnation starts. None may expire it.
TYPED_TEST(PollDescTest, ReusedDescriptorNeverSeesPreviousTimer) {
  for (int i = 0; i < 300; i++) {
    auto* pd = this->OpenMem();
    pd->SetDeadline(1000 * (i % 50), kModeReadWrite);  // 0..49 us
    pd->SetDeadline(1000 * (i % 37), kModeWrite);
    this->CloseMem(pd);
    auto* again = this->OpenMem();
    ASSERT_EQ(again, pd);
    std::this_thread::sleep_for(std::chrono::microseconds(60));
    ASSERT_EQ(again->Reset(kModeRead), kPollNoError) << "iteration " << i;
    ASSERT_EQ(again->Reset(kModeWrite), kPollNoError) << "iteration " << i;
    this->CloseMem(again);
  }
}

TYPED_TEST(PollDescTest, EventErrorIsReportedOnReadsOnly) {
  auto* pd = this->OpenMem();
  this->server_.ErrEvent(this->server_.EventKey(pd), true);
  EXPECT_EQ(pd->Reset(kModeRead), kPollErrNotPollable);
  EXPECT_EQ(pd->Wait(kModeRead), kPollErrNotPollable);
  EXPECT_EQ(pd->Reset(kModeWrite), kPollNoError);
  this->server_.ErrEvent(this->server_.EventKey(pd), false);
  EXPECT_EQ(pd->Reset(kModeRead), kPollNoError);
  this->CloseMem(pd);
}

// The event error is the poller's state, not the deadline's: a deadline
// change must leave it alone (tip: publishInfo keeps the eventErr bit, "Set
// all of x except the pollEventErr bit"; before tip, everr is its own field).
TYPED_TEST(PollDescTest, DeadlineChangesLeaveTheEventErrorAlone) {
  auto* pd = this->OpenMem();
  this->server_.ErrEvent(this->server_.EventKey(pd), true);
  pd->SetDeadline(Ms(60000), kModeRead);
  EXPECT_EQ(pd->Reset(kModeRead), kPollErrNotPollable);
  pd->SetDeadline(0, kModeReadWrite);
  EXPECT_EQ(pd->Reset(kModeRead), kPollErrNotPollable);
  this->CloseMem(pd);
}

TYPED_TEST(PollDescTest, ErrorPrecedenceIsClosingThenTimeoutThenEventError) {
  auto* pd = this->OpenMem();
  this->server_.ErrEvent(this->server_.EventKey(pd), true);
  EXPECT_EQ(pd->Reset(kModeRead), kPollErrNotPollable);
  pd->SetDeadline(-1, kModeRead);
  EXPECT_EQ(pd->Reset(kModeRead), kPollErrTimeout);
  pd->Unblock();
  EXPECT_EQ(pd->Reset(kModeRead), kPollErrClosing);
  this->server_.Close(pd);
}

TYPED_TEST(PollDescTest, WaitCanceledIgnoresCloseUntilIo) {
  auto* pd = this->OpenMem();
  std::atomic<bool> done{false};
  std::thread t([&] {
    pd->WaitCanceled(kModeRead);
    done.store(true);
  });
  WaitUntilParked(pd, kModeRead);
  pd->Unblock();  // wakes it; it parks again
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(done.load());
  WaitUntilParked(pd, kModeRead);
  this->server_.Ready(pd, kModeRead);
  t.join();
  EXPECT_TRUE(done.load());
  this->server_.Close(pd);
}

// ---- concurrent cases: the TSan lane runs these against every variant ----

// Two threads ping-pong readiness through two descriptors (pattern A).
TYPED_TEST(PollDescTest, ConcurrentPingPong) {
  auto* a = this->OpenMem();
  auto* b = this->OpenMem();
  constexpr int kRounds = 2000;
  ASSERT_EQ(a->Reset(kModeRead), kPollNoError);
  // Each side resets only its own descriptor (the waiter's privilege), after
  // its wait and before it notifies the other side.
  std::thread partner([&] {
    for (int i = 0; i < kRounds; i++) {
      ASSERT_EQ(a->Wait(kModeRead), kPollNoError);
      ASSERT_EQ(a->Reset(kModeRead), kPollNoError);
      this->server_.Ready(b, kModeRead);
    }
  });
  for (int i = 0; i < kRounds; i++) {
    ASSERT_EQ(b->Reset(kModeRead), kPollNoError);
    this->server_.Ready(a, kModeRead);
    ASSERT_EQ(b->Wait(kModeRead), kPollNoError);
  }
  partner.join();
  this->CloseMem(a);
  this->CloseMem(b);
}

// Close races with a waiter entering its wait (pattern B): every waiter must
// return closing, none may hang.
TYPED_TEST(PollDescTest, ConcurrentCloseWhileWaiting) {
  for (int i = 0; i < 300; i++) {
    auto* pd = this->OpenMem();
    auto waiter = std::async(std::launch::async, [&] { return pd->Wait(kModeRead); });
    if (i % 2) std::this_thread::yield();
    pd->Unblock();
    ASSERT_EQ(waiter.get(), kPollErrClosing) << "iteration " << i;
    this->server_.Close(pd);
  }
}

// An expiring deadline races with a waiter entering its wait (pattern B).
TYPED_TEST(PollDescTest, ConcurrentDeadlineWhileWaiting) {
  for (int i = 0; i < 300; i++) {
    auto* pd = this->OpenMem();
    pd->SetDeadline(1 + 1000 * (i % 20), kModeRead);  // 1 ns .. 19 us
    ASSERT_EQ(pd->Wait(kModeRead), kPollErrTimeout) << "iteration " << i;
    this->CloseMem(pd);
  }
}

// Readiness from a notifier thread races with the waiter consuming it: the
// notifier keeps sending until the waiter has seen kWaits wakeups.
TYPED_TEST(PollDescTest, ConcurrentReadyAndConsume) {
  auto* pd = this->OpenMem();
  std::atomic<bool> stop{false};
  constexpr int kWaits = 5000;
  std::thread notifier([&] {
    while (!stop.load()) this->server_.Ready(pd, kModeRead);
  });
  for (int i = 0; i < kWaits; i++) {
    ASSERT_EQ(pd->Wait(kModeRead), kPollNoError);
  }
  stop.store(true);
  notifier.join();
  this->CloseMem(pd);
}

// ---- invariants that throw (death tests) ----

using PollDescDeathTest = PollDescTest<Fixed>;

TEST_F(PollDescDeathTest, DoubleWaitThrows) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto* pd = OpenMem();
        std::thread t([&] { pd->Wait(kModeRead); });
        WaitUntilParked(pd, kModeRead);
        pd->Wait(kModeRead);
      },
      "fatal error: runtime: double wait");
}

TEST_F(PollDescDeathTest, CloseWithoutUnblockThrows) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto* pd = OpenMem();
        server_.Close(pd);
      },
      "fatal error: runtime: close polldesc w/o unblock");
}

TEST_F(PollDescDeathTest, UnblockTwiceThrows) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto* pd = OpenMem();
        pd->Unblock();
        pd->Unblock();
      },
      "fatal error: runtime: unblock on closing polldesc");
}

TEST_F(PollDescDeathTest, CloseWithParkedWaiterThrows) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto* pd = OpenMem();
        // WaitCanceled parks again after the unblock, so a G is in the slot.
        std::thread t([&] { pd->WaitCanceled(kModeRead); });
        WaitUntilParked(pd, kModeRead);
        pd->Unblock();  // takes the G synchronously; the waiter parks again
        WaitUntilParked(pd, kModeRead);
        server_.Close(pd);
      },
      "fatal error: runtime: blocked read on closing polldesc");
}

}  // namespace
}  // namespace pollstorm
