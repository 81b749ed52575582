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

#if defined(POLLSTORM_SIM_TSAN)
namespace {
// Why a TSan context is reused across runs instead of created per run
// (measured on aarch64-tsan under QEMU 7.2, where sim.unit and sim.litmus died):
// __tsan_create_fiber maps 512 KiB for the context's shadow call stack
// (64 Ki entries, compiler-rt 14's kShadowStackSize) and __tsan_destroy_fiber
// unmaps it. A native kernel reuses the freed range; QEMU user mode (no -R,
// which TSan cannot run with) never does: its guest mmap only moves up. The
// aarch64 TSan runtime sees the guest stack at 0x55xxxxxxxx, picks its 39-bit
// layout, and accepts mappings in [0x5500000000, 0x5600000000) only. A context
// per simulated thread per execution used that 4 GiB up after ~8000 threads:
// the next mapping (a fiber stack, or one of TSan's own) landed at
// 0x7fff........, outside the layout ("mmap at bad address", or a SEGV in
// MetaMap::AllocBlock). Heap-allocated stacks would not have helped: TSan
// serves a 516 KiB malloc with its own mmap, 520 KiB of address space each
// (measured); the stacks are pooled already.
//
// Reuse has one cost: a fiber that is abandoned (or exits, or idles as the
// timer fiber) never returns from its frames, so their function entries stay
// on the context's shadow call stack. Each run leaves at most one entry per
// frame between the stack's top and the sp of its last switch away, and
// frames that call anything are >= 16 bytes apart (AAPCS64 and the x86-64
// SysV ABI keep sp 16-byte aligned at calls). A context is reused only while
// the entries left so far plus the most one more run on a whole stack could
// leave fit: it can never overflow, whatever the depth.
constexpr std::size_t kTsanShadowStackEntries = 64 * 1024;
constexpr std::size_t kMinFrameBytes = 16;
// +4: the frame holding the recorded sp, the entry frame just under the
// stack's top (fcontext's own data sits there), and slack.
std::size_t MaxEntries(std::size_t stack_bytes) {
  return stack_bytes / kMinFrameBytes + 4;
}
}  // namespace
#endif

Fiber::~Fiber() {
  Release();
  DestroyTsanFiber();
}

void Fiber::DestroyTsanFiber() {
#if defined(POLLSTORM_SIM_TSAN)
  if (owns_tsan_fiber_ && tsan_fiber_ != nullptr) __tsan_destroy_fiber(tsan_fiber_);
#endif
  tsan_fiber_ = nullptr;
  owns_tsan_fiber_ = false;
  tsan_last_sp_ = nullptr;
  tsan_stale_entries_ = 0;
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
  // The previous run's TSan context is reused while its shadow call stack
  // has room for one more run on this stack, else replaced by a fresh one
  // (why, and why this bound is safe: the comment above ~Fiber).
  if (!owns_tsan_fiber_ || tsan_fiber_ == nullptr ||
      tsan_stale_entries_ + MaxEntries(stack.size) > kTsanShadowStackEntries) {
    DestroyTsanFiber();
    tsan_fiber_ = __tsan_create_fiber(0);
    owns_tsan_fiber_ = true;
  }
  tsan_last_sp_ = nullptr;
#endif
}

void Fiber::Release() {
#if defined(POLLSTORM_SIM_TSAN)
  // Account for the entries this run left on the context's shadow call stack:
  // at most one per 16 bytes between the stack's top and its last switch
  // away (none if it never ran). An sp outside the stack cannot happen; if it
  // did, count the whole stack.
  if (owns_tsan_fiber_ && tsan_last_sp_ != nullptr) {
    const char* top = static_cast<const char*>(stack_bottom_) + stack_size_;
    const char* sp = static_cast<const char*>(tsan_last_sp_);
    const bool inside = sp >= static_cast<const char*>(stack_bottom_) && sp <= top;
    tsan_stale_entries_ += inside ? MaxEntries(static_cast<std::size_t>(top - sp))
                                  : MaxEntries(stack_size_);
  }
  tsan_last_sp_ = nullptr;
#endif
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
  // Where `from` leaves its stack: bounds what its frames left on its TSan
  // shadow call stack if it is never resumed (see Release).
  from->tsan_last_sp_ = &rec;
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
