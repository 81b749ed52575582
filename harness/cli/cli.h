// harness/cli/cli.h: the input and output discipline every pollstorm binary
// follows (README: exit 2 on a bad input, with one line naming it; nothing
// stored is lost; no hang). docs/bad-input.md is the user-facing page.
//
//   ParseUint      strict decimal numbers with their range
//   Shown          a user's token, cut and escaped for a one-line message
//   ShellQuote     a word as POSIX sh reads it (repro lines)
//   ReadInput      read a whole regular file without ever blocking
//   CheckOutput    may PATH be written? (before any work is done)
//   WriteOutput    write PATH through a temporary file renamed into place
//   Exists         something is at a path
//   SameFile       two paths name one file
//   ExitNow        flush and end the process without atexit handlers
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pollstorm::cli {

// cli::ParseUint(s, lo, hi): s as a decimal number in [lo, hi], or nullopt.
// Only ASCII digits: no sign, no blank, no "0x", no exponent (from_chars
// alone would accept none of those either, but the range check is the
// point: "4294967297" must not become 1 in an int).
std::optional<uint64_t> ParseUint(std::string_view s, uint64_t lo, uint64_t hi);

// cli::Shown(s): s for an error message: at most 160 bytes (then "..."),
// bytes outside printable ASCII as \xNN, so a 5 MB token or a binary one
// stays one short line.
std::string Shown(std::string_view s);

// cli::ShellQuote(s): s unchanged if it is made of safe characters only,
// else in single quotes ('\'' for a quote), so a repro line pastes into sh.
std::string ShellQuote(std::string_view s);

// cli::ReadInput(path, max_bytes, &data): "" and the contents, or an error
// naming the path ("'x': a directory, not a file"). The file is opened with
// O_NONBLOCK and must be a regular file: a FIFO with no writer, a terminal
// or a device is refused instead of read (a read would hang forever).
std::string ReadInput(const std::string& path, size_t max_bytes, std::string* data);

// cli::CheckOutput(what, path): "" if `path` can be written, else an error
// naming `what` and the path. Creates nothing. An existing path must be a
// regular file; its folder must exist and be writable.
std::string CheckOutput(const std::string& what, const std::string& path);

// cli::WriteOutput(path, data): "" on success, else an error. The data go
// to a new temporary file beside `path` (O_EXCL), then are renamed over
// it: readers never see half a file, and a failure leaves the old one.
// Refuses a `path` that exists and is not a regular file.
std::string WriteOutput(const std::string& path, std::string_view data);

// cli::Exists(path): something (of any type) is at path.
bool Exists(const std::string& path);

// cli::SameFile(a, b): both exist and are one inode.
bool SameFile(const std::string& a, const std::string& b);

// cli::ExitNow(code): flushes stdout and stderr and ends the process
// without running atexit handlers. For the simulator's tools after a
// finding: an abandoned execution leaves its fibers' objects alive by design
// (harness/sim/README.md), and LeakSanitizer's atexit check would otherwise
// replace the tool's exit code (2 or 1) with its own.
[[noreturn]] void ExitNow(int code);

}  // namespace pollstorm::cli
