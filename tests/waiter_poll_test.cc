// tests/waiter_poll_test.cc: the waiter becomes the poller (issue #17,
// RealParker in polldesc/real_env.h): EpollPoller::Start(kWaiterPolls), real
// pipes behind the Fd facade, real threads. What the protocol owes:
//   - a waiter about to park with the role free polls itself, and its own
//     readiness returns it from its own round (no relay);
//   - readiness for another parked waiter, seen by the polling one, reaches
//     that waiter (it is not consumed);
//   - the role is handed on: after the polling waiter leaves, the others
//     still get their readiness, however many come and go;
//   - deadlines and closes break a polling waiter out of epoll_wait.
// Every wait is bounded: a lost wake fails the test (the fds are closed to
// release the stuck threads) instead of hanging it.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "polldesc/real.h"
#include "tests/test_util.h"

namespace pollstorm {
namespace {

template <class V>
class WaiterPollTest : public ::testing::Test {
 protected:
  using FdT = RealFd<V>;
  struct Pipe {
    std::unique_ptr<FdT> r, w;
  };

  WaiterPollTest() : server_(&poller_) {
    poller_.Attach(&server_);
    mode_ = poller_.Start(PollerMode::kWaiterPolls);
  }
  ~WaiterPollTest() override { poller_.Stop(); }

  Pipe MakePipe() {
    int p[2];
    EXPECT_EQ(pipe2(p, O_NONBLOCK), 0);
    Pipe out;
    out.r = FdT::Open(server_, p[0], nullptr);
    out.w = FdT::Open(server_, p[1], nullptr);
    EXPECT_TRUE(out.r && out.w);
    return out;
  }

