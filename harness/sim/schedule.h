// harness/sim/schedule.h: Schedule, the record of every nondeterministic
// choice one execution made, in order. Replaying it (choose/replay.h)
// reproduces the execution bit for bit.
//
// Text form (Schedule::ToHex): lowercase hex of the binary form, wrapped at
// 76 columns. Binary form, version 1:
//
//   byte 0      version (kVersion)
//   byte 1      flags: bit 0 = weak memory was on (replay must match it)
//   bytes 2..9  seed, little-endian (the chooser's per-execution seed)
//   varint      number of choices
//   varint*     each choice: value << 1 | kind (0 thread, 1 value)
//
// Whitespace in the text form is ignored when parsing, so a schedule pasted
// from a log (with its line breaks) parses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/sim/rt/rt.h"

namespace pollstorm::sim {

using ThreadId = rt::ThreadId;

// Choice: one decision. kThread: which thread ran next (its id). kValue: an
// index below some bound (which store a load read, where a store went in
// modification order, which timer fired). Values are < 2^63.
struct Choice {
  enum class Kind : uint8_t { kThread = 0, kValue = 1 };
  Kind kind = Kind::kThread;
  uint64_t value = 0;
  friend bool operator==(const Choice&, const Choice&) = default;
};

struct Schedule {
  static constexpr uint8_t kVersion = 1;
  static constexpr std::size_t kHexColumns = 76;

  uint64_t seed = 0;
  bool weak_memory = false;
  std::vector<Choice> choices;

  friend bool operator==(const Schedule&, const Schedule&) = default;

  // Schedule::Encode() / Decode(bytes): the binary form above. Decode returns
  // nullopt and sets *error on a wrong version, a truncated or an overlong
  // input.
  std::vector<uint8_t> Encode() const;
  static std::optional<Schedule> Decode(const std::vector<uint8_t>& bytes, std::string* error);

  // Schedule::ToHex() / FromHex(text): the text form above.
  std::string ToHex() const;
  static std::optional<Schedule> FromHex(std::string_view text, std::string* error);
};

}  // namespace pollstorm::sim
