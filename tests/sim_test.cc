// tests/sim_test.cc: the deterministic simulator (harness/sim/): schedules,
// choosers, the engine's findings, virtual time, and the proof on the real
// port: PollDesc<SimEnv, V> finds #48925 (legacy) and #45211 (seed) and stays
// silent on fixed.
//
// Bodies are sim::Check(...) with spawns and sim::Assert. Executions that
// report a finding print it (the one shape every tool uses), so a failure here
// comes with its replay command.
#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>

#include "harness/sim/check.h"
#include "harness/sim/choose/pct.h"
#include "harness/sim/choose/rng.h"
#include "harness/sim/kernel.h"
#include "harness/sim/schedule.h"
#include "harness/sim/sim_env.h"
#include "harness/sim/thread.h"
#include "polldesc/fd.h"
#include "polldesc/poll_server.h"
#include "polldesc/variants.h"
#if defined(POLLSTORM_SIM_HAS_REPORT)
#include "harness/sim/report.h"
#endif

namespace pollstorm {

// SimEnv provides everything RealEnv does: every member of every variant's
// PollDesc, the server and the Fd facade compiles against it.
template class PollDesc<SimEnv, Legacy>;
template class PollDesc<SimEnv, Seed>;
template class PollDesc<SimEnv, Fixed>;
template class PollDesc<SimEnv, Tip>;
template class PollServer<SimEnv, Legacy>;
template class PollServer<SimEnv, Seed>;
template class PollServer<SimEnv, Fixed>;
template class PollServer<SimEnv, Tip>;
template class Fd<PollServer<SimEnv, Fixed>>;
static_assert(std::string_view(SimEnv::kName) == "sim");

namespace {

using sim::ChooserKind;
using sim::Finding;
using sim::FindingKind;
using sim::RunConfig;

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define POLLSTORM_SIM_TEST_TSAN 1
#endif
#endif

// Executions that must all be clean for the fixed variant. TSan runs every
// fiber switch and engine access through its runtime (~20x slower), so its
// lane takes a smaller sample; dev, asan and release run the full 100000.
#if defined(POLLSTORM_SIM_TEST_TSAN)
constexpr uint64_t kCleanExecutions = 10000;
constexpr uint64_t kHuntExecutions = 20000;
#else
constexpr uint64_t kCleanExecutions = 100000;
constexpr uint64_t kHuntExecutions = 100000;
#endif

std::string Show(const std::optional<Finding>& f) {
  return f ? f->ToString() : "(no finding)";
}

RunConfig Config(uint64_t iterations, bool weak, uint64_t seed = 1) {
  RunConfig c;
  c.iterations = iterations;
  c.weak_memory = weak;
  c.seed = seed;
  return c;
}

// ===========================================================================
// Schedules
// ===========================================================================

TEST(Schedule, HexRoundTripAndWrapping) {
  sim::Xoshiro256 rng(42);
  for (int round = 0; round < 200; round++) {
    sim::Schedule s;
    s.seed = rng.Next();
    s.weak_memory = (rng.Next() & 1) != 0;
    const uint64_t n = rng.Below(round < 100 ? 8 : 600);
    for (uint64_t i = 0; i < n; i++) {
      const auto kind = (rng.Next() & 1) ? sim::Choice::Kind::kValue : sim::Choice::Kind::kThread;
      // Small values mostly, some large (up to 2^62) to exercise long varints.
      const uint64_t v = (rng.Next() & 7) == 0 ? rng.Next() >> 2 : rng.Below(9);
      s.choices.push_back({kind, v});
    }
    const std::string hex = s.ToHex();
    std::size_t col = 0;
    for (char c : hex) {
      if (c == '\n') {
        EXPECT_EQ(col, sim::Schedule::kHexColumns);
        col = 0;
      } else {
        col++;
      }
    }
    EXPECT_LE(col, sim::Schedule::kHexColumns);
    std::string error;
    const std::optional<sim::Schedule> back = sim::Schedule::FromHex(hex, &error);
    ASSERT_TRUE(back.has_value()) << error;
    EXPECT_EQ(*back, s);
    EXPECT_EQ(hex.substr(0, 2), "01") << "the version byte leads";
  }
}

TEST(Schedule, RejectsMalformedText) {
  sim::Schedule s;
  s.seed = 7;
  s.choices = {{sim::Choice::Kind::kThread, 1}, {sim::Choice::Kind::kValue, 300}};
  const std::string good = s.ToHex();
  std::string error;
  EXPECT_FALSE(sim::Schedule::FromHex(good + "0", &error)) << "odd digit count";
  EXPECT_FALSE(sim::Schedule::FromHex(good + "00", &error)) << "trailing byte";
  EXPECT_FALSE(sim::Schedule::FromHex("02" + good.substr(2), &error)) << "unknown version";
  EXPECT_FALSE(sim::Schedule::FromHex(good.substr(0, good.size() - 2), &error)) << "truncated";
  EXPECT_FALSE(sim::Schedule::FromHex("zz", &error));
  EXPECT_TRUE(sim::Schedule::FromHex(" " + good + "\n", &error)) << "whitespace is ignored";
}

// ===========================================================================
// The engine: threads, findings, replay, determinism
// ===========================================================================

TEST(Engine, ThreadsRunAndJoin) {
  const auto f = sim::Check(Config(2000, true), [] {
    sim::Atomic<int> n{0};
    auto a = sim::Spawn([&] { n.fetch_add(1, std::memory_order_relaxed); });
    auto b = sim::Spawn([&] { n.fetch_add(1, std::memory_order_relaxed); });
    a.Join();
    b.Join();
    // RMWs read the latest store and Join orders both: always 2.
    sim::Assert(n.load(std::memory_order_relaxed) == 2, "lost increment");
  });
  EXPECT_FALSE(f) << Show(f);
}

TEST(Engine, MutexGivesExclusionAndHappensBefore) {
  const auto f = sim::Check(Config(2000, true), [] {
    sim::Mutex mu;
    sim::Shared<int> counter{0};  // guarded by mu: no race, never stale
    auto inc = [&] {
      for (int i = 0; i < 3; i++) {
        mu.lock();
        counter.Write(counter.Read() + 1);
        mu.unlock();
      }
    };
    auto a = sim::Spawn(inc);
    auto b = sim::Spawn(inc);
    a.Join();
    b.Join();
    sim::Assert(counter.Read() == 6, "lost update under the mutex");
  });
  EXPECT_FALSE(f) << Show(f);
}

TEST(Engine, DeadlockNamesEveryBlockedThread) {
  const auto f = sim::Check(Config(10, false), [] {
    auto t = sim::Spawn([] { SimEnv::CurrentParker()->Park(); }, "sleeper");
    t.Join();
  });
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FindingKind::kDeadlock) << f->ToString();
  ASSERT_EQ(f->details.size(), 2u) << f->ToString();
  EXPECT_NE(f->details[0].find("T0 (main) joins T1 (sleeper)"), std::string::npos) << f->ToString();
  EXPECT_NE(f->details[1].find("T1 (sleeper) parked at sim_test.cc"), std::string::npos)
      << f->ToString();
  EXPECT_EQ(f->execution, 1u);
}

TEST(Engine, UnparkBeforeParkIsKept) {
  const auto f = sim::Check(Config(2000, true), [] {
    sim::Atomic<sim::Parker*> slot{nullptr};
    auto waiter = sim::Spawn([&] {
      slot.store(SimEnv::CurrentParker(), std::memory_order_release);
      SimEnv::CurrentParker()->Park();
    });
    sim::Parker* p;
    while ((p = slot.load(std::memory_order_acquire)) == nullptr) sim::Yield();
    p->Unpark();
    waiter.Join();
  });
  EXPECT_FALSE(f) << Show(f);
}

TEST(Engine, FatalIsAFindingWithTheMessage) {
  const auto f = sim::Check(Config(10, false), [] {
    auto t = sim::Spawn([] { SimEnv::Fatal("runtime: double wait"); }, "thrower");
    t.Join();
  });
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FindingKind::kFatal);
  EXPECT_EQ(f->message, "runtime: double wait");
  EXPECT_EQ(f->thread, "T1 (thrower)");
  EXPECT_NE(f->ToString().find("FINDING fatal: runtime: double wait"), std::string::npos);
}

