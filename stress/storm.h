// stress/storm.h: a storm is many real threads driving real pollDescs (RealEnv)
// with random operations, checked online by an oracle and a watchdog.
//
//   StormConfig      every knob, parsed from the command line (storm_main.cc)
//   Profile          a named op mix (weights per op kind)
//   RunStormWorker   runs one storm in this process; prints protocol lines
//                    (see below) on stdout; returns an exit code
//
// Worker -> supervisor protocol (stdout, one line each, tab-separated):
//   PROGRESS <elapsed_s> <ops> <findings>
//   FINDING  <json>                 a finding (harness/findings/finding.h)
//   SUMMARY  <json>                 once, at the end
// Anything on stderr (TSan reports, the runtime's "fatal error: ...") is
// parsed by the supervisor.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "harness/ops/ops.h"

namespace pollstorm::storm {

// Op kinds the actors choose among (waiters only wait).
enum ActorOp : int {
  kActReady,     // netpollready in memory (r, w or rw)
  kActEventErr,  // the poller saw EPOLLERR alone, or not
  kActDeadline,  // pollSetDeadline: past, zero, near, far, equal r/w
  kActReopen,    // unblock, wait for the waiters to leave, close, reopen
  kActIo,        // write a byte into a pipe (io profile): readiness via epoll
  kActHangup,    // close the pipe's write end (io profile): EPOLLHUP, readers read 0
  kActDrain,     // read the pipe empty (io profile): a writer parked on it is owed EPOLLOUT
  kNumActorOps,
};
inline constexpr const char* kActorOpNames[kNumActorOps] = {"ready", "everr", "deadline", "reopen",
                                                            "io",    "hangup", "drain"};

struct Profile {
  const char* name;
  const char* description;
  std::array<int, kNumActorOps> weights;
  // Read waiters do real reads, write waiters real writes (until the pipe is
  // full), on pipes whose two ends are registered with epoll.
  bool io;
  // No rescuers: hangup only while a reader is parked on the slot, reopen only
  // a hung-up slot with no waiter parked (its unblock then rescues nobody).
  bool kernel_wakes_only = false;
  // Each waiter sets its own deadline (1 us .. 2 ms) on its mode before its
  // reset, as a caller of SetReadDeadline then Read does.
  bool waiter_deadlines = false;
  // Actors rest up to twice this between operations (0: never): with few
  // of them, nothing but a waiter's own timer wakes it, so a timer that
  // fails to wake strands its waiter until the watchdog's bound.
  int actor_pause_ms = 0;
};

inline constexpr Profile kProfiles[] = {
    {"mixed", "every op, in memory", {40, 5, 30, 5, 0, 0, 0}, false},
    {"ready", "readiness ping-pong (pattern A)", {85, 0, 10, 5, 0, 0, 0}, false},
    {"deadline", "deadline-heavy: expiries racing waiters (pattern B)", {15, 0, 80, 5, 0, 0, 0}, false},
    {"reuse", "close/reopen-heavy: LIFO reuse, stale timers", {30, 5, 30, 35, 0, 0, 0}, false},
    {"io", "real pipes through the epoll poller: writes until full, drains, hang-ups",
     {20, 0, 25, 10, 50, 3, 20}, true, false},
    // Nothing but the kernel wakes a waiter here (no deadline, ready, reopen
    // or unblock to rescue one the port failed), so a wake lost on a
    // hang-up or a drain strands its waiter until the watchdog's bound.
    {"pipes", "real pipes, kernel wakes only: writes until full, drains, hang-ups",
     {0, 0, 0, 5, 50, 5, 30}, true, true},
    // Nothing but a waiter's own timer ends its wait (the same idea, in memory).
    {"timers", "waiters set their own deadlines, actors are rare: each wait ends by its timer",
     {2, 0, 0, 1, 0, 0, 0}, false, false, true, 1500},
};

struct StormConfig {
  std::string variant = "fixed";
  uint64_t seed = 1;
  int threads = 8;          // waiters are half of them, actors the rest
  int descriptors = 4;
  double duration_s = 10;
  uint64_t max_ops = 0;     // 0: no op budget, only the duration
  const Profile* profile = &kProfiles[0];
  std::array<int, kNumActorOps> weights{};  // effective weights (profile + overrides)
  int watchdog_ms = 3000;   // the wake-obligation bound
  int progress_ms = 1000;
  uint64_t drop_wake = 0;   // test-only fault: drop the Nth wake (0: never)
  bool stop_on_first = false;
  // Where every descriptor's fdseq/rseq/wseq start (--fdseq-start,
  // --seq-start): near a wrap or a field boundary, the storm's reuse drives
  // them across it.
  uint64_t fdseq_start = 0, seq_start = 0;
  // The history check (storm_history.h): ops recorded per thread, 0: off.
  uint64_t history_ops = 250000;
  // The io profile's poll loop (--poller): a poller thread, or the waiters
  // poll themselves (issue #17).
  bool waiter_polls = false;
};

int RunStormWorker(const StormConfig& cfg);

}  // namespace pollstorm::storm
