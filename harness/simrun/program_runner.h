// harness/simrun/program_runner.h: runs an operation-language program
// (harness/ops) in the deterministic simulator, against PollServer<SimEnv, V>.
//
// Each program thread is a simulated thread that executes its ops in order.
// The caller contract is enforced the way internal/poll enforces it, with
// simulated atomics so that its happens-before edges are real:
//   - a per-descriptor reference count with a closing bit (fdMutex's incref /
//     increfAndClose): reset, wait and deadline take a reference; unblock sets
//     the closing bit (at most once per incarnation); close needs it set and
//     no reference left; open needs the descriptor closed;
//   - one waiter token per descriptor and mode (fdMutex's read/write lock).
// An op the contract forbids at that moment is skipped (not an error), so any
// program, even fuzzer bytes, is a valid execution. ready and everr take no
// reference (Go's poller does not): they may reach a freed or reused
// descriptor, which is Go's stale-event case.
//
// Programs with io, read, write, drain, hangup or epollerr ops run over the
// simulated kernel (harness/sim/kernel.h): each descriptor incarnation has a
// pipe pair registered with the server. io, drain, hangup and epollerr act
// on the pipe the slot holds now (no reference: the other end is another
// process); read and write run the Fd facade's loops (polldesc/fd.h ReadLoop,
// WriteLoop) under the read or write token; the drainer doubles as the
// netpoller (a netpoll(0) pass at each of its steps, as Go's findrunnable),
// and with pipe events each epoll event goes through the port's own mapping
// (EpollEventMode) and event-error rule.
// With POLLSTORM_SIM_WAITER_POLLS=1 a reader also runs a pass itself just
// before its pollWait (issue #17, the waiter as the poller).
//
// The oracle keeps its bookkeeping in host memory, not in simulated memory:
// fibers run one at a time, so it sees the true order of events and adds no
// happens-before edge. Every result is checked (sim::Assert on failure):
//   ok          a ready reached this descriptor object after the waiter's
//               reset began (spurious readiness from a stale ready counts);
//   closing     unblock began on this incarnation;
//   timeout     a deadline set (past or future) began on this incarnation
//               and mode;
//   notpollable a read, after an `everr on` reached this object.
// When every thread has finished or is inside a wait, a drainer checks wake
// obligations: a waiter still inside its wait, after enough scheduling
// points, although a ready finished after its reset or its incarnation was
// unblocked, is a lost wakeup; so is a reader parked after its writer hung
// up, and a writer parked while its pipe has room again (drained after it
// found it full) or its reader is gone. A read of 0 needs a hang-up, a
// write's EPIPE an epollerr. For a reader the ready must have begun after
// its last read found the pipe empty, and the finding says it as a user sees
// it: bytes are readable, a ready was delivered after they arrived, and the
// reader is still parked. The drainer then unblocks every descriptor so
// legitimately parked waiters leave; one that still does not is a deadlock.
// The simulator's own findings (throw, data race, deadlock, step bound) apply.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "harness/ops/ops.h"
#include "harness/sim/check.h"

namespace pollstorm::simrun {

// Limits: the simulator runs at most rt::kMaxThreads threads (main, the timer
// fiber and the drainer are three of them).
inline constexpr int kMaxProgramThreads = 5;
// Scheduling points the drainer yields, waiting for obligated waiters to leave.
inline constexpr int kDrainYields = 256;

// Validates what the simulator cannot run; returns an error message or "".
std::string CheckProgram(const ops::Program& prog);

// DefaultMaxSteps(prog): the step bound (RunConfig::max_steps) a program
// gets unless told otherwise: rt::kDefaultMaxSteps, or 100 scheduling points
// per op for long programs (a 300 000-op program takes about 9 per op on
// `fixed`; a fixed bound made long clean programs look like livelocks).
uint64_t DefaultMaxSteps(const ops::Program& prog);

// Runs prog under cfg (cfg.iterations executions) for the named variant.
// Returns the first finding. The variant name must be valid (variants.h).
std::optional<sim::Finding> RunProgram(const ops::Program& prog, std::string_view variant,
                                       const sim::RunConfig& cfg,
                                       sim::CheckStats* stats = nullptr);

}  // namespace pollstorm::simrun