TEST(Engine, StepBoundCatchesALivelock) {
  RunConfig c = Config(5, false);
  c.max_steps = 500;
  const auto f = sim::Check(c, [] {
    sim::Atomic<bool> never{false};
    while (!never.load(std::memory_order_acquire)) {
    }
  });
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FindingKind::kStepBound) << f->ToString();
}

TEST(Engine, DataRaceNamesBothSites) {
  const auto f = sim::Check(Config(100, false), [] {
    sim::Shared<int> x{0};
    auto a = sim::Spawn([&] { x.Write(1); }, "a");
    auto b = sim::Spawn([&] { x.Write(2); }, "b");
    a.Join();
    b.Join();
  });
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FindingKind::kDataRace) << f->ToString();
  EXPECT_NE(f->message.find("plain write by T1 (a)"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("plain write by T2 (b)"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("sim_test.cc:"), std::string::npos) << f->message;
}

TEST(Engine, PlainAccessAgainstAtomicOpOnASharedCellRaces) {
  const auto f = sim::Check(Config(200, false), [] {
    sim::Shared<uintptr_t> slot{0};
    auto a = sim::Spawn([&] {
      uintptr_t e = 0;
      slot.compare_exchange_strong(e, 1);  // Go's atomic.Casuintptr
    });
    auto b = sim::Spawn([&] { (void)slot.Read(); });  // a plain read
    a.Join();
    b.Join();
  });
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FindingKind::kDataRace) << f->ToString();
}

TEST(Engine, AtomicOpsOnASharedCellDoNotRaceWithEachOther) {
  const auto f = sim::Check(Config(500, true), [] {
    sim::Shared<uintptr_t> slot{0};
    auto a = sim::Spawn([&] { slot.store(1); });
    auto b = sim::Spawn([&] { (void)slot.load(); });
    a.Join();
    b.Join();
  });
  EXPECT_FALSE(f) << Show(f);
}

// A program with a rare bug, to exercise findings, replay and determinism:
// two relaxed increments done as load+store lose an update.
void LostUpdate() {
  sim::Atomic<int> n{0};
  auto inc = [&] { n.store(n.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); };
  auto a = sim::Spawn(inc);
  auto b = sim::Spawn(inc);
  a.Join();
  b.Join();
  sim::Assert(n.load() == 2, "lost update");
}

TEST(Engine, SameSeedSameSchedules) {
  for (bool weak : {false, true}) {
    sim::CheckStats s1, s2;
    const auto f1 = sim::Check(Config(300, weak, 99), LostUpdate, &s1);
    const auto f2 = sim::Check(Config(300, weak, 99), LostUpdate, &s2);
    ASSERT_TRUE(f1);
    ASSERT_TRUE(f2);
    EXPECT_EQ(f1->schedule_hex, f2->schedule_hex);
    EXPECT_EQ(f1->execution, f2->execution);
    EXPECT_EQ(s1.digest, s2.digest);
    // A different seed explores differently.
    sim::CheckStats s3;
    (void)sim::Check(Config(300, weak, 100), LostUpdate, &s3);
    EXPECT_NE(s1.digest, s3.digest);
  }
}

