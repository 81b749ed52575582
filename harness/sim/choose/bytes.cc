#include "harness/sim/choose/bytes.h"

namespace pollstorm::sim {

std::optional<Schedule> BytesChooser::BeginExecution() {
  if (started_) return std::nullopt;
  started_ = true;
  pos_ = 0;
  rr_ = 0;
  Schedule s;
  s.weak_memory = weak_;
  return s;
}

std::optional<ThreadId> BytesChooser::PickThread(std::span<const ThreadId> runnable,
                                                 std::optional<ThreadId>, bool) {
  if (pos_ < data_.size()) return runnable[NextByte() % runnable.size()];
  // The bytes are spent: round-robin, deterministic and fair, so no runnable
  // thread is starved (a constant pick could starve a woken waiter forever
  // and make correct code look like a lost wakeup).
  return runnable[rr_++ % runnable.size()];
}

uint64_t BytesChooser::PickValue(uint64_t bound) {
  if (bound <= 256) return NextByte() % bound;
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= uint64_t{NextByte()} << (8 * i);
  return v % bound;
}

}  // namespace pollstorm::sim
