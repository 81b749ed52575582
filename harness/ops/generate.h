// harness/ops/generate.h: programs nobody wrote (DESIGN.md §4), generated
// from the operation language with swarm testing.
//
// Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): rather than one
// generator that mixes every op kind into every program, each program first
// draws its own configuration: a random subset of the op kinds and of the
// argument classes, random weights over them, 2-4 threads and 1-4
// descriptors. A program that leaves out `ready` or `unblock` is the one in
// which a lone deadline firing decides the waiter's fate; a mix of
// everything drowns such a shape in noise.
//
// The generator draws from "shapes" as well as single ops: a shape is a
// short idiom that a bug needs and that independent draws rarely produce:
//   rearm   a deadline set twice on the mode another thread waits on
//           (re-arms while parked),
//   reuse   unblock, close, open of one descriptor in one thread,
//   race    an unblock in one thread, a wait on the same descriptor in another,
//   drace   a deadline set (any enabled class) racing a wait on its mode: the
//           closer side of pattern B for past sets and timers, as race is for
//           unblock.
// Half the programs also get pipe ops (drawn from a stream of their own, so
// the other half are exactly the programs these seeds gave before the pipe
// ops existed), from the shapes
//   fill    kPipeCapacity + 1 writes in one thread, a drain in another (a
//           writer parks on the full pipe and is owed the drain's wake),
//   hup     a read in one thread, a hangup in another (a reader parked
//           before the hang-up is owed a wake, and reads 0),
//   err     a read or write in one thread, an epollerr in another,
// and a few single pipe ops (write, drain, hangup, epollerr, io, read).
//
// Classes(prog) names what a program exercises (for any program, generated
// or not), so a run can report its coverage of kinds and argument classes.
// Same seed, same program, on every host (no global RNG, no hash order).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/ops/ops.h"

namespace pollstorm::ops {

// Argument classes and program shapes, as Classes() reports them.
enum class ArgClass : uint8_t {
  kDeadlineFiresR,   // a short future read deadline (fires within the program)
  kDeadlineFiresW,   // the same for write
  kDeadlineFiresRW,  // equal read and write deadlines (the combo timer)
  kDeadlinePast,
  kDeadlineZero,
  kDeadlineFar,
  kRearmWhileParked,   // >= 2 deadline sets on a descriptor and mode another thread waits on
  kReuseUnblock,       // unblock then close then open, one descriptor, one thread
  kReuseClose,         // close of a descriptor (after an unblock)
  kReuseOpen,          // open of a descriptor (after a close)
  kEverrOn,
  kEverrOff,
  kIo,
  kRead,
  kUnblockRacingWait,  // an unblock and a wait/read of one descriptor in different threads
  kDeadlineRacingWait, // a deadline set covering the mode a wait/read in another thread waits on
  kReadyR,
  kReadyW,
  kReadyRW,
  kAdvance,
  kCountersNearWrap,   // a `counters` header: fdseq/rseq/wseq start just below a boundary
  kPipeFull,           // more writes on a descriptor in one thread than its pipe holds
  kDrainRacingWrite,   // a drain and a write of one descriptor in different threads
  kHangupRacingRead,   // a hangup and a read of one descriptor in different threads
  kEpollErrRacingIo,   // an epollerr and a read or write of one descriptor in different threads
};
inline constexpr int kNumArgClasses = 25;
const char* ArgClassName(ArgClass c);

// What one program exercises: op kinds (each counted once per program) and
// argument classes.
struct Classification {
  std::array<bool, kNumOpKinds> kinds{};
  std::array<bool, kNumArgClasses> classes{};
};
Classification Classes(const Program& p);

// Programs per kind and per class, over a run.
struct Coverage {
  uint64_t programs = 0;
  std::array<uint64_t, kNumOpKinds> kinds{};
  std::array<uint64_t, kNumArgClasses> classes{};
  void Add(const Classification& c);
  // "open 12, close 9, ...; deadline-fires-r 30, ..." and what never appeared.
  std::string ToString() const;
};

// Limits the generator keeps (the simulator's program runner takes at most
// simrun::kMaxProgramThreads threads).
inline constexpr int kGenMinThreads = 2;
inline constexpr int kGenMaxThreads = 4;
inline constexpr int kGenMaxDescs = 4;
// Drawn ops per thread; the shapes (at most 7 ops in all) come on top.
inline constexpr int kGenMaxOpsPerThread = 5;

// Generate(seed): one swarm program. Every program has at least one wait or
// read (something that can be owed a wake) and at least one op in a second
// thread.
Program Generate(uint64_t seed);

}  // namespace pollstorm::ops