TEST(Engine, ReplayReproducesAFindingBitForBit) {
  const auto found = sim::Check(Config(1000, true, 5), LostUpdate);
  ASSERT_TRUE(found);
  RunConfig r;
  r.chooser = ChooserKind::kReplay;
  r.replay = found->schedule_hex;
  const auto again = sim::Check(r, LostUpdate);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->kind, found->kind);
  EXPECT_EQ(again->message, found->message);
  EXPECT_EQ(again->schedule_hex, found->schedule_hex);
  // The random chooser's seed alone reproduces it too.
  RunConfig s = Config(1, true, found->seed);
  const auto by_seed = sim::Check(s, LostUpdate);
  ASSERT_TRUE(by_seed);
  EXPECT_EQ(by_seed->schedule_hex, found->schedule_hex);
}

TEST(Engine, ReplayMismatchIsReportedClearly) {
  const auto found = sim::Check(Config(1000, true, 5), LostUpdate);
  ASSERT_TRUE(found);
  RunConfig r;
  r.chooser = ChooserKind::kReplay;
  r.replay = found->schedule_hex;
  // Another program: one thread fewer.
  const auto f = sim::Check(r, [] {
    sim::Atomic<int> n{0};
    n.store(1);
    (void)n.load();
  });
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FindingKind::kReplayMismatch) << f->ToString();
  EXPECT_NE(f->message.find("replay mismatch"), std::string::npos) << f->message;
}

TEST(Engine, DeterminismCheckPassesOnADeterministicProgram) {
  RunConfig c = Config(300, true, 3);
  c.check_determinism = true;
  c.races_are_findings = false;
  int count = 0;
  const auto f = sim::Check(c, [&] {
    count++;
    sim::Shared<int> x{0};
    auto a = sim::Spawn([&] { x.Write(1); });
    auto b = sim::Spawn([&] { (void)x.Read(); });
    a.Join();
    b.Join();
  });
  EXPECT_FALSE(f) << Show(f);
  EXPECT_EQ(count, 600) << "each execution ran twice";
}

TEST(Engine, DeterminismCheckCatchesHiddenNondeterminism) {
  RunConfig c = Config(50, false, 3);
  c.check_determinism = true;
  int calls =
      0;  // state that leaks across executions: the program is not a function of its choices
  const auto f = sim::Check(c, [&] {
    sim::Atomic<int> x{0};
    const int n = (calls++ % 2) + 1;
    auto a = sim::Spawn([&] {
      for (int i = 0; i < n; i++) x.store(i);
    });
    auto b = sim::Spawn([&] { (void)x.load(); });
    a.Join();
    b.Join();
  });
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->kind == FindingKind::kNondeterminism) << f->ToString();
}

TEST(Engine, EscapingExceptionIsAFinding) {
  const auto f = sim::Check(Config(5, false), [] {
    auto t = sim::Spawn([] { throw std::runtime_error("boom"); }, "thrower");
    t.Join();
  });
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FindingKind::kException);
  EXPECT_NE(f->message.find("boom"), std::string::npos) << f->message;
}

TEST(Engine, TraceShowsTheStaleRead) {
  RunConfig c = Config(1000, true, 5);
  c.trace = true;
  const auto f = sim::Check(c, LostUpdate);
  ASSERT_TRUE(f);
  ASSERT_FALSE(f->trace.empty());
  EXPECT_NE(f->ToString().find("trace:"), std::string::npos);
  EXPECT_NE(f->trace.back().find("sim_test.cc"), std::string::npos) << f->trace.back();
}

TEST(Engine, FindingsAreWrittenCreateExclusive) {
  char dir[] = "/tmp/pollstorm_sim_findings_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  RunConfig c = Config(10, false);
  c.findings_dir = dir;
  auto fatal = [] { SimEnv::Fatal("runtime: corrupted polldesc"); };
  ASSERT_TRUE(sim::Check(c, fatal));
  ASSERT_TRUE(sim::Check(c, fatal));
  for (const char* name : {"/fatal-000.sched", "/fatal-001.sched"}) {
    std::ifstream in(std::string(dir) + name);
    ASSERT_TRUE(in.good()) << name;
    std::string first;
    std::getline(in, first);
    EXPECT_EQ(first, "FINDING fatal: runtime: corrupted polldesc");
    unlink((std::string(dir) + name).c_str());
  }
  rmdir(dir);
}

#if defined(POLLSTORM_SIM_HAS_REPORT)
TEST(Engine, ReportUsesTheSharedFindingShape) {
  const auto f = sim::Check(Config(10, false), [] {
    auto t = sim::Spawn([] { SimEnv::CurrentParker()->Park(); }, "sleeper");
    t.Join();
  });
  ASSERT_TRUE(f);
  const pollstorm::Finding r = sim::ToReport(*f);
  EXPECT_EQ(r.kind, "lost-wakeup");
  EXPECT_NE(r.signature.find("T1 (sleeper) parked at sim_test.cc"), std::string::npos)
      << r.signature;
  EXPECT_NE(r.repro.find("POLLSTORM_SIM_REPLAY="), std::string::npos);
  EXPECT_NE(FindingToJson(r).find("\"kind\":\"lost-wakeup\""), std::string::npos);
}
#endif

TEST(Engine, TooManyThreadsIsALimitFinding) {
  const auto f = sim::Check(Config(1, false), [] {
    for (uint32_t i = 0; i < sim::rt::kMaxThreads; i++) sim::Spawn([] {});
  });
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FindingKind::kLimit) << f->ToString();
}

// ===========================================================================
// Choosers
// ===========================================================================

