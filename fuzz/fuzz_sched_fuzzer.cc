// fuzz/fuzz_sched_fuzzer.cc: one input is one fully determined execution:
// ops x schedule x reads-from x timer firings.
//   byte 0          n: the program has n % kMaxOps + 1 op triples
//   next 3n bytes   the ops (binary form, thread in the top 2 bits: 1-4 threads)
//   the rest        the simulator's choices (ChooserKind::kBytes): which thread
//                   runs next, which store a weak load reads, when a timer fires
// Weak memory on; data races are not stopped at (their consequence is hunted:
// a lost wakeup or a deadlock).
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_common.h"
#include "harness/simrun/program_runner.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pollstorm::fuzz::Variant();
  pollstorm::fuzz::Counters();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pollstorm;
  if (size < 4) return -1;
  const size_t n = data[0] % fuzz::kMaxOps + 1;
  if (size < 1 + 3 * n) return -1;
  auto p = fuzz::Decode(data + 1, 3 * n);
  if (!p || !simrun::CheckProgram(*p).empty()) return -1;
  sim::RunConfig cfg;
  cfg.chooser = sim::ChooserKind::kBytes;
  cfg.bytes.assign(data + 1 + 3 * n, data + size);
  cfg.iterations = 1;
  cfg.weak_memory = true;
  cfg.races_are_findings = false;
  cfg.label = fuzz::Variant();
  if (auto f = simrun::RunProgram(*p, fuzz::Variant(), cfg)) fuzz::Crash(*f, *p);
  return 0;
}
