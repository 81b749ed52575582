#include "harness/sim/rt/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "harness/sim/rt/rt.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POLLSTORM_SIM_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define POLLSTORM_SIM_TSAN 1
#endif
#endif

#if defined(POLLSTORM_SIM_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(POLLSTORM_SIM_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace pollstorm::sim::rt {

namespace bcd = boost::context::detail;

namespace {
std::size_t PageSize() {
  static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return page;
}
}  // namespace

namespace {
// Clears ASan's shadow for a stack: a fresh mapping may reuse addresses whose
// shadow still holds redzones from an earlier stack, and an abandoned fiber
// leaves its frames' redzones behind.
void Unpoison(const StackPool::Stack& s) {
#if defined(POLLSTORM_SIM_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(s.base, s.size);
#else
  (void)s;
#endif
}
}  // namespace

StackPool::~StackPool() {
  for (const Stack& s : all_) {
    Unpoison(s);
    munmap(s.base - PageSize(), s.size + PageSize());
  }
}

StackPool::Stack StackPool::Get() {
  if (!free_.empty()) {
    Stack s = free_.back();
    free_.pop_back();
    Unpoison(s);
    return s;
  }
  const std::size_t page = PageSize();
  const std::size_t size = (kFiberStackSize + page - 1) / page * page;
  void* p = mmap(nullptr, size + page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr, "sim: cannot map a fiber stack\n");
    std::abort();
  }
  // The guard page: a fiber that overflows its stack faults instead of
  // silently corrupting its neighbour.
  mprotect(p, page, PROT_NONE);
  Stack s{static_cast<char*>(p) + page, size};
  Unpoison(s);
  all_.push_back(s);
  return s;
}

void StackPool::Put(Stack s) {
  free_.push_back(s);
}

Fiber::~Fiber() {
  Release();
}

void Fiber::InitHost() {
#if defined(POLLSTORM_SIM_TSAN)
  tsan_fiber_ = __tsan_get_current_fiber();
  owns_tsan_fiber_ = false;
#endif
}

void Fiber::Prepare(StackPool::Stack stack, Entry entry, void* arg) {
  Release();
  entry_ = entry;
  arg_ = arg;
  stack_bottom_ = stack.base;
  stack_size_ = stack.size;
  asan_fake_stack_ = nullptr;
  // fcontext stacks grow down from the top address.
  ctx_ = bcd::make_fcontext(stack.base + stack.size, stack.size, &Fiber::Trampoline);
#if defined(POLLSTORM_SIM_TSAN)
  // A fresh TSan context per run: an abandoned fiber leaves function entries
  // on its shadow call stack that would pile up if the context were reused.
  tsan_fiber_ = __tsan_create_fiber(0);
  owns_tsan_fiber_ = true;
#endif
}

void Fiber::Release() {
#if defined(POLLSTORM_SIM_TSAN)
  if (owns_tsan_fiber_ && tsan_fiber_ != nullptr) __tsan_destroy_fiber(tsan_fiber_);
#endif
  tsan_fiber_ = nullptr;
  owns_tsan_fiber_ = false;
}

void Fiber::Switch(Fiber* from, Fiber* to, bool from_exits) {
  SwitchRecord rec{from, to};
#if defined(POLLSTORM_SIM_ASAN)
  __sanitizer_start_switch_fiber(from_exits ? nullptr : &from->asan_fake_stack_, to->stack_bottom_,
                                 to->stack_size_);
#else
  (void)from_exits;
#endif
#if defined(POLLSTORM_SIM_TSAN)
  // flags 0: TSan treats the switch as synchronisation. The simulated threads
  // really do run one at a time, so nothing they do races at the host level.
  __tsan_switch_to_fiber(to->tsan_fiber_, 0);
#endif
  bcd::transfer_t t = bcd::jump_fcontext(to->ctx_, &rec);
  from->AfterResume(t);
}

void Fiber::AfterResume(bcd::transfer_t t) {
  // Whoever switched to us left a record on its (now suspended) stack; it
  // tells us where to save its context.
  auto* rec = static_cast<SwitchRecord*>(t.data);
  rec->from->ctx_ = t.fctx;
#if defined(POLLSTORM_SIM_ASAN)
  __sanitizer_finish_switch_fiber(asan_fake_stack_, &rec->from->stack_bottom_,
                                  &rec->from->stack_size_);
#endif
}

void Fiber::Trampoline(bcd::transfer_t t) {
  Fiber* self = static_cast<SwitchRecord*>(t.data)->to;
  self->AfterResume(t);
  self->entry_(self->arg_);
  // entry_ switches away for good; returning would end the OS thread.
  std::fprintf(stderr, "sim: fiber entry returned\n");
  std::abort();
}

}  // namespace pollstorm::sim::rt