TEST(Choosers, PctProbabilityBound) {
  EXPECT_DOUBLE_EQ(sim::PctChooser::ProbabilityBound(2, 10, 1), 0.5);
  EXPECT_DOUBLE_EQ(sim::PctChooser::ProbabilityBound(2, 10, 3), 1.0 / 200);
  EXPECT_DOUBLE_EQ(sim::PctChooser::ProbabilityBound(4, 100, 2), 1.0 / 400);
}

TEST(Choosers, PctFindsADepthTwoBugAndIsDeterministic) {
  RunConfig c = Config(2000, false, 11);
  c.chooser = ChooserKind::kPct;
  c.pct_depth = 2;
  sim::CheckStats s1, s2;
  const auto f1 = sim::Check(c, LostUpdate, &s1);
  const auto f2 = sim::Check(c, LostUpdate, &s2);
  ASSERT_TRUE(f1) << "PCT should find the lost update";
  EXPECT_EQ(f1->kind, FindingKind::kAssert);
  ASSERT_TRUE(f2);
  EXPECT_EQ(f1->schedule_hex, f2->schedule_hex);
  EXPECT_EQ(s1.digest, s2.digest);
}

TEST(Choosers, BytesDriveTheScheduleAndRoundRobinWhenExhausted) {
  RunConfig c;
  c.chooser = ChooserKind::kBytes;
  c.weak_memory = false;
  sim::CheckStats st;
  // Empty input: values 0, threads round-robin (fair, so nothing starves);
  // one execution, and the same one every time.
  const auto first = sim::Check(c, LostUpdate, &st);
  EXPECT_EQ(st.executions, 1u);
  const auto again = sim::Check(c, LostUpdate);
  ASSERT_EQ(first.has_value(), again.has_value());
  if (first) EXPECT_EQ(first->schedule_hex, again->schedule_hex);
  // Some byte string interleaves the two increments; search the small space.
  bool found = false;
  for (int a = 0; a < 4 && !found; a++) {
    for (int b = 0; b < 4 && !found; b++) {
      for (int d = 0; d < 4 && !found; d++) {
        c.bytes = {static_cast<uint8_t>(a),
                   static_cast<uint8_t>(b),
                   static_cast<uint8_t>(d),
                   1,
                   0,
                   1,
                   0,
                   1};
        found = sim::Check(c, LostUpdate).has_value();
      }
    }
  }
  EXPECT_TRUE(found);
}

TEST(Choosers, AYieldAlwaysLetsAnotherThreadRun) {
  // Regression (fuzz_sched on fixed, 2026-11-25): input bytes that always
  // pick the same runnable thread kept a spinning drainer running and starved
  // the waiter it was waiting for, so correct code looked like a lost wakeup.
  // A yield now never offers the yielding thread while another can run.
  RunConfig c;
  c.chooser = ChooserKind::kBytes;
  c.weak_memory = false;
  c.max_steps = 2000;
  for (uint8_t b : {0, 1, 2, 255}) {
    c.bytes.assign(4096, b);
    const auto f = sim::Check(c, [] {
      sim::Atomic<int> flag{0};
      auto setter = sim::Spawn([&] { flag.store(1, std::memory_order_relaxed); });
      while (flag.load(std::memory_order_relaxed) == 0) sim::Yield();
      setter.Join();
    });
    EXPECT_FALSE(f) << "bytes all " << int{b} << ": " << Show(f);
  }
}

// ===========================================================================
// Virtual time and timers
// ===========================================================================

TEST(Time, ClockMovesOnlyWhenATimeEventFires) {
  const auto f = sim::Check(Config(500, false), [] {
    const int64_t t0 = sim::Now();
    sim::Assert(sim::Now() == t0, "the clock moved with nothing to fire");
    auto s = sim::Spawn([&] {
      sim::Sleep(1000);
      sim::Assert(sim::Now() >= t0 + 1000, "woke early");
    });
    s.Join();
    sim::Assert(sim::Now() == t0 + 1000, "the clock moved past the only event");
  });
  EXPECT_FALSE(f) << Show(f);
}

TEST(Time, LazyTimeHoldsTheClockWhileAnyThreadCanRun) {
  // Regression (fuzz_ops on fixed, 2026-11-25): the sequential oracle applies
  // each op at one instant; a timer firing in the middle of an op moved the
  // port's `now` past the model's. With lazy_time the clock moves only when
  // every thread waits; without it, the same program sees it move.
  for (bool lazy : {true, false}) {
    RunConfig c = Config(300, false);
    c.lazy_time = lazy;
    bool moved = false;
    const auto f = sim::Check(c, [&] {
      const int64_t t0 = sim::Now();
      auto s = sim::Spawn([] { sim::Sleep(10); }, "sleeper");
      for (int i = 0; i < 20; i++) sim::Yield();
      moved |= sim::Now() != t0;  // host memory: an observation, not a check
      s.Join();
    });
    EXPECT_FALSE(f) << Show(f);
    EXPECT_EQ(moved, !lazy) << (lazy ? "lazy time let the clock move under a runnable thread"
                                     : "eager time never moved the clock: the guard is vacuous");
  }
}

template <class V>
using SimServer = PollServer<SimEnv, V>;
constexpr int64_t kMs = 1000000;

TEST(Timers, DeadlineFiresWhileWaiterBlockedReturnsTimeout) {
  const auto f = sim::Check(Config(20000, true), [] {
    auto* server = sim::Make<SimServer<Fixed>>(nullptr);
    auto* pd = server->Open(~uintptr_t{0}).first;
    auto w = sim::Spawn(
        [pd] {
          const int64_t start = SimEnv::Nanotime();
          pd->SetDeadline(kMs, kModeRead);
          const int r = pd->Wait(kModeRead);
          sim::Assert(r == kPollErrTimeout, "wait did not time out");
          sim::Assert(SimEnv::Nanotime() >= start + kMs, "timed out before the deadline");
        },
        "waiter");
    w.Join();
  });
  EXPECT_FALSE(f) << Show(f);
}

