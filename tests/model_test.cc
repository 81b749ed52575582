// tests/model_test.cc: the executable specification, rule by rule.
#include "harness/model/model.h"

#include <gtest/gtest.h>

#include "polldesc/env.h"

namespace pollstorm::model {
namespace {

ops::Op O(const char* text) {
  std::string err;
  auto op = ops::ParseOp(text, &err);
  EXPECT_TRUE(op) << text << ": " << err;
  return *op;
}

TEST(ModelTest, ReadinessLatchesCoalescesAndIsConsumedOnce) {
  PollModel m(1, 1000);
  EXPECT_TRUE(m.Apply(O("ready d0 r")).wakes.empty());
  EXPECT_TRUE(m.Apply(O("ready d0 r")).wakes.empty());
  EXPECT_EQ(m.Apply(O("wait d0 r")).result, kPollNoError);
  EXPECT_TRUE(m.Apply(O("wait d0 r")).blocks) << "coalesced: one READY, consumed once";
  const Step s = m.Apply(O("ready d0 rw"));
  ASSERT_EQ(s.wakes.size(), 1u);
  EXPECT_EQ(s.wakes[0], (Wake{0, 'r', kPollNoError}));
  EXPECT_EQ(m.Apply(O("wait d0 w")).result, kPollNoError) << "the rw edge latched w";
}

// Issue 15: at the end of time (the clock saturated at INT64_MAX), now + d
// saturates to now, and Go's timer, armed at a `when` that is not after now,
// fires at once. The model must expire the deadline at its set, as the port
// does; an earlier deadline set with the clock short of the end stays pending.
TEST(ModelTest, ADeadlineAlreadyDueAtTheEndOfTimeExpiresWhenSet) {
  PollModel m(1, 1000);
  m.Apply(O("advance 9223372036854775807ns"));
  ASSERT_EQ(m.now(), INT64_MAX);
  EXPECT_TRUE(m.Apply(O("wait d0 w")).blocks);
  const Step s = m.Apply(O("deadline d0 w 50us"));
  ASSERT_EQ(s.wakes.size(), 1u);
  EXPECT_EQ(s.wakes[0], (Wake{0, 'w', kPollErrTimeout}));
  EXPECT_EQ(m.Apply(O("reset d0 w")).result, kPollErrTimeout);
  PollModel early(1, 1000);
  early.Apply(O("advance 9223372036854000000ns"));
  EXPECT_TRUE(early.Apply(O("deadline d0 r 50us")).wakes.empty());
  EXPECT_EQ(early.Apply(O("reset d0 r")).result, kPollNoError) << "now + 50us still fits: due later";
}

TEST(ModelTest, ReadTakesAByteOrParksAsAReader) {
  PollModel m(1, 0);
  EXPECT_TRUE(m.Apply(O("io d0")).wakes.empty()) << "a byte and a latched READY";
  EXPECT_EQ(m.Apply(O("read d0")).result, kPollNoError) << "the byte is there";
  EXPECT_TRUE(m.Apply(O("read d0")).blocks) << "the READY was dropped by the reset, no byte left";
  EXPECT_TRUE(m.Apply(O("ready d0 r")).wakes.empty())
      << "a ready with the pipe empty: the reader reads EAGAIN and parks again";
  EXPECT_TRUE(m.parked(0, 'r'));
  const Step s = m.Apply(O("io d0"));
  ASSERT_EQ(s.wakes.size(), 1u);
  EXPECT_EQ(s.wakes[0], (Wake{0, 'r', kPollNoError}));
  EXPECT_TRUE(m.Apply(O("read d0")).blocks) << "the reader took the byte that woke it";
}

TEST(ModelTest, AReaderWokenWithAnEmptyPipeSeesAnEventErrorSetWhileParked) {
  PollModel m(1, 0);
  EXPECT_TRUE(m.Apply(O("read d0")).blocks);
  EXPECT_TRUE(m.Apply(O("everr d0 on")).wakes.empty()) << "an event error wakes nobody";
  const Step s = m.Apply(O("ready d0 r"));
  ASSERT_EQ(s.wakes.size(), 1u) << "EAGAIN, then pollWait's checkerr";
  EXPECT_EQ(s.wakes[0], (Wake{0, 'r', kPollErrNotPollable}));
}

TEST(ModelTest, AByteWakesAPlainWaiterAndStaysInThePipe) {
  PollModel m(1, 0);
  EXPECT_TRUE(m.Apply(O("wait d0 r")).blocks);
  ASSERT_EQ(m.Apply(O("io d0")).wakes.size(), 1u);
  EXPECT_EQ(m.Apply(O("read d0")).result, kPollNoError) << "pollWait reads no data";
}

TEST(ModelTest, ReadReportsErrorsBeforeData) {
  PollModel m(1, 0);
  m.Apply(O("io d0"));
  m.Apply(O("deadline d0 r past"));
  EXPECT_EQ(m.Apply(O("read d0")).result, kPollErrTimeout) << "prepareRead fails first";
  m.Apply(O("deadline d0 r zero"));
  EXPECT_TRUE(m.Apply(O("read d0")).result == kPollNoError);
  EXPECT_TRUE(m.Apply(O("read d0")).blocks);
  const Step s = m.Apply(O("unblock d0"));
  ASSERT_EQ(s.wakes.size(), 1u);
  EXPECT_EQ(s.wakes[0], (Wake{0, 'r', kPollErrClosing}));
}

TEST(ModelTest, ResetDropsReadiness) {
  PollModel m(1, 0);
  m.Apply(O("ready d0 r"));
  EXPECT_EQ(m.Apply(O("reset d0 r")).result, kPollNoError);
  EXPECT_TRUE(m.Apply(O("wait d0 r")).blocks);
}

TEST(ModelTest, DeadlinesExpireOnlyWhenTimePasses) {
  PollModel m(1, 0);
  m.Apply(O("deadline d0 r 50us"));
  EXPECT_TRUE(m.Apply(O("wait d0 r")).blocks);
  EXPECT_TRUE(m.Apply(O("advance 49us")).wakes.empty()) << "never early";
  const Step s = m.Apply(O("advance 1us"));
  ASSERT_EQ(s.wakes.size(), 1u);
  EXPECT_EQ(s.wakes[0].err, kPollErrTimeout);
  EXPECT_EQ(m.Apply(O("reset d0 r")).result, kPollErrTimeout);
  m.Apply(O("deadline d0 r far"));
  EXPECT_EQ(m.Apply(O("reset d0 r")).result, kPollNoError) << "extending un-expires";
}

TEST(ModelTest, PastDeadlineWakesAtOnceAndZeroClears) {
  PollModel m(1, 0);
  EXPECT_TRUE(m.Apply(O("wait d0 w")).blocks);
  const Step s = m.Apply(O("deadline d0 rw past"));
  ASSERT_EQ(s.wakes.size(), 1u);
  EXPECT_EQ(s.wakes[0], (Wake{0, 'w', kPollErrTimeout}));
  m.Apply(O("deadline d0 w zero"));
  EXPECT_EQ(m.Apply(O("reset d0 w")).result, kPollNoError);
  EXPECT_EQ(m.Apply(O("reset d0 r")).result, kPollErrTimeout);
}

TEST(ModelTest, UnblockWakesBothWithClosingAndFreezesDeadlines) {
  PollModel m(1, 0);
  m.Apply(O("deadline d0 r 10us"));
  EXPECT_TRUE(m.Apply(O("wait d0 r")).blocks);
  EXPECT_TRUE(m.Apply(O("wait d0 w")).blocks);
  const Step s = m.Apply(O("unblock d0"));
  ASSERT_EQ(s.wakes.size(), 2u);
  EXPECT_EQ(s.wakes[0].err, kPollErrClosing);
  EXPECT_EQ(s.wakes[1].err, kPollErrClosing);
  EXPECT_TRUE(m.Apply(O("deadline d0 w past")).wakes.empty()) << "no-op after unblock";
  EXPECT_TRUE(m.Apply(O("advance 1ms")).wakes.empty());
  EXPECT_EQ(m.Apply(O("wait d0 r")).result, kPollErrClosing);
  EXPECT_TRUE(m.Apply(O("unblock d0")).invalid);
}

TEST(ModelTest, ErrorPrecedenceAndReadOnlyEventError) {
  PollModel m(1, 0);
  m.Apply(O("everr d0 on"));
  EXPECT_EQ(m.Apply(O("reset d0 r")).result, kPollErrNotPollable);
  EXPECT_EQ(m.Apply(O("reset d0 w")).result, kPollNoError);
  m.Apply(O("deadline d0 r past"));
  EXPECT_EQ(m.Apply(O("reset d0 r")).result, kPollErrTimeout);
  m.Apply(O("unblock d0"));
  EXPECT_EQ(m.Apply(O("reset d0 r")).result, kPollErrClosing);
}

TEST(ModelTest, CloseAndReopenStartAFreshIncarnation) {
  PollModel m(1, 0);
  m.Apply(O("ready d0 r"));
  m.Apply(O("deadline d0 w past"));
  m.Apply(O("everr d0 on"));
  EXPECT_TRUE(m.Apply(O("close d0")).invalid) << "close without unblock";
  m.Apply(O("unblock d0"));
  EXPECT_FALSE(m.Apply(O("close d0")).invalid);
  EXPECT_TRUE(m.Apply(O("wait d0 r")).invalid) << "closed";
  EXPECT_FALSE(m.Apply(O("open d0")).invalid);
  EXPECT_EQ(m.incarnation(0), 1);
  EXPECT_EQ(m.Apply(O("reset d0 w")).result, kPollNoError);
  EXPECT_EQ(m.Apply(O("reset d0 r")).result, kPollNoError);
  EXPECT_TRUE(m.Apply(O("wait d0 r")).blocks) << "no READY survives reuse";
}

TEST(ModelTest, ContractViolationsAreInvalidNotExecuted) {
  PollModel m(1, 0);
  EXPECT_TRUE(m.Apply(O("wait d0 r")).blocks);
  EXPECT_TRUE(m.Apply(O("wait d0 r")).invalid) << "double wait";
  EXPECT_TRUE(m.Apply(O("reset d0 r")).invalid) << "only the waiter resets";
  EXPECT_TRUE(m.Apply(O("open d0")).invalid);
  EXPECT_TRUE(m.Apply(O("wait d5 r")).invalid);
}

// The pipe ops (binary version 3): a writer parks on a full pipe and a drain
// wakes it; a hang-up wakes a parked reader with end of file and readies the
// write mode too (EPOLLHUP maps to both); EPOLLERR alone sets the event error
// and readies both modes: the writer's retry fails with EPIPE, the reader's
// pollWait returns the event error; a pipe starts writable (ADD's EPOLLOUT).
TEST(ModelTest, PipesFillDrainHangUpAndErr) {
  PollModel m(1, 0, /*pipe_events=*/true);
  EXPECT_EQ(m.Apply(O("wait d0 w")).result, kPollNoError) << "ADD's EPOLLOUT latched w";
  for (int i = 0; i < ops::kPipeCapacity; i++) EXPECT_EQ(m.Apply(O("write d0")).result, kPollNoError);
  EXPECT_TRUE(m.Apply(O("write d0")).blocks) << "full";
  EXPECT_TRUE(m.Apply(O("ready d0 w")).wakes.empty()) << "woken with the pipe full: EAGAIN, parks again";
  Step s = m.Apply(O("drain d0"));
  ASSERT_EQ(s.wakes.size(), 1u);
  EXPECT_EQ(s.wakes[0], (Wake{0, 'w', kPollNoError}));
  EXPECT_TRUE(m.Apply(O("drain d0")).wakes.empty());
  EXPECT_EQ(m.Apply(O("drain d0")).edges, 0) << "a pipe that was not full gets no EPOLLOUT";
  EXPECT_TRUE(m.Apply(O("read d0")).blocks);
  s = m.Apply(O("hangup d0"));
  ASSERT_EQ(s.wakes.size(), 1u);
  EXPECT_EQ(s.wakes[0], (Wake{0, 'r', kEof}));
  EXPECT_EQ(s.edges, 'r' + 'w');
  EXPECT_EQ(m.Apply(O("read d0")).result, kEof) << "end of file stays";
  EXPECT_EQ(m.Apply(O("hangup d0")).edges, 0) << "a second hang-up is no new edge";
  EXPECT_TRUE(m.Apply(O("io d0")).wakes.empty());
  EXPECT_EQ(m.Apply(O("read d0")).result, kEof) << "nothing arrives after the hang-up";

  PollModel e(1, 0, true);
  for (int i = 0; i < ops::kPipeCapacity; i++) e.Apply(O("write d0"));
  EXPECT_TRUE(e.Apply(O("write d0")).blocks);
  s = e.Apply(O("epollerr d0"));
  ASSERT_EQ(s.wakes.size(), 1u);
  EXPECT_EQ(s.wakes[0], (Wake{0, 'w', kEpipe}));
  EXPECT_EQ(e.Apply(O("read d0")).result, kPollErrNotPollable) << "EPOLLERR alone: the event error";
  e.Apply(O("io d0"));
  EXPECT_EQ(e.Apply(O("read d0")).result, kPollNoError) << "a later event (EPOLLIN) clears it";
  EXPECT_EQ(e.Apply(O("write d0")).result, kEpipe);
}

}  // namespace
}  // namespace pollstorm::model
