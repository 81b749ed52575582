// tests/litmus_sim_test.cc: the litmus tests in the simulator
// (harness/litmus/sim_litmus.h). For each: explore many executions with the
// random chooser and weak memory on; every outcome the simulator is expected
// to produce must appear, and nothing C11 forbids may ever appear.
#include <gtest/gtest.h>

#include <string>

#include "harness/litmus/sim_litmus.h"

namespace pollstorm::litmus {
namespace {

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)  // ~20x slower: a smaller sample
constexpr uint64_t kExecutions = 8000;
#else
constexpr uint64_t kExecutions = 20000;
#endif
#else
constexpr uint64_t kExecutions = 20000;
#endif

std::string Describe(const Outcomes& seen) {
  std::string s;
  for (const auto& [outcome, n] : seen) s += "  " + outcome + ": " + std::to_string(n) + "\n";
  return s;
}

class SimLitmusTest : public ::testing::TestWithParam<SimLitmus> {};

TEST_P(SimLitmusTest, ProducesExactlyTheExpectedOutcomes) {
  const SimLitmusSpec& spec = SpecOf(GetParam());
  sim::RunConfig cfg;
  cfg.iterations = kExecutions;
  cfg.weak_memory = true;
  cfg.seed = 2024;
  cfg.label = spec.name;
  std::optional<sim::Finding> finding;
  const Outcomes seen = RunSimLitmus(GetParam(), cfg, &finding);
  ASSERT_FALSE(finding) << finding->ToString();
  for (const auto& [outcome, n] : seen) {
    EXPECT_TRUE(spec.allowed.count(outcome))
        << spec.name << ": FORBIDDEN outcome " << outcome << " seen " << n << " times\n"
        << Describe(seen);
  }
  for (const std::string& want : spec.expected) {
    EXPECT_TRUE(seen.count(want)) << spec.name << ": allowed outcome " << want
                                  << " never produced in " << kExecutions << " executions\n"
                                  << Describe(seen);
  }
  for (const std::string& gap : spec.allowed) {
    if (!spec.expected.count(gap)) {
      EXPECT_FALSE(seen.count(gap))
          << spec.name << ": " << gap << " appeared; update the documented gap";
    }
  }
  RecordProperty("outcomes", Describe(seen));
}

TEST_P(SimLitmusTest, SequentialConsistencyModeShowsNoWeakOutcome) {
  // With weak memory off every load reads the latest store: only interleavings.
  const SimLitmusSpec& spec = SpecOf(GetParam());
  sim::RunConfig cfg;
  cfg.iterations = kExecutions / 4;
  cfg.weak_memory = false;
  cfg.seed = 7;
  const Outcomes seen = RunSimLitmus(GetParam(), cfg);
  const SimLitmusSpec& sc = SpecOf(SimLitmus::kSbSeqCst);
  if (spec.test == SimLitmus::kSbRelaxed) {
    for (const auto& [outcome, n] : seen) EXPECT_TRUE(sc.allowed.count(outcome)) << outcome;
  }
  if (spec.test == SimLitmus::kMpRelaxed) {
    EXPECT_FALSE(seen.count("r1=1 r2=0")) << Describe(seen);
  }
  if (spec.test == SimLitmus::k2p2wRelaxed) {
    EXPECT_FALSE(seen.count("x=1 y=1")) << Describe(seen);
  }
  if (spec.test == SimLitmus::kIriwRelaxed) {
    EXPECT_FALSE(seen.count("r1=1 r2=0 r3=1 r4=0")) << Describe(seen);
  }
  for (const auto& [outcome, n] : seen) EXPECT_TRUE(spec.allowed.count(outcome)) << outcome;
}

INSTANTIATE_TEST_SUITE_P(All, SimLitmusTest,
                         ::testing::Values(SimLitmus::kSbRelaxed, SimLitmus::kSbSeqCst,
                                           SimLitmus::kSbFences, SimLitmus::kMpRelaxed,
                                           SimLitmus::kMpRelAcq, SimLitmus::kMpFences,
                                           SimLitmus::kLbRelaxed, SimLitmus::k2p2wRelaxed,
                                           SimLitmus::kIriwRelaxed, SimLitmus::kIriwSeqCst,
                                           SimLitmus::kCorrRelaxed, SimLitmus::kSbOneFence,
                                           SimLitmus::kMpRelSeq, SimLitmus::kSbMixRelSc,
                                           SimLitmus::kSbMixRelFenceSc, SimLitmus::kSbMixScSc,
                                           SimLitmus::kSbMixRlxFenceSc,
                                           SimLitmus::kSbMixFenceAcqLoad,
                                           SimLitmus::kSbMixFenceAcqRelCas),
                         [](const ::testing::TestParamInfo<SimLitmus>& info) {
                           std::string n = SpecOf(info.param).name;
                           for (char& c : n) {
                             if (c == '+') c = '_';
                           }
                           return n == "2_2W_rlx" ? std::string("TwoPlusTwoW_rlx") : n;
                         });

}  // namespace
}  // namespace pollstorm::litmus