TEST(Timers, DeadlineSetByAnotherThreadWakesTheWaiter) {
  const auto f = sim::Check(Config(20000, true), [] {
    auto* server = sim::Make<SimServer<Fixed>>(nullptr);
    auto* pd = server->Open(~uintptr_t{0}).first;
    auto w = sim::Spawn([pd] { sim::Assert(pd->Wait(kModeRead) == kPollErrTimeout, "no timeout"); },
                        "waiter");
    auto s = sim::Spawn([pd] { pd->SetDeadline(kMs, kModeRead); }, "setter");
    w.Join();
    s.Join();
  });
  EXPECT_FALSE(f) << Show(f);
}

TEST(Timers, CancelledDeadlineNeverTimesOutEvenIfItsFiringIsInFlight) {
  // Delete does not wait for a running callback; rseq makes the firing stale.
  const auto f = sim::Check(Config(20000, true), [] {
    auto* server = sim::Make<SimServer<Fixed>>(nullptr);
    auto* pd = server->Open(~uintptr_t{0}).first;
    auto w = sim::Spawn(
        [pd] {
          pd->SetDeadline(kMs, kModeRead);
          pd->SetDeadline(0, kModeRead);
          sim::Assert(pd->Wait(kModeRead) == kPollNoError, "a cancelled deadline fired");
        },
        "waiter");
    auto n = sim::Spawn([server, pd] { server->Ready(pd, kModeRead); }, "notifier");
    w.Join();
    n.Join();
  });
  EXPECT_FALSE(f) << Show(f);
}

TEST(Timers, ServerTornDownInsideTheExecutionWaitsOutItsCallback) {
  // ~PollServer deletes the armed timers and waits for a running callback
  // (Timer::WaitIdle), whatever point the firing has reached.
  const auto f = sim::Check(Config(5000, true), [] {
    SimServer<Fixed> server(nullptr);
    auto* pd = server.Open(~uintptr_t{0}).first;
    pd->SetDeadline(kMs, kModeRead);
    sim::Yield();
  });
  EXPECT_FALSE(f) << Show(f);
}

TEST(SysCalls, WithoutAKernelTheyFailWithEbadf) {
  const auto f = sim::Check(Config(200, true), [] {
    using FdT = Fd<SimServer<Fixed>>;
    auto* server = sim::Make<SimServer<Fixed>>(nullptr);
    int err = 0;
    auto* fd = sim::Make<std::unique_ptr<FdT>>(FdT::Open(*server, 3, &err));
    sim::Assert(*fd != nullptr, "open failed");
    char b[4];
    const IoResult r = (*fd)->Read(b, sizeof b);
    sim::Assert(r.sys_errno == EBADF && r.poll_err == kPollNoError, "read did not fail with EBADF");
    sim::Assert((*fd)->Close() == -EBADF, "close did not fail with EBADF");
  });
  EXPECT_FALSE(f) << Show(f);
}

// The Fd facade over the simulated kernel: a reader blocks in Fd::Read until
// a writer's byte arrives and a poller thread delivers its edge (netpoll);
// under every schedule it gets exactly that byte, the pipe is empty after,
// and Close releases the fd.
TEST(SysCalls, FdReadOverTheSimulatedKernelWakesOnTheEdge) {
  sim::CheckStats st;
  const auto f = sim::Check(
      Config(3000, true),
      [] {
        using FdT = Fd<SimServer<Fixed>>;
        auto* kernel = sim::Make<sim::Kernel>();
        auto* server = sim::Make<SimServer<Fixed>>(kernel);
        const int sysfd = kernel->Pipe();
        int err = 0;
        auto* fd = sim::Make<std::unique_ptr<FdT>>(FdT::Open(*server, sysfd, &err));
        sim::Assert(*fd != nullptr, "open failed");
        auto* done = sim::Make<sim::Atomic<bool>>(false);
        auto r = sim::Spawn(
            [fd, done] {
              char b[8];
              const IoResult res = (*fd)->Read(b, sizeof b);
              sim::Assert(res.ok() && res.n == 1, "the reader did not get the one byte");
              done->store(true, std::memory_order_release);
            },
            "reader");
        auto w = sim::Spawn([kernel, sysfd] { kernel->PeerWrite(sysfd, 1); }, "writer");
        auto p = sim::Spawn(
            [kernel, server, done] {
              while (!done->load(std::memory_order_acquire)) {
                kernel->Poll(
                    [](void* srv, uint64_t key, uint32_t events) {
                      static_cast<SimServer<Fixed>*>(srv)->ReadyEvent(key, EpollEventMode(events));
                    },
                    server);
                sim::Yield();
              }
            },
            "poller");
        r.Join();
        w.Join();
        p.Join();
        sim::Assert(kernel->BytesForOracle(sysfd) == 0, "a byte was left in the pipe");
        sim::Assert((*fd)->Close() == kPollNoError, "close failed");
        char b;
        sim::Assert(kernel->Read(sysfd, &b, 1) == -1 && errno == EBADF, "the fd outlived Close");
      },
      &st);
  EXPECT_FALSE(f) << Show(f);
  EXPECT_EQ(st.executions, 3000u);
}

