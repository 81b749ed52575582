// tests/ops_test.cc: the operation language: text and binary forms.
#include "harness/ops/ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace pollstorm::ops {
namespace {

constexpr const char* kScenario = R"(# the seed's lost wakeup, as a program
thread 0
  open d0
  wait d0 r
  wait d0 r
thread 1
  ready d0 r
  ready d0 rw
  deadline d0 rw 50us
  deadline d1 w past
  deadline d1 r zero
  deadline d1 r far
  everr d2 on
  unblock d0
  close d0
  io d3
  read d3
  advance 2ms
)";

TEST(OpsTest, TextRoundTrips) {
  ParseError err;
  auto p = ParseProgram(kScenario, &err);
  ASSERT_TRUE(p) << err.ToString();
  ASSERT_EQ(p->threads.size(), 2u);
  EXPECT_EQ(p->NumOps(), 15u);
  EXPECT_EQ(p->threads[1][2].arg, 50000);
  EXPECT_EQ(p->threads[1][2].mode, 'r' + 'w');
  auto again = ParseProgram(FormatProgram(*p), &err);
  ASSERT_TRUE(again) << err.ToString();
  EXPECT_EQ(*again, *p);
}

TEST(OpsTest, BinaryRoundTripsRepresentablePrograms) {
  ParseError err;
  auto p = ParseProgram(kScenario, &err);
  ASSERT_TRUE(p);
  const auto bytes = EncodeBinary(*p);
  auto q = DecodeBinary(bytes.data(), bytes.size());
  ASSERT_TRUE(q);
  EXPECT_EQ(*q, *p);
}

TEST(OpsTest, AnyBytesDecodeToAProgramThatRoundTrips) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 2000; i++) {
    std::vector<uint8_t> b = {'P', 'S', static_cast<uint8_t>(1 + i % 3)};
    const int n = static_cast<int>(rng() % 64);
    for (int j = 0; j < n; j++) b.push_back(static_cast<uint8_t>(rng()));
    auto p = DecodeBinary(b.data(), b.size());
    ASSERT_TRUE(p);
    const auto enc = EncodeBinary(*p);
    auto q = DecodeBinary(enc.data(), enc.size());
    ASSERT_TRUE(q);
    EXPECT_EQ(*q, *p) << "iteration " << i;
    ParseError err;
    auto t = ParseProgram(FormatProgram(*p), &err);
    ASSERT_TRUE(t) << err.ToString() << "\n" << FormatProgram(*p);
    EXPECT_EQ(*t, *p);
  }
}

TEST(OpsTest, VersionOneInputsDecodeAsTheyAlwaysDid) {
  // Kind 10 is `read` from version 2 on; version 1 reduced kinds modulo 10.
  const uint8_t v1[] = {'P', 'S', 1, 10, 0x10, 0, 18, 0, 0};
  const uint8_t v2[] = {'P', 'S', 2, 10, 0x10, 0, 18, 0, 0};
  auto a = DecodeBinary(v1, sizeof v1);
  auto b = DecodeBinary(v2, sizeof v2);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(FormatOp(a->threads[0][0]), "open d1");
  EXPECT_EQ(FormatOp(a->threads[0][1]), "io d0");
  EXPECT_EQ(FormatOp(b->threads[0][0]), "read d1");
  EXPECT_EQ(FormatOp(b->threads[0][1]), "unblock d0");
}

// Version 3 added write, drain, hangup and epollerr (kinds 11-14). Version 2
// inputs still reduce their kind field modulo 11, version 1 modulo 10.
TEST(OpsTest, VersionTwoInputsDecodeAsTheyAlwaysDid) {
  const uint8_t v2[] = {'P', 'S', 2, 11, 0, 0, 14, 0, 0, 25, 0, 0};
  const uint8_t v3[] = {'P', 'S', 3, 11, 0, 0, 14, 0, 0, 25, 0, 0};
  auto a = DecodeBinary(v2, sizeof v2);
  auto b = DecodeBinary(v3, sizeof v3);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(FormatOp(a->threads[0][0]), "open d0");      // 11 % 11
  EXPECT_EQ(FormatOp(a->threads[0][1]), "wait d0 r");    // 14 % 11
  EXPECT_EQ(FormatOp(a->threads[0][2]), "wait d0 r");    // 25 % 11
  EXPECT_EQ(FormatOp(b->threads[0][0]), "write d0");
  EXPECT_EQ(FormatOp(b->threads[0][1]), "epollerr d0");
  EXPECT_EQ(FormatOp(b->threads[0][2]), "read d0");      // 25 % 15
  // Random version 2 inputs decode exactly as a kind-modulo-11 decoder reads them.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; i++) {
    std::vector<uint8_t> old = {'P', 'S', 2};
    for (int j = static_cast<int>(rng() % 48); j > 0; j--) old.push_back(static_cast<uint8_t>(rng()));
    std::vector<uint8_t> as_v3 = old;
    as_v3[2] = 3;
    for (size_t k = 3; k + 3 <= as_v3.size(); k += 3) {
      as_v3[k] = static_cast<uint8_t>((as_v3[k] & 0xc0) | ((as_v3[k] & 63) % kNumOpKindsV2));
    }
    EXPECT_EQ(*DecodeBinary(old.data(), old.size()), *DecodeBinary(as_v3.data(), as_v3.size()))
        << "input " << i;
  }
}

