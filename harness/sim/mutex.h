// harness/sim/mutex.h: sim::Mutex, SimEnv's lock (Go's runtime mutex).
//
// lock() blocks while another thread holds it (a blocking point: a thread
// stuck here is named in a `deadlock` finding with the holder); unlock()
// makes every waiter runnable and the scheduler decides who wins. unlock ->
// next lock is a happens-before edge. Locking a mutex the thread already
// holds, or unlocking one it does not hold, is a `misuse` finding. Outside an
// execution both are no-ops (host teardown is single-threaded).
#pragma once

#include "harness/sim/rt/execution.h"
#include "harness/sim/site.h"

namespace pollstorm::sim {

class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock(Site site = Site::Here()) {
    if (rt::Execution* ex = rt::Current()) ex->Lock(hdr_, site);
  }
  void unlock(Site site = Site::Here()) {
    if (rt::Execution* ex = rt::Current()) ex->Unlock(hdr_, site);
  }

 private:
  rt::ObjHeader hdr_;
};

}  // namespace pollstorm::sim
