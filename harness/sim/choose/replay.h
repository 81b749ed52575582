// harness/sim/choose/replay.h: ReplayChooser, re-makes the choices of a
// recorded Schedule: one execution, then the run ends.
//
// A mismatch (the recorded thread is not runnable, a thread choice where a
// value choice was recorded or the reverse, a value out of range, the schedule
// running out, or choices left over) abandons the execution; Error() then says
// what was expected and what the program offered, and the engine reports it
// as a `replay-mismatch` finding. A mismatch means the program or the
// simulator changed since the schedule was recorded, or the program has
// nondeterminism the simulator does not control.
#pragma once

#include "harness/sim/choose/chooser.h"

namespace pollstorm::sim {

class ReplayChooser final : public Chooser {
 public:
  explicit ReplayChooser(Schedule schedule) : schedule_(std::move(schedule)) {}

  std::optional<Schedule> BeginExecution() override;
  std::optional<ThreadId> PickThread(std::span<const ThreadId> runnable,
                                     std::optional<ThreadId> current, bool yielding) override;
  uint64_t PickValue(uint64_t bound) override;
  const std::string& Error() const override { return error_; }

  // ReplayChooser::Finish(): called when the execution ended; a schedule with
  // choices left over is a mismatch too. Returns false (and sets Error()) then.
  bool Finish();

 private:
  Schedule schedule_;
  std::size_t next_ = 0;
  bool started_ = false;
  std::string error_;
};

}  // namespace pollstorm::sim