// Every stored program (the fuzz seeds, the regressions, the simulator's
// corpus) decodes unchanged: its version 2 form (what the seeds were before
// version 3) decodes to it, its current form too, and for the programs that
// use only version 2's kinds the op bytes (the headerless seeds the fuzz
// targets read) are the same in both versions.
TEST(OpsTest, StoredProgramsDecodeUnchangedAcrossVersions) {
  int files = 0, old_kinds = 0;
  for (const char* dir : {"corpus/fuzz_ops", "corpus/fuzz_sched", "corpus/regressions", "corpus/sim",
                          "corpus/known", "corpus/triage"}) {
    const std::filesystem::path d = std::filesystem::path(POLLSTORM_SOURCE_DIR) / dir;
    ASSERT_TRUE(std::filesystem::is_directory(d)) << d;
    std::vector<std::filesystem::path> paths;
    for (const auto& e : std::filesystem::directory_iterator(d)) {
      if (e.path().extension() == ".txt") paths.push_back(e.path());
    }
    std::sort(paths.begin(), paths.end());
    for (const auto& path : paths) {
      std::ifstream in(path);
      std::stringstream text;
      text << in.rdbuf();
      ParseError err;
      auto p = ParseProgram(text.str(), &err);
      ASSERT_TRUE(p) << path << ": " << err.ToString();
      if (!BinaryLoss(*p).empty()) continue;  // text-only (more than 4 threads, odd durations)
      files++;
      const auto v3 = EncodeBinary(*p);
      // The binary form has no counters header: the ops are what must agree.
      EXPECT_EQ(DecodeBinary(v3.data(), v3.size())->threads, p->threads) << path;
      EXPECT_EQ(DecodeOpTriples(v3.data() + 3, v3.size() - 3).threads, p->threads) << path;
      bool v2_only = true;
      for (const auto& th : p->threads) {
        for (const Op& op : th) v2_only &= static_cast<int>(op.kind) < kNumOpKindsV2;
      }
      if (!v2_only) continue;
      old_kinds++;
      const auto v2 = EncodeBinaryAs(*p, 2);
      EXPECT_EQ(DecodeBinary(v2.data(), v2.size())->threads, p->threads) << path;
      EXPECT_TRUE(std::equal(v2.begin() + 3, v2.end(), v3.begin() + 3, v3.end())) << path;
    }
  }
  EXPECT_GT(files, 20);
  EXPECT_GT(old_kinds, 20);
}

TEST(OpsTest, BadHeaderIsRejected) {
  const uint8_t bad[] = {'P', 'X', 1, 0, 0, 0};
  EXPECT_FALSE(DecodeBinary(bad, sizeof bad));
  const uint8_t future[] = {'P', 'S', 9};
  EXPECT_FALSE(DecodeBinary(future, sizeof future));
}

struct BadCase {
  const char* text;
  int line;
  const char* needle;
};

TEST(OpsTest, ParseErrorsNameTheLineAndTheProblem) {
  const BadCase cases[] = {
      {"thread 0\n  wiat d0 r\n", 2, "unknown op 'wiat'"},
      {"thread 0\n  wait d0 rw\n", 2, "expected mode r or w"},
      {"thread 0\n  wait q0 r\n", 2, "expected a descriptor"},
      {"thread 0\n  deadline d0 r soon\n", 2, "bad value 'soon'"},
      {"thread 1\n", 1, "expected 'thread 0'"},
      {"  wait d0 r\n", 1, "op before the first"},
      {"thread 0\n  advance 5\n", 2, "advance takes a duration"},
      {"# nothing\n", 2, "no 'thread N' section"},
      {"thread 0\n  unblock d0 r\n", 2, "takes only a descriptor"},
  };
  for (const auto& c : cases) {
    ParseError err;
    EXPECT_FALSE(ParseProgram(c.text, &err)) << c.text;
    EXPECT_EQ(err.line, c.line) << c.text;
    EXPECT_NE(err.message.find(c.needle), std::string::npos) << err.message;
  }
}

}  // namespace
}  // namespace pollstorm::ops