// The pipe's other directions, through the Fd facade and the port's own
// epoll mapping (PollServer::PollEvent): a writer that fills the pipe parks
// until another process drains it (EPOLLOUT), and a reader parked on an
// empty pipe wakes when the writer end hangs up (EPOLLHUP) and reads 0.
// Under every schedule: the writer gets all its bytes out, the reader gets
// end of file.
TEST(SysCalls, FdWriteParksOnAFullPipeAndFdReadSeesTheHangup) {
  sim::CheckStats st;
  const auto f = sim::Check(
      Config(3000, true),
      [] {
        using FdT = Fd<SimServer<Fixed>>;
        auto* kernel = sim::Make<sim::Kernel>(2);
        auto* server = sim::Make<SimServer<Fixed>>(kernel);
        const int sysfd = kernel->Pipe();
        int err = 0;
        auto* fd = sim::Make<std::unique_ptr<FdT>>(FdT::Open(*server, sysfd, &err));
        sim::Assert(*fd != nullptr, "open failed");
        auto* done = sim::Make<sim::Atomic<int>>(0);
        auto wr = sim::Spawn(
            [fd, done] {
              const char b[3] = {'a', 'b', 'c'};
              const IoResult res = (*fd)->Write(b, sizeof b);
              sim::Assert(res.ok() && res.n == 3, "the writer did not get its 3 bytes out");
              done->fetch_add(1, std::memory_order_release);
            },
            "writer");
        auto rd = sim::Spawn(
            [fd, done] {
              char b[4];
              const IoResult res = (*fd)->Read(b, sizeof b);
              sim::Assert(res.ok() && res.n == 0, "the reader did not read end of file");
              done->fetch_add(1, std::memory_order_release);
            },
            "reader");
        auto peer = sim::Spawn(
            [kernel, sysfd] {
              kernel->Hangup(sysfd);
              // Drain until the writer's 3 bytes are out (2 fit at once).
              int64_t got = 0;
              while (got < 3) {
                const ssize_t n = kernel->Drain(sysfd);
                if (n > 0) got += n;
                sim::Yield();
              }
            },
            "peer");
        auto p = sim::Spawn(
            [kernel, server, done] {
              while (done->load(std::memory_order_acquire) < 2) {
                kernel->Poll(
                    [](void* srv, uint64_t key, uint32_t events) {
                      auto* s = static_cast<SimServer<Fixed>*>(srv);
                      GList<SimServer<Fixed>::G> to_run;
                      s->InjectList(to_run, s->PollEvent(key, events, to_run));
                    },
                    server);
                sim::Yield();
              }
            },
            "poller");
        wr.Join();
        rd.Join();
        peer.Join();
        p.Join();
        sim::Assert((*fd)->Close() == kPollNoError, "close failed");
      },
      &st);
  EXPECT_FALSE(f) << Show(f);
  EXPECT_EQ(st.executions, 3000u);
}

TEST(Timers, SameSeedTwiceGivesTheSameScheduleHex) {
  auto body = [] {
    auto* server = sim::Make<SimServer<Fixed>>(nullptr);
    auto* pd = server->Open(~uintptr_t{0}).first;
    auto w = sim::Spawn([pd] { (void)pd->Wait(kModeRead); });
    auto s = sim::Spawn([pd] { pd->SetDeadline(kMs, kModeRead); });
    w.Join();
    s.Join();
  };
  sim::CheckStats a, b;
  EXPECT_FALSE(sim::Check(Config(500, true, 77), body, &a));
  EXPECT_FALSE(sim::Check(Config(500, true, 77), body, &b));
  EXPECT_FALSE(a.last_schedule_hex.empty());
  EXPECT_EQ(a.last_schedule_hex, b.last_schedule_hex);
  EXPECT_EQ(a.digest, b.digest);
}

// ===========================================================================
// The proof on the port
// ===========================================================================

// #48925 (legacy): netpollblock consumes READY with a plain load and a plain
// store of nil; netpollunblock reads the slot plainly. W waits twice; N readies
// twice, the second time only after seeing (through a relaxed flag, which
// orders nothing) that W's first wait returned, so a correct pollDesc can
// never coalesce the two notifications into one. N's second ready may still
// read its own stale READY and drop the notification: W parks forever.
template <class V>
void Issue48925() {
  auto* server = sim::Make<SimServer<V>>(nullptr);
  auto* pd = server->Open(~uintptr_t{0}).first;
  auto* first_done = sim::Make<sim::Atomic<bool>>(false);
  auto w = sim::Spawn(
      [pd, first_done] {
        sim::Assert(pd->Wait(kModeRead) == kPollNoError, "first wait failed");
        first_done->store(true, std::memory_order_relaxed);
        sim::Assert(pd->Wait(kModeRead) == kPollNoError, "second wait failed");
      },
      "waiter");
  auto n = sim::Spawn(
      [server, pd, first_done] {
        server->Ready(pd, kModeRead);
        while (!first_done->load(std::memory_order_relaxed)) sim::Yield();
        server->Ready(pd, kModeRead);
      },
      "notifier");
  w.Join();
  n.Join();
}

// #45211 (seed): closing/rd are plain; the waiter's re-check after its CAS
// may read a stale "open" while the closer's slot load sees nil
// (store-buffering). `close` picks Unblock, otherwise SetDeadline(-1).
template <class V>
void Issue45211(bool close) {
  auto* server = sim::Make<SimServer<V>>(nullptr);
  auto* pd = server->Open(~uintptr_t{0}).first;
  const int want = close ? kPollErrClosing : kPollErrTimeout;
  auto w = sim::Spawn([pd, want] { sim::Assert(pd->Wait(kModeRead) == want, "wrong wait result"); },
                      "waiter");
  auto c = sim::Spawn(
      [pd, close] {
        if (close) {
          pd->Unblock();
        } else {
          pd->SetDeadline(-1, kModeRead);
        }
      },
      close ? "closer" : "expirer");
  w.Join();
  c.Join();
}

