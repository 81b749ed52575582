// harness/sim/sim_env.h: SimEnv, the Env (polldesc/env.h) of the
// deterministic simulator. PollDesc<SimEnv, V> and PollServer<SimEnv, V> are
// the very same templates RealEnv instantiates.
//
//   Atomic<T>        sim::Atomic (atomic.h)
//   Shared<T>        sim::Shared (shared.h)
//   Mutex            sim::Mutex (mutex.h)
//   Parker           sim::Parker (parker.h); CurrentParker() is the thread's own
//   Timer            sim::Timer (timer.h)
//   Nanotime()       the virtual clock: moves only when the scheduler fires a
//                    time event
//   Fatal(msg)       a `fatal` finding with the schedule; the execution is
//                    abandoned (the calling thread is never resumed)
//   FullBarrier()    a seq_cst fence in the weak-memory model
//   SysRead/SysWrite/SysClose   the execution's simulated kernel (kernel.h):
//                    pipe pairs (read the incoming pipe, write the bounded
//                    outgoing one); EBADF when there is none
//
// Every operation is a scheduling point. Run programs with sim::Check
// (check.h).
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "harness/sim/atomic.h"
#include "harness/sim/mutex.h"
#include "harness/sim/parker.h"
#include "harness/sim/shared.h"
#include "harness/sim/site.h"
#include "harness/sim/timer.h"

namespace pollstorm::sim {

struct SimEnv {
  template <class T>
  using Atomic = sim::Atomic<T>;
  template <class T>
  using Shared = sim::Shared<T>;
  using Mutex = sim::Mutex;
  using Parker = sim::Parker;
  using Timer = sim::Timer;

  static constexpr const char* kName = "sim";

  static Parker* CurrentParker();
  static int64_t Nanotime(Site site = Site::Here());
  [[noreturn]] static void Fatal(const char* msg);
  // GO: the seed's "full memory barrier"; a seq_cst fence here too.
  static void FullBarrier(Site site = Site::Here());

  static ssize_t SysRead(int fd, void* buf, size_t n);
  static ssize_t SysWrite(int fd, const void* buf, size_t n);
  static int SysClose(int fd);
};

}  // namespace pollstorm::sim

namespace pollstorm {
using sim::SimEnv;
}  // namespace pollstorm
