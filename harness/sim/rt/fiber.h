// harness/sim/rt/fiber.h: the execution contexts the simulator switches
// between, on Boost.Context's low-level fcontext API.
//
//   StackPool   mmap'ed stacks with a guard page, reused across executions
//   Fiber       one context: the host (the OS thread that called Check) or a
//               simulated thread. Switch() saves the running context and
//               resumes another, telling TSan and ASan about it.
//
// A fiber that is abandoned (a finding stopped the execution while it was
// blocked) is never resumed: its stack goes back to the pool without
// unwinding, so its frames' destructors never run. Objects that own memory
// and must survive an abandoned execution belong to the execution
// (sim::Make), not to a simulated thread's stack.
#pragma once

#include <boost/context/detail/fcontext.hpp>
#include <cstddef>
#include <vector>

namespace pollstorm::sim::rt {

class StackPool {
 public:
  struct Stack {
    char* base = nullptr;  // lowest usable byte (just above the guard page)
    std::size_t size = 0;
  };
  StackPool() = default;
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;
  ~StackPool();

  // StackPool::Get(): a stack of rt::kFiberStackSize usable bytes. A reused
  // stack is unpoisoned for ASan (an abandoned fiber may have left redzones).
  Stack Get();
  // StackPool::Put(s): s may be reused by the next Get().
  void Put(Stack s);

 private:
  std::vector<Stack> free_;
  std::vector<Stack> all_;
};

class Fiber {
 public:
  using Entry = void (*)(void* arg);

  Fiber() = default;
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;
  ~Fiber();

  // Fiber::InitHost(): this Fiber stands for the calling OS thread's own
  // context (the scheduler's home). Call on that thread before switching.
  void InitHost();
  // Fiber::Prepare(stack, entry, arg): the next Switch() to this fiber starts
  // entry(arg) on `stack`. entry must never return: it ends by switching away
  // with `from_exits` set.
  void Prepare(StackPool::Stack stack, Entry entry, void* arg);
  // Fiber::Release(): end a run of a fiber that is not running (finished or
  // abandoned). Must not be called on the running fiber. Under TSan the
  // fiber's TSan context is kept for the next Prepare() while its shadow call
  // stack has room (see fiber.cc); ~Fiber destroys it.
  void Release();

  // Fiber::Switch(from, to, from_exits): suspend the running context into
  // `from` and resume `to`. Returns when someone switches back to `from`.
  // from_exits: `from` will never be resumed (its ASan fake stack is freed).
  static void Switch(Fiber* from, Fiber* to, bool from_exits);

 private:
  struct SwitchRecord {
    Fiber* from;
    Fiber* to;
  };
  static void Trampoline(boost::context::detail::transfer_t t);
  void AfterResume(boost::context::detail::transfer_t t);
  void DestroyTsanFiber();

  boost::context::detail::fcontext_t ctx_ = nullptr;
  Entry entry_ = nullptr;
  void* arg_ = nullptr;
  // ASan: the fake stack saved when this fiber switched away, and the bounds
  // of its stack (for the host, learned at the first switch away from it).
  void* asan_fake_stack_ = nullptr;
  const void* stack_bottom_ = nullptr;
  std::size_t stack_size_ = 0;
  // TSan: this fiber's context; owned (created/destroyed) unless host. It is
  // reused across runs (fiber.cc says why), so it also records the stack
  // pointer of its last switch away and an upper bound on the shadow call
  // stack entries that earlier runs left behind on it.
  void* tsan_fiber_ = nullptr;
  bool owns_tsan_fiber_ = false;
  const void* tsan_last_sp_ = nullptr;
  std::size_t tsan_stale_entries_ = 0;
};

}  // namespace pollstorm::sim::rt
