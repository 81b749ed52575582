#include "harness/sim/choose/replay.h"

namespace pollstorm::sim {

std::optional<Schedule> ReplayChooser::BeginExecution() {
  if (started_) return std::nullopt;
  started_ = true;
  next_ = 0;
  error_.clear();
  Schedule s;
  s.seed = schedule_.seed;
  s.weak_memory = schedule_.weak_memory;
  return s;
}

std::optional<ThreadId> ReplayChooser::PickThread(std::span<const ThreadId> runnable,
                                                  std::optional<ThreadId>, bool) {
  std::string offered;
  for (ThreadId t : runnable) offered += (offered.empty() ? "T" : ", T") + std::to_string(t);
  const std::string at = "replay mismatch at choice #" + std::to_string(next_) + ": ";
  if (next_ >= schedule_.choices.size()) {
    error_ = at + "the schedule ended, the program offers threads {" + offered + "}";
    return std::nullopt;
  }
  const Choice c = schedule_.choices[next_++];
  if (c.kind != Choice::Kind::kThread) {
    error_ = at + "expected a value choice (" + std::to_string(c.value) +
             "), the program offers threads {" + offered + "}";
    return std::nullopt;
  }
  for (ThreadId t : runnable) {
    if (t == c.value) return t;
  }
  error_ = at + "expected thread T" + std::to_string(c.value) + ", runnable {" + offered + "}";
  return std::nullopt;
}

uint64_t ReplayChooser::PickValue(uint64_t bound) {
  if (!error_.empty()) return 0;
  const std::string at = "replay mismatch at choice #" + std::to_string(next_) + ": ";
  if (next_ >= schedule_.choices.size()) {
    error_ = at + "the schedule ended, the program asks for a value below " + std::to_string(bound);
    return 0;
  }
  const Choice c = schedule_.choices[next_++];
  if (c.kind != Choice::Kind::kValue) {
    error_ = at + "expected thread T" + std::to_string(c.value) +
             ", the program asks for a value below " + std::to_string(bound);
    return 0;
  }
  if (c.value >= bound) {
    error_ =
        at + "recorded value " + std::to_string(c.value) + " is not below " + std::to_string(bound);
    return 0;
  }
  return c.value;
}

bool ReplayChooser::Finish() {
  if (!error_.empty()) return false;
  if (next_ != schedule_.choices.size()) {
    error_ = "replay mismatch: the execution ended with " +
             std::to_string(schedule_.choices.size() - next_) + " of " +
             std::to_string(schedule_.choices.size()) + " choices unused";
    return false;
  }
  return true;
}

}  // namespace pollstorm::sim
