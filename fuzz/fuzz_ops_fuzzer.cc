// fuzz/fuzz_ops_fuzzer.cc: a program of operations on a few descriptors, run
// one op at a time in the simulator (sequential consistency) and compared
// with the executable model after every step (harness/simrun/sequential.h).
// Input: op triples in the binary form (harness/ops/ops.h), no header.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_common.h"
#include "harness/simrun/sequential.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pollstorm::fuzz::Variant();
  pollstorm::fuzz::Counters();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto p = pollstorm::fuzz::Decode(data, size);
  if (!p) return -1;
  if (auto f = pollstorm::simrun::RunSequential(*p, pollstorm::fuzz::Variant())) {
    pollstorm::fuzz::Crash(*f, *p);
  }
  return 0;
}