RunConfig Hunt(const char* label, bool weak, bool races) {
  RunConfig c = Config(kHuntExecutions, weak, 1);
  c.label = label;
  c.races_are_findings = races;
  return c;
}

TEST(Issue48925, LegacyLostWakeupNeedsWeakMemory) {
  const auto f = sim::Check(Hunt("legacy", /*weak=*/true, /*races=*/false), Issue48925<Legacy>);
  ASSERT_TRUE(f) << "the #48925 lost wakeup was not found";
  EXPECT_EQ(f->kind, FindingKind::kDeadlock) << f->ToString();
  EXPECT_NE(f->ToString().find("(waiter) parked at poll_desc.h"), std::string::npos)
      << f->ToString();
  EXPECT_FALSE(f->notes.empty()) << "the race that causes it is noted:\n" << f->ToString();
  std::printf("#48925 legacy, weak memory: deadlock after %llu executions\n%s",
              static_cast<unsigned long long>(f->execution), f->ToString().c_str());
  // Sequential consistency cannot show it (semantics reference §7.3).
  const auto sc = sim::Check(Hunt("legacy", /*weak=*/false, /*races=*/false), Issue48925<Legacy>);
  EXPECT_FALSE(sc) << Show(sc);
}

TEST(Issue48925, LegacyDataRaceIsReported) {
  const auto f = sim::Check(Hunt("legacy", /*weak=*/false, /*races=*/true), Issue48925<Legacy>);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FindingKind::kDataRace) << f->ToString();
  std::printf("#48925 legacy: data race after %llu executions: %s\n",
              static_cast<unsigned long long>(f->execution), f->message.c_str());
}

TEST(Issue48925, FixedIsClean) {
  sim::CheckStats st;
  RunConfig c = Hunt("fixed", /*weak=*/true, /*races=*/true);
  c.iterations = kCleanExecutions;
  const auto f = sim::Check(c, Issue48925<Fixed>, &st);
  EXPECT_FALSE(f) << Show(f);
  EXPECT_EQ(st.executions, kCleanExecutions);
}

TEST(Issue48925, SeedIsClean) {
  // The seed commit fixed #48925: its rg/wg accesses are all atomic.
  RunConfig c = Hunt("seed", /*weak=*/true, /*races=*/true);
  c.iterations = kCleanExecutions / 5;
  const auto f = sim::Check(c, Issue48925<Seed>);
  EXPECT_FALSE(f) << Show(f);
}

void Report45211(const char* what, const std::optional<Finding>& f) {
  std::printf("#45211 seed, %s: %s after %llu executions\n", what,
              f ? sim::FindingKindName(f->kind) : "nothing",
              f ? static_cast<unsigned long long>(f->execution) : 0ull);
}

TEST(Issue45211, SeedCloseLostWakeupUnderWeakMemory) {
  const auto f =
      sim::Check(Hunt("seed", /*weak=*/true, /*races=*/false), [] { Issue45211<Seed>(true); });
  ASSERT_TRUE(f) << "the #45211 lost wakeup (close) was not found";
  EXPECT_EQ(f->kind, FindingKind::kDeadlock) << f->ToString();
  Report45211("close, weak memory, deadlock", f);
  std::printf("%s", f->ToString().c_str());
  const auto sc =
      sim::Check(Hunt("seed", /*weak=*/false, /*races=*/false), [] { Issue45211<Seed>(true); });
  EXPECT_FALSE(sc) << Show(sc);
}

TEST(Issue45211, SeedCloseDataRace) {
  const auto f =
      sim::Check(Hunt("seed", /*weak=*/false, /*races=*/true), [] { Issue45211<Seed>(true); });
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FindingKind::kDataRace) << f->ToString();
  EXPECT_NE(f->message.find("(InfoLoad)"), std::string::npos)
      << f->message;  // NetpollCheckErr's read
  Report45211("close, data race", f);
}

TEST(Issue45211, SeedDeadlineLostWakeupUnderWeakMemory) {
  const auto f =
      sim::Check(Hunt("seed", /*weak=*/true, /*races=*/false), [] { Issue45211<Seed>(false); });
  ASSERT_TRUE(f) << "the #45211 lost wakeup (deadline) was not found";
  EXPECT_EQ(f->kind, FindingKind::kDeadlock) << f->ToString();
  Report45211("deadline, weak memory, deadlock", f);
}

TEST(Issue45211, SeedDeadlineDataRace) {
  const auto f =
      sim::Check(Hunt("seed", /*weak=*/false, /*races=*/true), [] { Issue45211<Seed>(false); });
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FindingKind::kDataRace) << f->ToString();
  Report45211("deadline, data race", f);
}

TEST(Issue45211, FixedIsClean) {
  for (bool close : {true, false}) {
    sim::CheckStats st;
    RunConfig c = Hunt("fixed", /*weak=*/true, /*races=*/true);
    c.iterations = kCleanExecutions;
    const auto f = sim::Check(
        c, [close] { Issue45211<Fixed>(close); }, &st);
    EXPECT_FALSE(f) << (close ? "close: " : "deadline: ") << Show(f);
    EXPECT_EQ(st.executions, kCleanExecutions);
  }
}

TEST(Issue45211, FixedIsCleanUnderPct) {
  for (bool close : {true, false}) {
    RunConfig c = Hunt("fixed", /*weak=*/true, /*races=*/true);
    c.chooser = ChooserKind::kPct;
    c.iterations = kCleanExecutions / 10;
    const auto f = sim::Check(c, [close] { Issue45211<Fixed>(close); });
    EXPECT_FALSE(f) << Show(f);
  }
}

