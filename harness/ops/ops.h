// harness/ops/ops.h: the one language of operations that drives a pollDesc
// (DESIGN.md §3). Storms generate it from an RNG, fuzzers decode it from
// bytes, corpus files store it as text, and every finding prints it back.
//
// Text form, one op per line ('#' starts a comment):
//
//   # pollstorm program v1
//   thread 0
//     open d0            start a new incarnation of descriptor d0
//     reset d0 r         pollReset
//     wait d0 r          pollWait (modes: r, w; ready also takes rw)
//     ready d0 rw        netpollready (an I/O edge)
//     everr d0 on        the poller saw EPOLLERR alone (on) or not (off)
//     deadline d0 r 50us pollSetDeadline: past | zero | far | <n>ns|us|ms
//     unblock d0         pollUnblock
//     close d0           pollClose
//     io d0              a byte arrives in d0's pipe (real storms: a real pipe;
//                        the simulator: its kernel's pipe, whose edge the
//                        poller delivers as a read readiness)
//     read d0            the Fd facade's read (polldesc/fd.h ReadLoop): pollReset,
//                        read one byte, pollWait on EAGAIN and read again;
//                        after a hangup an empty pipe reads 0 (end of file)
//     write d0           the Fd facade's write (polldesc/fd.h WriteLoop) of one
//                        byte into d0's outgoing pipe, which holds kPipeCapacity
//                        bytes: pollReset, write, pollWait on EAGAIN (full)
//     drain d0           the other process reads everything d0 wrote: a pipe that
//                        was full gets an EPOLLOUT edge (a parked writer is owed it)
//     hangup d0          the other process closes its write end: EPOLLHUP; a parked
//                        reader is owed a wake, and its read returns 0
//     epollerr d0        the kernel reports EPOLLERR alone for d0 (the other
//                        process closed its read end: writes fail with EPIPE)
//     advance 100us      let (virtual) time pass
//
//   An optional header line before `thread 0` starts every descriptor's
//   counters elsewhere than 0 (see Counters):
//     counters fdseq=65535 rseq=0 wseq=18446744073709551615
//
// Binary form (what fuzzers mutate; stable across versions):
//   byte 0..1  'P' 'S'      magic        byte 2  version (3; 1 and 2 are still read)
//   then 3 bytes per op:    [thread:2 | kind:6]  [desc:4 | mode:2 | spare:2]  [arg]
//   arg: for deadline 0=past 1=zero 2=far, n>=3: (n-2)*kDeadlineUnitNs;
//        for advance (n+1)*kDeadlineUnitNs; for everr bit 0. Ignored otherwise.
// Any byte string decodes to a valid program (fields are reduced modulo their
// range; a trailing partial op is dropped); a wrong magic or version is an error.
// Version 1 knew the first 10 kinds (no `read`): its kind field is reduced
// modulo 10, so every v1 input decodes as it always did. Version 2 knew the
// first 11 (no write, drain, hangup, epollerr): modulo 11, as it always did.
// Version 3 knows all 15. Op triples with no header (the fuzz targets'
// inputs, DecodeOpTriples) are read as the current version; the corpus keeps
// text programs, whose ops keep their kind numbers in every version.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pollstorm::ops {

enum class OpKind : uint8_t {
  kOpen,
  kClose,
  kReset,
  kWait,
  kReady,
  kEventErr,
  kDeadline,
  kUnblock,
  kIo,
  kAdvance,
  kRead,  // binary version 2
  kWrite,     // binary version 3 (the four pipe ops)
  kDrain,
  kHangup,
  kEpollErr,
};
inline constexpr int kNumOpKinds = 15;
inline constexpr int kNumOpKindsV1 = 10;
inline constexpr int kNumOpKindsV2 = 11;
inline constexpr uint8_t kBinaryVersion = 3;

// The op runs over the simulated kernel (a pipe per descriptor incarnation).
inline bool UsesFds(OpKind k) {
  return k == OpKind::kIo || k == OpKind::kRead || k == OpKind::kWrite || k == OpKind::kDrain ||
         k == OpKind::kHangup || k == OpKind::kEpollErr;
}
// The op needs the kernel's write side and full epoll events (EPOLLOUT,
// EPOLLHUP, EPOLLERR); programs without one keep the read-only kernel of
// binary version 2, with the same scheduling points (recorded schedules replay).
inline bool UsesPipeEvents(OpKind k) {
  return k == OpKind::kWrite || k == OpKind::kDrain || k == OpKind::kHangup ||
         k == OpKind::kEpollErr;
}
// Bytes a descriptor's outgoing pipe holds before a write finds it full.
inline constexpr int kPipeCapacity = 2;

// Deadline arguments: past (-1: already expired), zero (none), far (1 h), or
// a relative duration in ns.
inline constexpr int64_t kDeadlinePast = -1;
inline constexpr int64_t kDeadlineZero = 0;
inline constexpr int64_t kDeadlineFar = int64_t{3600} * 1000000000;
inline constexpr int64_t kDeadlineUnitNs = 10000;  // binary form: 10 us steps

inline constexpr int kMaxThreads = 64;
inline constexpr int kMaxDescs = 16;
inline constexpr int kMaxBinaryThreads = 4;

struct Op {
  OpKind kind = OpKind::kReset;
  uint8_t desc = 0;
  int mode = 'r';    // 'r', 'w' or 'r'+'w'
  int64_t arg = 0;   // deadline ns / advance ns / everr on
  bool operator==(const Op&) const = default;
};

// Where every descriptor's counters start (a header line before the first
// thread: `counters fdseq=65535 rseq=18446744073709551615 wseq=0`): drives
// fdseq, its field in tip's info word, and rseq/wseq across their wrap in a
// few incarnations. Text form only; the binary form always starts at 0.
struct Counters {
  uint64_t fdseq = 0, rseq = 0, wseq = 0;
  bool operator==(const Counters&) const = default;
  bool Any() const { return fdseq != 0 || rseq != 0 || wseq != 0; }
};

struct Program {
  Counters counters;
  std::vector<std::vector<Op>> threads;
  bool operator==(const Program&) const = default;
  size_t NumOps() const;
};

const char* KindName(OpKind k);
std::string ModeName(int mode);
// "wait d0 r"
std::string FormatOp(const Op& op);
// The whole program in text form, with the header line.
std::string FormatProgram(const Program& p);

// Parse errors name the line: "line 7: unknown op 'wiat'".
struct ParseError {
  int line;
  std::string message;
  std::string ToString() const;
};
std::optional<Op> ParseOp(std::string_view line, std::string* error);
// Returns the program or sets *err.
std::optional<Program> ParseProgram(std::string_view text, ParseError* err);

std::vector<uint8_t> EncodeBinary(const Program& p);
// Never fails on malformed ops; returns nullopt only for a bad header.
std::optional<Program> DecodeBinary(const uint8_t* data, size_t size);
// EncodeBinaryAs(p, version): p in an older version's form (1 or 2), for the
// compatibility tests; p's kinds must exist in that version.
std::vector<uint8_t> EncodeBinaryAs(const Program& p, uint8_t version);
// BinaryLoss(p): "" if DecodeBinary(EncodeBinary(p)) == p, else which thread
// or op the binary form cannot hold (more than kMaxBinaryThreads threads, a
// duration that is no whole number of units or out of range).
std::string BinaryLoss(const Program& p);
// Op triples with no header (what the fuzz targets take), read as the current
// version. Never fails.
Program DecodeOpTriples(const uint8_t* data, size_t size);

}  // namespace pollstorm::ops
