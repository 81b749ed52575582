// harness/sim/rt/rt.h: the simulator's engine, internal to harness/sim/.
//
// Modules (read in this order):
//
//   rt/rt.h             this table, the ids and the documented limits
//   rt/vector_clock.h   VectorClock: happens-before, one slot per thread
//   rt/fiber.h          Fiber and StackPool: Boost.Context fcontext plus the
//                       TSan/ASan fiber annotations
//   rt/location.h       Location: one memory cell's bounded store history
//                       (weak memory) and its race-detector state
//   rt/execution.h      Execution: one run of a program, and every Env
//                       operation on it. rt::Current() is the only way in.
//                       One class; its members are defined by concern:
//     rt/execution.cc     the execution loop: Run, scheduling points, the
//                         choices, which threads can run, findings, abandon
//     rt/memory.cc        the memory model: cells, store histories, loads,
//                         stores, RMWs, CAS, fences
//     rt/race.cc          the data-race detector (Shared cells)
//     rt/mutex.cc         Mutex: Lock, Unlock
//     rt/parker.cc        Parker: Park, Unpark
//     rt/timer.cc         virtual time: Nanotime, Sleep, the timer service
//     rt/thread.cc        threads: Spawn, Join, Yield, start and exit
//   Each .cc opens with what it models and its limits.
//
// Facades (harness/sim/*.h) forward every operation through rt::Current() and
// never schedule themselves. Nothing here reads a wall clock, a global RNG or
// iterates a hash container: every nondeterministic choice goes through the
// Chooser (harness/sim/choose/chooser.h) and is recorded in the Schedule.
#pragma once

#include <cstdint>

namespace pollstorm::sim::rt {

// A simulated thread: an index into the execution's thread table, assigned in
// creation order (main = 0), so ids are deterministic.
using ThreadId = uint32_t;
inline constexpr ThreadId kNoThread = UINT32_MAX;

// kMaxThreads: simulated threads per execution, counting the main thread and
// the timer fiber. Vector clocks are fixed arrays of this size; a program
// that spawns more gets a `limit` finding. 8 covers every scenario so far
// (main + 4 litmus threads + timer fiber) and keeps a clock at 32 bytes.
inline constexpr uint32_t kMaxThreads = 8;

// kMaxStoreHistory: stores kept per memory location, in modification order.
// A weak load may read any of them that coherence allows; older stores are
// evicted, which only removes behaviours (a thread whose coherence floor was
// evicted is treated as having seen the oldest kept store). 8 is deeper than
// any pattern in pollDesc needs (the #48925 stale read is 3 stores back).
inline constexpr uint32_t kMaxStoreHistory = 8;

// kFiberStackSize: bytes of stack per simulated thread (plus one guard page).
// Sanitizer builds need more: ASan redzones and TSan frames are larger.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr uint32_t kFiberStackSize = 512 * 1024;
#else
inline constexpr uint32_t kFiberStackSize = 256 * 1024;
#endif
#else
inline constexpr uint32_t kFiberStackSize = 256 * 1024;
#endif

// kStartTime: virtual Nanotime() when an execution starts (1 s, so that, as in
// Go, nanotime() is positive and a deadline of 0 means "none").
inline constexpr int64_t kStartTime = 1'000'000'000;

// kDefaultMaxSteps: scheduling points per execution before a `step-bound`
// finding (a livelock candidate).
inline constexpr uint64_t kDefaultMaxSteps = 100'000;

// kMaxRaceNotes: when races are not findings (RunConfig::races_are_findings
// off), how many are kept as notes on the execution's outcome (the first
// ones; later ones are only counted, in one last note).
inline constexpr uint32_t kMaxRaceNotes = 2;

// kMaxTraceEvents: operations kept when tracing (RunConfig::trace), the most
// recent ones; enough to see the interleaving that led to a finding.
inline constexpr uint32_t kMaxTraceEvents = 400;

}  // namespace pollstorm::sim::rt
