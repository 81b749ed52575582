// harness/sim/choose/bytes.h: BytesChooser, choices read from a byte buffer
// (what a coverage-guided fuzzer mutates). One execution per buffer.
//
// A thread choice takes one byte (index modulo the number of runnable
// threads); a value choice takes one byte when the bound is <= 256, else
// eight little-endian bytes, reduced modulo the bound. When the buffer is used
// up every choice is 0 (the first runnable thread, the latest store), so any
// buffer, including an empty one, is a valid, terminating schedule.
#pragma once

#include <vector>

#include "harness/sim/choose/chooser.h"

namespace pollstorm::sim {

class BytesChooser final : public Chooser {
 public:
  BytesChooser(const uint8_t* data, std::size_t size, bool weak_memory)
      : data_(data, data + size), weak_(weak_memory) {}

  std::optional<Schedule> BeginExecution() override;
  std::optional<ThreadId> PickThread(std::span<const ThreadId> runnable,
                                     std::optional<ThreadId> current, bool yielding) override;
  uint64_t PickValue(uint64_t bound) override;

  // Bytes consumed so far (a fuzzer may use it to trim inputs).
  std::size_t consumed() const { return pos_; }

 private:
  uint8_t NextByte() { return pos_ < data_.size() ? data_[pos_++] : 0; }

  std::vector<uint8_t> data_;
  std::size_t pos_ = 0;
  uint64_t rr_ = 0;  // round-robin thread picks once the bytes are spent
  bool weak_;
  bool started_ = false;
};

}  // namespace pollstorm::sim
