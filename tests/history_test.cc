// tests/history_test.cc: the storm's history check (harness/history), rule by
// rule on hand-made histories, then against the sequential model
// (harness/model): every history a sequential execution of the model produces
// is accepted, and any immediate result changed is rejected.
#include "harness/history/history.h"

#include <gtest/gtest.h>

#include <random>

#include "harness/model/model.h"
#include "polldesc/env.h"

namespace pollstorm::history {
namespace {

struct H {
  std::vector<Op> ops;
  H& Add(Kind k, int64_t inv, int64_t resp, int mode = 'r', int result = 0, int64_t arg = 0,
         uint64_t key = 1, int thread = 0) {
    ops.push_back(Op{inv, resp, k, mode, result, arg, key, thread});
    return *this;
  }
  H& Open(int64_t t, uint64_t key = 1) { return Add(Kind::kOpen, t, t + 1, 0, 0, 0, key); }
  Verdict Check(bool tip = false) const {
    Options o;
    o.events_need_current_key = tip;
    return CheckObject(ops, o);
  }
};

TEST(HistoryTest, ClosingTakesPrecedenceOverAnExpiredDeadline) {
  H h;
  h.Open(0).Add(Kind::kDeadline, 10, 11, 'r', 0, -1).Add(Kind::kUnblock, 20, 21);
  H bad = h, good = h, racing = h;
  bad.Add(Kind::kReset, 30, 31, 'r', kPollErrTimeout);
  good.Add(Kind::kReset, 30, 31, 'r', kPollErrClosing);
  EXPECT_FALSE(bad.Check().ok) << "unblock returned before the reset began";
  EXPECT_TRUE(good.Check().ok) << good.Check().why;
  // The same timeout while the unblock is still in flight: the reset may
  // have taken effect before it.
  racing.ops[2].resp = 40;
  racing.Add(Kind::kReset, 30, 31, 'r', kPollErrTimeout);
  EXPECT_TRUE(racing.Check().ok) << racing.Check().why;
}

// netpollcheckerr in fields of their own (legacy, seed, fixed) reads closing,
// then the deadline, then the event error: ok may come from a closing read
// before an unblock and an event-error read after an `everr off` that began
// after the unblock returned. Tip's one info word cannot give that.
TEST(HistoryTest, SeparateFieldsAreReadAtSeparatePoints) {
  H h;
  h.Open(0).Add(Kind::kEventErr, 3, 4, 0, 0, 1).Add(Kind::kReset, 10, 100, 'r', 0);
  h.Add(Kind::kUnblock, 20, 21).Add(Kind::kEventErr, 30, 31, 0, 0, 0);
  EXPECT_TRUE(CheckObject(h.ops, Options{}).ok);
  Options tip;
  tip.atomic_checkerr = true;
  EXPECT_FALSE(CheckObject(h.ops, tip).ok);
}

TEST(HistoryTest, OkNeedsAReadyAndConsumesItOnce) {
  H h;
  h.Open(0).Add(Kind::kReset, 10, 11, 'r', 0);
  H none = h;
  none.Add(Kind::kWait, 20, 30, 'r', 0);
  EXPECT_FALSE(none.Check().ok);
  H one = h;
  one.Add(Kind::kWait, 20, 40, 'r', 0).Add(Kind::kReady, 25, 35, 'r');
  EXPECT_TRUE(one.Check().ok) << one.Check().why;
  one.Add(Kind::kWait, 50, 60, 'r', 0);
  EXPECT_FALSE(one.Check().ok) << "one READY, two oks";
  H w = h;
  w.Add(Kind::kWait, 20, 40, 'r', 0).Add(Kind::kReady, 25, 35, 'w');
  EXPECT_FALSE(w.Check().ok) << "a write readiness does not ready a reader";
}

TEST(HistoryTest, AResetDropsTheLatchedReady) {
  H h;
  h.Open(0).Add(Kind::kReady, 5, 6, 'r').Add(Kind::kReset, 10, 11, 'r', 0).Add(Kind::kWait, 20, 30, 'r', 0);
  EXPECT_FALSE(h.Check().ok);
}

TEST(HistoryTest, AWaiterWokenByCloseMayStillTakeAReadyThatCameAfter) {
  H h;
  h.Open(0).Add(Kind::kReset, 1, 2, 'r', 0).Add(Kind::kWait, 3, 100, 'r', 0);
  h.Add(Kind::kUnblock, 10, 20).Add(Kind::kReady, 30, 40, 'r');
  EXPECT_TRUE(h.Check().ok) << "netpollblock's swap after the park reads READY";
}

TEST(HistoryTest, AFutureDeadlineCannotFireBeforeItIsDue) {
  H h;
  h.Open(0).Add(Kind::kDeadline, 10, 12, 'r', 0, 1000);
  H early = h, late = h, reset = h;
  early.Add(Kind::kWait, 20, 500, 'r', kPollErrTimeout);
  late.Add(Kind::kWait, 20, 2000, 'r', kPollErrTimeout);
  EXPECT_FALSE(early.Check().ok);
  EXPECT_TRUE(late.Check().ok) << late.Check().why;
  // A later set cancels the timer; a zero deadline leaves nothing to expire.
  reset.Add(Kind::kDeadline, 100, 101, 'r', 0, 0).Add(Kind::kWait, 200, 5000, 'r', kPollErrTimeout);
  EXPECT_FALSE(reset.Check().ok);
  // The timer may be late: the reset after its due time may still see none.
  H lazy = h;
  lazy.Add(Kind::kReset, 3000, 3001, 'r', 0);
  EXPECT_TRUE(lazy.Check().ok) << lazy.Check().why;
}

TEST(HistoryTest, TheEventErrorBitSurvivesADeadlineChange) {
  H h;
  h.Open(0).Add(Kind::kEventErr, 10, 11, 0, 0, 1).Add(Kind::kDeadline, 20, 21, 'r', 0, 0);
  H lost = h, kept = h;
  lost.Add(Kind::kReset, 30, 31, 'r', 0);
  kept.Add(Kind::kReset, 30, 31, 'r', kPollErrNotPollable);
  EXPECT_FALSE(lost.Check().ok);
  EXPECT_TRUE(kept.Check().ok) << kept.Check().why;
  H writes = h;
  writes.Add(Kind::kReset, 30, 31, 'w', kPollErrNotPollable);
  EXPECT_FALSE(writes.Check().ok) << "the event error is reported on reads only";
}

TEST(HistoryTest, OnTipAStaleKeyIsDropped) {
  H h;
  h.Open(0, /*key=*/7).Add(Kind::kReset, 10, 11, 'r', 0);
  h.Add(Kind::kReady, 20, 21, 'r', 0, 0, /*key=*/6).Add(Kind::kWait, 30, 40, 'r', 0);
  EXPECT_TRUE(h.Check(/*tip=*/false).ok) << "before fdseq, the object takes any event";
  EXPECT_FALSE(h.Check(/*tip=*/true).ok) << "tip drops another incarnation's event";
  // An event whose key was checked before the close may still ready the
  // next incarnation (tip's check and netpollready are two steps).
  H racing;
  racing.Open(0, 6).Add(Kind::kReady, 5, 100, 'r', 0, 0, 6).Add(Kind::kUnblock, 10, 11);
  racing.Add(Kind::kClose, 12, 13).Open(14, 7).Add(Kind::kReset, 20, 21, 'r', 0);
  racing.Add(Kind::kWait, 30, 40, 'r', 0);
  EXPECT_TRUE(racing.Check(/*tip=*/true).ok) << racing.Check(true).why;
}

TEST(HistoryTest, TooManyOperationsInFlightLeaveTheObjectUnchecked) {
  H h;
  h.Open(0);
  for (int i = 0; i < 40; i++) h.Add(Kind::kReady, 10 + i, 1000, 'r');
  const Verdict v = h.Check();
  EXPECT_FALSE(v.checked);
  EXPECT_TRUE(v.ok);
}

// ---- against the sequential model ----

// A random sequential execution of harness/model's PollModel on one
// descriptor, recorded as a history: op k of an advance period takes
// [T + 2k, T + 2k + 1] with T the model's clock, a parked wait returns when
// the op that woke it returns. Durations are multiples of kUnit, so no op's
// time reaches the next due time by accident.
constexpr int64_t kUnit = 1000000;

struct Recorded {
  std::vector<Op> ops;
  std::vector<size_t> immediate;  // reset/wait ops whose result came at once
};

Recorded RunModel(uint64_t seed, int n, bool future_deadlines) {
  std::mt19937_64 rng(seed);
  model::PollModel m(1, 0);
  Recorded r;
  int k = 0;
  uint64_t key = 1;
  size_t parked[2] = {SIZE_MAX, SIZE_MAX};
  r.ops.push_back(Op{0, 1, Kind::kOpen, 0, 0, 0, key, 0});
  k = 1;
  for (int i = 0; i < n; i++) {
    ops::Op op;
    op.desc = 0;
    op.mode = rng() % 2 ? 'r' : 'w';
    const int pick = static_cast<int>(rng() % 20);
    Kind kind;
    if (pick < 4) {
      op.kind = ops::OpKind::kReset, kind = Kind::kReset;
    } else if (pick < 8) {
      op.kind = ops::OpKind::kWait, kind = Kind::kWait;
    } else if (pick < 11) {
      op.kind = ops::OpKind::kReady, kind = Kind::kReady;
      if (rng() % 3 == 0) op.mode = 'r' + 'w';
    } else if (pick < 12) {
      op.kind = ops::OpKind::kEventErr, kind = Kind::kEventErr, op.arg = rng() % 2;
    } else if (pick < 15) {
      op.kind = ops::OpKind::kDeadline, kind = Kind::kDeadline;
      const int64_t ds[4] = {ops::kDeadlinePast, ops::kDeadlineZero, kUnit, 3 * kUnit};
      op.arg = ds[rng() % (future_deadlines ? 4 : 2)];
      if (rng() % 3 == 0) op.mode = 'r' + 'w';
    } else if (pick < 17) {
      op.kind = ops::OpKind::kAdvance, kind = Kind::kOpen;  // kind unused
      op.arg = kUnit * static_cast<int64_t>(1 + rng() % 2);
    } else if (pick < 18) {
      op.kind = ops::OpKind::kUnblock, kind = Kind::kUnblock;
    } else if (pick < 19) {
      op.kind = ops::OpKind::kClose, kind = Kind::kClose;
    } else {
      op.kind = ops::OpKind::kOpen, kind = Kind::kOpen;
    }
    if (op.kind == ops::OpKind::kClose && (m.parked(0, 'r') || m.parked(0, 'w'))) continue;
    const model::Step s = m.Apply(op);
    if (s.invalid) continue;
    if (op.kind == ops::OpKind::kAdvance) k = 0;
    const int64_t t = m.now() + 2 * k++;
    if (op.kind != ops::OpKind::kAdvance) {
      Op h{t, t + 1, kind, op.mode, 0, op.arg, key, 0};
      if (kind == Kind::kOpen) h.key = ++key;
      // The history's due time is inv + d: make it the model's now + d.
      if (kind == Kind::kDeadline && op.arg > 0) h.arg = op.arg - 2 * (k - 1);
      if (s.result) {
        h.result = *s.result;
        r.immediate.push_back(r.ops.size());
      }
      if (s.blocks) {
        h.resp = kNeverReturned;
        parked[op.mode == 'r' ? 0 : 1] = r.ops.size();
      }
      r.ops.push_back(h);
    }
    for (const model::Wake& w : s.wakes) {
      size_t& p = parked[w.mode == 'r' ? 0 : 1];
      if (p == SIZE_MAX) {
        ADD_FAILURE() << "seed " << seed << ": the model woke a waiter that was not parked";
        continue;
      }
      r.ops[p].resp = t + 1;
      r.ops[p].result = w.err;
      p = SIZE_MAX;
    }
  }
  return r;
}

TEST(HistoryTest, AcceptsEverySequentialExecutionOfTheModel) {
  for (uint64_t seed = 1; seed <= 300; seed++) {
    const Recorded r = RunModel(seed, 60, /*future_deadlines=*/true);
    const Verdict v = CheckObject(r.ops, Options{});
    ASSERT_TRUE(v.checked) << "seed " << seed << ": " << v.why;
    ASSERT_TRUE(v.ok) << "seed " << seed << ": " << v.why;
  }
}

TEST(HistoryTest, RejectsAnyImmediateResultChanged) {
  int flips = 0;
  for (uint64_t seed = 1; seed <= 200; seed++) {
    const Recorded r = RunModel(seed, 40, /*future_deadlines=*/false);
    for (size_t i : r.immediate) {
      for (int other = 0; other < 4; other++) {
        if (other == r.ops[i].result) continue;
        std::vector<Op> ops = r.ops;
        ops[i].result = other;
        const Verdict v = CheckObject(ops, Options{});
        ASSERT_FALSE(v.ok) << "seed " << seed << ": op " << Describe(ops[i], 0)
                           << " accepted with a result the model never gives";
        flips++;
      }
    }
  }
  EXPECT_GT(flips, 1000);
}

}  // namespace
}  // namespace pollstorm::history