// Tip (Go's current code, publishInfo's CAS as the closer's barrier) must be
// as clean as fixed on both historical scenarios, under weak memory, with
// races on, under random and PCT schedules.
TEST(TipIsClean, OnIssue48925AndIssue45211) {
  {
    sim::CheckStats st;
    RunConfig c = Hunt("tip", /*weak=*/true, /*races=*/true);
    c.iterations = kCleanExecutions / 5;
    const auto f = sim::Check(c, Issue48925<Tip>, &st);
    EXPECT_FALSE(f) << Show(f);
    EXPECT_EQ(st.executions, kCleanExecutions / 5);
  }
  for (bool close : {true, false}) {
    for (ChooserKind ch : {ChooserKind::kRandom, ChooserKind::kPct}) {
      sim::CheckStats st;
      RunConfig c = Hunt("tip", /*weak=*/true, /*races=*/true);
      c.chooser = ch;
      c.iterations = kCleanExecutions / 10;
      const auto f = sim::Check(c, [close] { Issue45211<Tip>(close); }, &st);
      EXPECT_FALSE(f) << (close ? "close: " : "deadline: ") << Show(f);
      EXPECT_EQ(st.executions, kCleanExecutions / 10);
    }
  }
}

// With weak memory and the race detector both off the engine keeps no store
// records or clocks (Execution::values_only_, fuzz_ops's configuration). It
// must be the same machine as the full model under sequential consistency:
// the same values, scheduling points, choices, outcomes and trace, execution
// by execution (heap addresses aside). The full side runs the detector with
// races as notes, which changes no choice, on programs with plain fields
// (legacy, seed) and without.
TEST(Engine, ValuesOnlyIsTheFullModelUnderSequentialConsistency) {
  struct Body {
    const char* name;
    std::function<void()> fn;
  };
  const Body bodies[] = {
      {"48925 legacy", Issue48925<Legacy>},
      {"48925 tip", Issue48925<Tip>},
      {"45211 close seed", [] { Issue45211<Seed>(true); }},
      {"45211 deadline fixed", [] { Issue45211<Fixed>(false); }},
      {"45211 close tip", [] { Issue45211<Tip>(true); }},
      {"lost update", LostUpdate},
  };
  // Heap addresses (descriptors, parkers, tagged pointers) differ between the
  // two: the full model allocates its Locations.
  const std::regex address("0x[0-9a-f]{9,}");
  for (const Body& b : bodies) {
    for (ChooserKind ch : {ChooserKind::kRandom, ChooserKind::kPct}) {
      std::vector<std::string> runs[2];
      sim::CheckStats st[2];
      for (int full = 0; full < 2; full++) {
        RunConfig c = Config(kCleanExecutions / 1000, /*weak=*/false, 11);
        c.chooser = ch;
        c.trace = true;
        c.detect_races = full == 1;
        c.races_are_findings = false;
        c.on_execution = [&runs, &address, full](const sim::ExecutionRecord& r) {
          std::string s = std::to_string(r.finished) + " " + std::to_string(r.steps) + " " +
                          std::to_string(r.threads) + " " + r.finding.schedule_hex + " " +
                          sim::FindingKindName(r.finding.kind) + " " + r.finding.message;
          for (const std::string& line : r.finding.trace) s += "\n" + line;
          runs[full].push_back(std::regex_replace(s, address, "0x(addr)"));
        };
        (void)sim::Check(c, b.fn, &st[full]);
      }
      SCOPED_TRACE(std::string(b.name) + (ch == ChooserKind::kPct ? ", pct" : ", random"));
      EXPECT_EQ(st[0].digest, st[1].digest);
      EXPECT_EQ(st[0].steps, st[1].steps);
      ASSERT_EQ(runs[0].size(), runs[1].size());
      ASSERT_FALSE(runs[0].empty());
      for (size_t i = 0; i < runs[0].size(); i++) {
        ASSERT_EQ(runs[0][i], runs[1][i]) << "execution " << i + 1;
      }
    }
  }
}

// ===========================================================================
// Throughput (run explicitly: --gtest_also_run_disabled_tests). A figure, not
// an assertion; compare against the same run's other mode, never a constant.
// ===========================================================================

void SixteenOps() {
  sim::Atomic<int> x{0}, y{0};
  auto a = sim::Spawn([&] {
    for (int i = 0; i < 4; i++) {
      x.store(i, std::memory_order_release);
      (void)y.load(std::memory_order_acquire);
    }
  });
  auto b = sim::Spawn([&] {
    for (int i = 0; i < 4; i++) {
      y.store(i, std::memory_order_release);
      (void)x.load(std::memory_order_acquire);
    }
  });
  a.Join();
  b.Join();
}

void Rate(const char* what, const std::function<void()>& body, uint64_t n) {
  for (bool weak : {false, true}) {
    sim::CheckStats st;
    // CPU time, not wall time: the figure must not depend on what else the
    // (shared, 2-core) machine is doing.
    const std::clock_t c0 = std::clock();
    const auto f = sim::Check(Config(n, weak), body, &st);
    const double secs = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    EXPECT_FALSE(f) << Show(f);
    std::printf(
        "%s, %s: %llu executions in %.2f s CPU = %.0f schedules/s (%.1f steps, %.1f choices "
        "each)\n",
        what, weak ? "weak memory" : "sequentially consistent",
        static_cast<unsigned long long>(st.executions), secs, st.executions / secs,
        static_cast<double>(st.steps) / st.executions,
        static_cast<double>(st.choices) / st.executions);
  }
}

TEST(Throughput, DISABLED_TwoThreadsSixteenOps) {
  Rate("2 threads x 8 ops", SixteenOps, 200000);
}

TEST(Throughput, DISABLED_PollDescCloseScenario) {
  Rate(
      "#45211 close scenario, fixed", [] { Issue45211<Fixed>(true); }, 50000);
}

}  // namespace
}  // namespace pollstorm
