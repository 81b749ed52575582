// harness/sim/thread.h: what a simulated program uses besides the Env:
//
//   Spawn(fn, name)   start a simulated thread (a scheduling point)
//   JoinHandle::Join  wait for it; its effects happen-before Join's return
//   Yield()           a scheduling point that asks to let others run
//   Sleep(ns)         block until virtual time has advanced by ns (a time
//                     event the scheduler picks, like a timer)
//   Now()             the virtual clock (SimEnv::Nanotime)
//   AtomicThreadFence(o)  std::atomic_thread_fence in the weak-memory model
//   Assert(ok, msg)   a failed check is an `assert` finding
//   Make<T>(args...)  an object owned by the execution, destroyed after it
//                     (use it for anything that owns memory: an abandoned
//                     execution never unwinds its threads' stacks)
//
// All of them must be called inside Check()'s body (they abort otherwise).
#pragma once

#include <atomic>
#include <functional>
#include <utility>

#include "harness/sim/rt/execution.h"
#include "harness/sim/site.h"

namespace pollstorm::sim {

namespace detail {
// The running execution; aborts with a message outside one.
rt::Execution& Exec(const char* what);
}  // namespace detail

class JoinHandle {
 public:
  explicit JoinHandle(ThreadId id) : id_(id) {}
  void Join(Site site = Site::Here()) { detail::Exec("Join").Join(id_, site); }
  ThreadId id() const { return id_; }

 private:
  ThreadId id_;
};

inline JoinHandle Spawn(std::function<void()> fn, const char* name = nullptr,
                        Site site = Site::Here()) {
  return JoinHandle(detail::Exec("Spawn").Spawn(std::move(fn), name, site));
}
inline void Yield(Site site = Site::Here()) {
  detail::Exec("Yield").Yield(site);
}
inline void Sleep(int64_t ns, Site site = Site::Here()) {
  detail::Exec("Sleep").Sleep(ns, site);
}
inline int64_t Now(Site site = Site::Here()) {
  return detail::Exec("Now").Nanotime(site);
}
inline void AtomicThreadFence(std::memory_order o, Site site = Site::Here()) {
  detail::Exec("AtomicThreadFence").Fence(o, site);
}
inline void Assert(bool ok, const char* msg, Site site = Site::Here()) {
  detail::Exec("Assert").Assert(ok, msg, site);
}
template <class T, class... Args>
T* Make(Args&&... args) {
  rt::Execution& ex = detail::Exec("Make");
  T* p = new T(std::forward<Args>(args)...);
  ex.Own([p] { delete p; });
  return p;
}

}  // namespace pollstorm::sim
