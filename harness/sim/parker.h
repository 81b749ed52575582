// harness/sim/parker.h: sim::Parker, SimEnv's park token ("G").
//
// Parker::Park() blocks the calling simulated thread until Unpark(); an
// Unpark that comes first is kept (wake-before-sleep safe); there are no
// spurious returns. Unpark -> Park return is a happens-before edge, as with
// RealParker's release/acquire. Each simulated thread owns one, reached
// through SimEnv::CurrentParker(); its address is what the rg/wg slot holds.
// Both are scheduling points; Park is a blocking point (a thread parked
// forever shows up in a `deadlock` finding with Park's site).
#pragma once

#include "harness/sim/rt/rt.h"
#include "harness/sim/site.h"

namespace pollstorm::sim {
namespace rt {
class Execution;
}

class Parker {
 public:
  Parker() = default;
  Parker(const Parker&) = delete;
  Parker& operator=(const Parker&) = delete;

  // Parker::Park(): only the owning thread may park (a `misuse` finding otherwise).
  void Park(Site site = Site::Here());
  // Parker::Unpark(): any thread.
  void Unpark(Site site = Site::Here());

  rt::ThreadId owner() const { return owner_; }

 private:
  friend class rt::Execution;
  rt::ThreadId owner_ = rt::kNoThread;
};

}  // namespace pollstorm::sim
