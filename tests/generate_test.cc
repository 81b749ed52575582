// harness/ops/generate.h: the swarm generator and its classifier.
#include "harness/ops/generate.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace pollstorm::ops {
namespace {

TEST(GenerateTest, SameSeedSameProgram) {
  for (uint64_t seed = 1; seed < 200; seed++) EXPECT_EQ(Generate(seed), Generate(seed));
  EXPECT_NE(Generate(1), Generate(2));
}

// Every program keeps the limits and has something that can be owed a wake,
// and its text form parses back to the same program (a finding prints it).
TEST(GenerateTest, ProgramsKeepTheLimitsAndRoundTripAsText) {
  for (uint64_t seed = 1; seed <= 2000; seed++) {
    const Program p = Generate(seed);
    ASSERT_GE(p.threads.size(), static_cast<size_t>(kGenMinThreads));
    ASSERT_LE(p.threads.size(), static_cast<size_t>(kGenMaxThreads));
    bool waits = false;
    for (const auto& th : p.threads) {
      for (const Op& op : th) {
        ASSERT_LT(op.desc, kGenMaxDescs);
        waits |= op.kind == OpKind::kWait || op.kind == OpKind::kRead;
      }
    }
    ASSERT_TRUE(waits) << FormatProgram(p);
    ParseError err;
    auto back = ParseProgram(FormatProgram(p), &err);
    ASSERT_TRUE(back.has_value()) << err.ToString();
    ASSERT_EQ(*back, p) << FormatProgram(p);
  }
}

// Swarm: programs differ in which kinds they leave out, not only in order.
// Over 1000 programs every kind and every argument class appears, and no
// kind appears in every program.
TEST(GenerateTest, SwarmCoversEveryKindAndClassButNotAllAtOnce) {
  Coverage cov;
  std::set<std::array<bool, kNumOpKinds>> kind_sets;
  for (uint64_t seed = 1; seed <= 1000; seed++) {
    const Classification c = Classes(Generate(seed));
    cov.Add(c);
    kind_sets.insert(c.kinds);
  }
  for (int k = 0; k < kNumOpKinds; k++) {
    EXPECT_GT(cov.kinds[k], 0u) << KindName(static_cast<OpKind>(k));
    EXPECT_LT(cov.kinds[k], cov.programs) << KindName(static_cast<OpKind>(k));
  }
  for (int a = 0; a < kNumArgClasses; a++) {
    EXPECT_GT(cov.classes[a], 0u) << ArgClassName(static_cast<ArgClass>(a));
  }
  EXPECT_GT(kind_sets.size(), 100u);
  EXPECT_NE(cov.ToString().find("never generated: none"), std::string::npos) << cov.ToString();
}

// The classifier on hand-written programs: it must say what is there and
// nothing that is not.
TEST(GenerateTest, ClassesNameWhatAProgramExercises) {
  ParseError err;
  auto p = ParseProgram(
      "thread 0\n  wait d0 r\nthread 1\n  deadline d0 r 10us\n  deadline d0 rw far\n"
      "  unblock d0\n  close d0\n  open d0\n",
      &err);
  ASSERT_TRUE(p.has_value()) << err.ToString();
  const Classification c = Classes(*p);
  auto has = [&c](ArgClass a) { return c.classes[static_cast<int>(a)]; };
  EXPECT_TRUE(has(ArgClass::kDeadlineFiresR));
  EXPECT_TRUE(has(ArgClass::kDeadlineFar));
  EXPECT_TRUE(has(ArgClass::kRearmWhileParked));
  EXPECT_TRUE(has(ArgClass::kReuseUnblock));
  EXPECT_TRUE(has(ArgClass::kUnblockRacingWait));
  EXPECT_FALSE(has(ArgClass::kDeadlineFiresW));
  EXPECT_FALSE(has(ArgClass::kDeadlineFiresRW));
  EXPECT_FALSE(has(ArgClass::kDeadlinePast));
  EXPECT_FALSE(has(ArgClass::kRead));
  EXPECT_FALSE(c.kinds[static_cast<int>(OpKind::kReady)]);
  // The same two sets in the waiter's own thread are no re-arm while parked.
  auto q = ParseProgram("thread 0\n  wait d0 r\n  deadline d0 r 10us\n  deadline d0 r 20us\n"
                        "thread 1\n  ready d0 r\n",
                        &err);
  ASSERT_TRUE(q.has_value());
  EXPECT_FALSE(Classes(*q).classes[static_cast<int>(ArgClass::kRearmWhileParked)]);
}

}  // namespace
}  // namespace pollstorm::ops
