// tests/ops_test.cc: the operation language: text and binary forms.
#include "harness/ops/ops.h"

#include <gtest/gtest.h>

#include <random>

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
    std::vector<uint8_t> b = {'P', 'S', static_cast<uint8_t>(1 + i % 2)};
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
