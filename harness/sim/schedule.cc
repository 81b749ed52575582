#include "harness/sim/schedule.h"

namespace pollstorm::sim {
namespace {

void PutVarint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

bool GetVarint(const std::vector<uint8_t>& in, std::size_t& pos, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= in.size()) return false;
    const uint8_t b = in[pos++];
    r |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) {
      *v = r;
      return true;
    }
  }
  return false;  // more than 10 bytes: not a varint we wrote
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::vector<uint8_t> Schedule::Encode() const {
  std::vector<uint8_t> out;
  out.reserve(12 + choices.size() * 2);
  out.push_back(kVersion);
  out.push_back(weak_memory ? 1 : 0);
  for (int i = 0; i < 8; i++) out.push_back(static_cast<uint8_t>(seed >> (8 * i)));
  PutVarint(out, choices.size());
  for (const Choice& c : choices) {
    PutVarint(out, c.value << 1 | static_cast<uint64_t>(c.kind));
  }
  return out;
}

std::optional<Schedule> Schedule::Decode(const std::vector<uint8_t>& in, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<Schedule> {
    if (error != nullptr) *error = why;
    return std::nullopt;
  };
  if (in.size() < 10) return fail("schedule: truncated header");
  if (in[0] != kVersion) return fail("schedule: unknown version");
  if ((in[1] & ~1u) != 0) return fail("schedule: unknown flags");
  Schedule s;
  s.weak_memory = (in[1] & 1) != 0;
  for (int i = 0; i < 8; i++) s.seed |= uint64_t{in[2 + i]} << (8 * i);
  std::size_t pos = 10;
  uint64_t n = 0;
  if (!GetVarint(in, pos, &n)) return fail("schedule: truncated choice count");
  // Each choice takes at least one byte: refuse counts the input cannot hold
  // before reserving memory for them.
  if (n > in.size() - pos) return fail("schedule: choice count exceeds input");
  s.choices.reserve(n);
  for (uint64_t i = 0; i < n; i++) {
    uint64_t v = 0;
    if (!GetVarint(in, pos, &v)) return fail("schedule: truncated choice");
    s.choices.push_back({static_cast<Choice::Kind>(v & 1), v >> 1});
  }
  if (pos != in.size()) return fail("schedule: trailing bytes");
  return s;
}

std::string Schedule::ToHex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  const std::vector<uint8_t> bytes = Encode();
  std::string out;
  out.reserve(bytes.size() * 2 + bytes.size() * 2 / kHexColumns + 1);
  std::size_t col = 0;
  for (uint8_t b : bytes) {
    for (int nib : {b >> 4, b & 0xf}) {
      if (col == kHexColumns) {
        out.push_back('\n');
        col = 0;
      }
      out.push_back(kDigits[nib]);
      col++;
    }
  }
  return out;
}

std::optional<Schedule> Schedule::FromHex(std::string_view text, std::string* error) {
  std::vector<uint8_t> bytes;
  int hi = -1;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    const int d = HexDigit(c);
    if (d < 0) {
      if (error != nullptr) *error = "schedule: not a hex digit";
      return std::nullopt;
    }
    if (hi < 0) {
      hi = d;
    } else {
      bytes.push_back(static_cast<uint8_t>(hi << 4 | d));
      hi = -1;
    }
  }
  if (hi >= 0) {
    if (error != nullptr) *error = "schedule: odd number of hex digits";
    return std::nullopt;
  }
  return Decode(bytes, error);
}

}  // namespace pollstorm::sim