  RealPoller<V> poller_;
  RealServer<V> server_;
  PollerMode mode_;
};

using Variants = ::testing::Types<Legacy, Seed, Fixed, Tip>;
TYPED_TEST_SUITE(WaiterPollTest, Variants, VariantNames);

constexpr auto kBound = std::chrono::seconds(10);

// Reads one byte; returns it, or -1 on an error.
template <class FdT>
int ReadByte(FdT& fd) {
  char c;
  const IoResult r = fd.Read(&c, 1);
  return r.n == 1 ? static_cast<unsigned char>(c) : -1;
}

TYPED_TEST(WaiterPollTest, OneInstalledAtATime) {
  EXPECT_EQ(this->mode_, PollerMode::kWaiterPolls);
  RealPoller<TypeParam> second;
  RealServer<TypeParam> server2(&second);
  second.Attach(&server2);
  // The slot is taken: the second poller runs its own thread.
  EXPECT_EQ(second.Start(PollerMode::kWaiterPolls), PollerMode::kDedicatedThread);
  second.Stop();
}

// One reader: it takes the role, blocks in epoll_wait, and its own round
// readies it (own_wakes counts exactly that path).
TYPED_TEST(WaiterPollTest, OwnReadinessReturnsFromOwnRound) {
  auto p = this->MakePipe();
  const WaiterPollStats before = RealEnv::GetWaiterPollStats();
  for (int i = 0; i < 50; i++) {
    auto reader = std::async(std::launch::async, [&] { return ReadByte(*p.r); });
    WaitUntilParked(p.r->pd(), kModeRead);
    const char c = static_cast<char>('a' + i % 26);
    ASSERT_TRUE(p.w->Write(&c, 1).ok());
    ASSERT_EQ(reader.wait_for(kBound), std::future_status::ready) << "reader " << i << " lost its wake";
    EXPECT_EQ(reader.get(), c);
  }
  const WaiterPollStats after = RealEnv::GetWaiterPollStats();
  // Every read parked, polled and was readied by its own round.
  EXPECT_GE(after.own_wakes - before.own_wakes, 50u);
}

// Reader A parks first and polls; reader B parks as a candidate. Readiness
// for B, seen by A's round, must reach B while A stays parked; then A's.
TYPED_TEST(WaiterPollTest, AnotherWaitersEventIsDelivered) {
  for (int round = 0; round < 20; round++) {
    auto a = this->MakePipe();
    auto b = this->MakePipe();
    auto ra = std::async(std::launch::async, [&] { return ReadByte(*a.r); });
    WaitUntilParked(a.r->pd(), kModeRead);
    auto rb = std::async(std::launch::async, [&] { return ReadByte(*b.r); });
    WaitUntilParked(b.r->pd(), kModeRead);
    ASSERT_TRUE(b.w->Write("b", 1).ok());
    const bool b_woke = rb.wait_for(kBound) == std::future_status::ready;
    EXPECT_TRUE(b_woke) << "round " << round << ": B's readiness was not delivered";
    EXPECT_EQ(ra.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
        << "A returned without data";
    ASSERT_TRUE(a.w->Write("a", 1).ok());
    const bool a_woke = ra.wait_for(kBound) == std::future_status::ready;
    EXPECT_TRUE(a_woke) << "round " << round << ": A's readiness was not delivered";
    if (!a_woke || !b_woke) {
      a.r->Close();  // release the stuck readers (ErrClosing), then fail
      b.r->Close();
      return;
    }
    EXPECT_EQ(ra.get(), 'a');
    EXPECT_EQ(rb.get(), 'b');
  }
}

// Many readers, each on its own pipe, fed in a random order: the role moves
// from reader to reader (each polling one leaves when its byte came), and
// every byte must reach its reader. A role that is not handed on strands the
// parked candidates: their reads never return.
TYPED_TEST(WaiterPollTest, RoleIsHandedOn) {
  constexpr int kReaders = 4, kBytes = 300;
  std::vector<typename TestFixture::Pipe> pipes;
  for (int i = 0; i < kReaders; i++) pipes.push_back(this->MakePipe());
  std::atomic<int> got[kReaders] = {};
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; i++) {
    readers.emplace_back([&, i] {
      for (int k = 0; k < kBytes; k++) {
        if (ReadByte(*pipes[i].r) < 0) return;
        got[i].fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  const WaiterPollStats before = RealEnv::GetWaiterPollStats();
  std::mt19937 rng(17);
  int sent[kReaders] = {};
  bool stuck = false;
  for (int n = 0; n < kReaders * kBytes && !stuck; n++) {
    int i;
    do {
      i = static_cast<int>(rng() % kReaders);
    } while (sent[i] == kBytes);
    // Wait until reader i has taken what it was sent so far and is parked
    // again (or about to be), so the bytes land on parked readers.
    const auto until = std::chrono::steady_clock::now() + kBound;
    while (got[i].load(std::memory_order_relaxed) < sent[i]) {
      if (std::chrono::steady_clock::now() > until) {
        stuck = true;
        break;
      }
      std::this_thread::yield();
    }
    if (stuck) break;
    ASSERT_TRUE(pipes[i].w->Write("x", 1).ok());
    sent[i]++;
  }
  for (int i = 0; i < kReaders && !stuck; i++) {
    const auto until = std::chrono::steady_clock::now() + kBound;
    while (got[i].load(std::memory_order_relaxed) < kBytes) {
      if (std::chrono::steady_clock::now() > until) {
        stuck = true;
        break;
      }
      std::this_thread::yield();
    }
  }
  EXPECT_FALSE(stuck) << "a parked reader never got its byte: the poller role was not handed on";
  if (stuck) {
    for (auto& p : pipes) p.r->Close();  // ErrClosing releases them
  }
  for (auto& t : readers) t.join();
  const WaiterPollStats after = RealEnv::GetWaiterPollStats();
  if (!stuck) EXPECT_GT(after.handoffs - before.handoffs, 0u) << "the role never moved";
}

// A deadline fires on the timer thread while the reader polls: the Unpark
// breaks its epoll_wait and the read times out.
TYPED_TEST(WaiterPollTest, DeadlineBreaksThePoll) {
  auto p = this->MakePipe();
  const WaiterPollStats before = RealEnv::GetWaiterPollStats();
  ASSERT_EQ(p.r->SetDeadline(Ms(20), kModeRead), kPollNoError);
  auto reader = std::async(std::launch::async, [&] {
    char c;
    return p.r->Read(&c, 1).poll_err;
  });
  ASSERT_EQ(reader.wait_for(kBound), std::future_status::ready) << "the deadline never woke the poller";
  EXPECT_EQ(reader.get(), kPollErrTimeout);
  EXPECT_GT(RealEnv::GetWaiterPollStats().breaks - before.breaks, 0u);
}

// A close from another thread unblocks the polling reader (ErrClosing).
TYPED_TEST(WaiterPollTest, CloseBreaksThePoll) {
  auto p = this->MakePipe();
  auto reader = std::async(std::launch::async, [&] {
    char c;
    return p.r->Read(&c, 1).poll_err;
  });
  WaitUntilParked(p.r->pd(), kModeRead);
  p.r->Close();
  ASSERT_EQ(reader.wait_for(kBound), std::future_status::ready) << "close never woke the poller";
  EXPECT_EQ(reader.get(), kPollErrClosing);
}

}  // namespace
}  // namespace pollstorm
