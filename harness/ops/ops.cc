#include "harness/ops/ops.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "harness/cli/cli.h"

namespace pollstorm::ops {
namespace {

constexpr const char* kKindNames[kNumOpKinds] = {"open",     "close",   "reset", "wait", "ready",
                                                 "everr",    "deadline", "unblock", "io", "advance",
                                                 "read",     "write",   "drain", "hangup",
                                                 "epollerr"};

std::string FormatDuration(int64_t ns) {
  if (ns % 1000000 == 0) return std::to_string(ns / 1000000) + "ms";
  if (ns % 1000 == 0) return std::to_string(ns / 1000) + "us";
  return std::to_string(ns) + "ns";
}

// "50us" -> 50000. Positive durations only.
bool ParseDuration(std::string_view s, int64_t* out) {
  int64_t scale = 0;
  if (s.size() > 2 && s.substr(s.size() - 2) == "ns") scale = 1;
  if (s.size() > 2 && s.substr(s.size() - 2) == "us") scale = 1000;
  if (s.size() > 2 && s.substr(s.size() - 2) == "ms") scale = 1000000;
  if (scale == 0) return false;
  int64_t v = 0;
  const std::string_view num = s.substr(0, s.size() - 2);
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (ec != std::errc() || p != num.data() + num.size() || v <= 0) return false;
  if (__builtin_mul_overflow(v, scale, out)) return false;
  return true;
}

bool ParseMode(std::string_view s, bool allow_rw, int* mode) {
  if (s == "r") *mode = 'r';
  else if (s == "w") *mode = 'w';
  else if (s == "rw" && allow_rw) *mode = 'r' + 'w';
  else return false;
  return true;
}

bool ParseDesc(std::string_view s, uint8_t* desc) {
  if (s.size() < 2 || s[0] != 'd') return false;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data() + 1, s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0 || v >= kMaxDescs) return false;
  *desc = static_cast<uint8_t>(v);
  return true;
}

std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> w;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') j++;
    if (j > i) w.push_back(line.substr(i, j - i));
    i = j;
  }
  return w;
}

}  // namespace

size_t Program::NumOps() const {
  size_t n = 0;
  for (const auto& t : threads) n += t.size();
  return n;
}

const char* KindName(OpKind k) { return kKindNames[static_cast<int>(k)]; }

std::string ModeName(int mode) {
  if (mode == 'r') return "r";
  if (mode == 'w') return "w";
  return "rw";
}

std::string FormatOp(const Op& op) {
  std::string s = KindName(op.kind);
  if (op.kind == OpKind::kAdvance) return s + " " + FormatDuration(op.arg);
  s += " d" + std::to_string(op.desc);
  switch (op.kind) {
    case OpKind::kReset:
    case OpKind::kWait:
    case OpKind::kReady:
      s += " " + ModeName(op.mode);
      break;
    case OpKind::kEventErr:
      s += op.arg ? " on" : " off";
      break;
    case OpKind::kDeadline:
      s += " " + ModeName(op.mode) + " ";
      if (op.arg == kDeadlinePast) s += "past";
      else if (op.arg == kDeadlineZero) s += "zero";
      else if (op.arg == kDeadlineFar) s += "far";
      else s += FormatDuration(op.arg);
      break;
    default:
      break;
  }
  return s;
}

std::string FormatProgram(const Program& p) {
  std::ostringstream o;
  o << "# pollstorm program v1\n";
  if (p.counters.Any()) {
    o << "counters fdseq=" << p.counters.fdseq << " rseq=" << p.counters.rseq
      << " wseq=" << p.counters.wseq << "\n";
  }
  for (size_t t = 0; t < p.threads.size(); t++) {
    o << "thread " << t << "\n";
    for (const Op& op : p.threads[t]) o << "  " << FormatOp(op) << "\n";
  }
  return o.str();
}

std::string ParseError::ToString() const {
  return "line " + std::to_string(line) + ": " + message;
}

std::optional<Op> ParseOp(std::string_view line, std::string* error) {
  const auto w = Words(line);
  auto fail = [&](std::string m) -> std::optional<Op> {
    *error = std::move(m);
    return std::nullopt;
  };
  if (w.empty()) return fail("empty op");
  Op op;
  int kind = -1;
  for (int k = 0; k < kNumOpKinds; k++) {
    if (w[0] == kKindNames[k]) kind = k;
  }
  if (kind < 0) return fail("unknown op '" + cli::Shown(w[0]) + "'");
  op.kind = static_cast<OpKind>(kind);
  if (op.kind == OpKind::kAdvance) {
    if (w.size() != 2 || !ParseDuration(w[1], &op.arg)) {
      return fail("advance takes a duration like 100us");
    }
    return op;
  }
  if (w.size() < 2 || !ParseDesc(w[1], &op.desc)) {
    return fail(std::string(w[0]) + ": expected a descriptor d0..d" + std::to_string(kMaxDescs - 1));
  }
  switch (op.kind) {
    case OpKind::kReset:
    case OpKind::kWait:
    case OpKind::kReady:
      if (w.size() != 3 || !ParseMode(w[2], op.kind == OpKind::kReady, &op.mode)) {
        return fail(std::string(w[0]) + ": expected mode " +
                    (op.kind == OpKind::kReady ? "r, w or rw" : "r or w"));
      }
      return op;
    case OpKind::kEventErr:
      if (w.size() != 3 || (w[2] != "on" && w[2] != "off")) return fail("everr: expected on or off");
      op.arg = w[2] == "on";
      return op;
    case OpKind::kDeadline:
      if (w.size() != 4 || !ParseMode(w[2], true, &op.mode)) {
        return fail("deadline: expected 'deadline dN r|w|rw past|zero|far|<duration>'");
      }
      if (w[3] == "past") op.arg = kDeadlinePast;
      else if (w[3] == "zero") op.arg = kDeadlineZero;
      else if (w[3] == "far") op.arg = kDeadlineFar;
      else if (!ParseDuration(w[3], &op.arg)) {
        return fail("deadline: bad value '" + cli::Shown(w[3]) + "'");
      }
      return op;
    default:
      if (w.size() != 2) return fail(std::string(w[0]) + ": takes only a descriptor");
      return op;
  }
}

std::optional<Program> ParseProgram(std::string_view text, ParseError* err) {
  // Inputs that are not text programs at all get a message saying so, not
  // "line 1: unknown op" about their first bytes.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    *err = {1, "starts with a UTF-8 byte-order mark: save the file without it"};
    return std::nullopt;
  }
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(nul), '\n'));
    *err = {line, "a NUL byte: binary data, not a text program (a fuzz seed? see pollstorm-ops decode-seed)"};
    return std::nullopt;
  }
  if (text.find('\n') == std::string_view::npos) {
    const size_t cr = text.find('\r');
    if (cr != std::string_view::npos && text.find_first_not_of(" \t\r", cr) != std::string_view::npos) {
      *err = {1, "CR-only line ends: lines must end with LF (or CR LF)"};
      return std::nullopt;
    }
  }
  Program p;
  int lineno = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    lineno++;
    if (size_t h = line.find('#'); h != std::string_view::npos) line = line.substr(0, h);
    const auto w = Words(line);
    if (w.empty()) continue;
    if (w[0] == "counters") {
      if (!p.threads.empty()) {
        *err = {lineno, "'counters' must come before the first 'thread N' line"};
        return std::nullopt;
      }
      for (size_t i = 1; i < w.size(); i++) {
        const std::string_view kv = w[i];
        const size_t eq = kv.find('=');
        const std::string_view k = kv.substr(0, eq == std::string_view::npos ? kv.size() : eq);
        uint64_t* dst = k == "fdseq" ? &p.counters.fdseq
                        : k == "rseq" ? &p.counters.rseq
                        : k == "wseq" ? &p.counters.wseq
                                      : nullptr;
        uint64_t v = 0;
        const char* b = kv.data() + (eq == std::string_view::npos ? kv.size() : eq + 1);
        const char* e = kv.data() + kv.size();
        auto [ptr, ec] = std::from_chars(b, e, v);
        if (dst == nullptr || eq == std::string_view::npos || b == e || ec != std::errc() || ptr != e) {
          *err = {lineno, "bad counter '" + std::string(kv.substr(0, 64)) +
                              "' (expected fdseq=N, rseq=N or wseq=N, N an unsigned 64-bit decimal)"};
          return std::nullopt;
        }
        *dst = v;
      }
      continue;
    }
    if (w[0] == "thread") {
      int t = -1;
      if (w.size() == 2) {
        auto [ptr, ec] = std::from_chars(w[1].data(), w[1].data() + w[1].size(), t);
        if (ec != std::errc() || ptr != w[1].data() + w[1].size()) t = -1;
      }
      if (t == kMaxThreads && p.threads.size() == static_cast<size_t>(kMaxThreads)) {
        *err = {lineno, "too many threads: at most " + std::to_string(kMaxThreads) +
                            " (thread 0 .. thread " + std::to_string(kMaxThreads - 1) + ")"};
        return std::nullopt;
      }
      if (t != static_cast<int>(p.threads.size()) || t >= kMaxThreads) {
        *err = {lineno, "expected 'thread " + std::to_string(p.threads.size()) +
                            "' (threads are numbered in order, at most " +
                            std::to_string(kMaxThreads) + ")"};
        return std::nullopt;
      }
      p.threads.emplace_back();
      continue;
    }
    if (p.threads.empty()) {
      *err = {lineno, "op before the first 'thread N' line"};
      return std::nullopt;
    }
    std::string e;
    auto op = ParseOp(line, &e);
    if (!op) {
      *err = {lineno, e};
      return std::nullopt;
    }
    p.threads.back().push_back(*op);
  }
  if (p.threads.empty()) {
    *err = {lineno, "no 'thread N' section"};
    return std::nullopt;
  }
  return p;
}

std::vector<uint8_t> EncodeBinary(const Program& p) { return EncodeBinaryAs(p, kBinaryVersion); }

std::vector<uint8_t> EncodeBinaryAs(const Program& p, uint8_t version) {
  std::vector<uint8_t> out = {'P', 'S', version};
  // Ops are written thread by thread; the decoder appends each op to its
  // thread, so order within a thread is kept.
  for (size_t t = 0; t < p.threads.size() && t < kMaxBinaryThreads; t++) {
    for (const Op& op : p.threads[t]) {
      out.push_back(static_cast<uint8_t>((t << 6) | static_cast<int>(op.kind)));
      const int mode = op.mode == 'r' ? 0 : op.mode == 'w' ? 1 : 2;
      out.push_back(static_cast<uint8_t>(((op.desc & 15) << 4) | (mode << 2)));
      uint8_t arg = 0;
      if (op.kind == OpKind::kDeadline) {
        if (op.arg == kDeadlinePast) arg = 0;
        else if (op.arg == kDeadlineZero) arg = 1;
        else if (op.arg == kDeadlineFar) arg = 2;
        else arg = static_cast<uint8_t>(std::min<int64_t>(253, op.arg / kDeadlineUnitNs) + 2);
      } else if (op.kind == OpKind::kAdvance) {
        arg = static_cast<uint8_t>(std::clamp<int64_t>(op.arg / kDeadlineUnitNs - 1, 0, 255));
      } else if (op.kind == OpKind::kEventErr) {
        arg = op.arg ? 1 : 0;
      }
      out.push_back(arg);
    }
  }
  return out;
}

std::optional<Program> DecodeBinary(const uint8_t* data, size_t size) {
  if (size < 3 || data[0] != 'P' || data[1] != 'S' || data[2] < 1 || data[2] > kBinaryVersion) {
    return std::nullopt;
  }
  const int kinds = data[2] == 1 ? kNumOpKindsV1 : data[2] == 2 ? kNumOpKindsV2 : kNumOpKinds;
  Program p;
  for (size_t i = 3; i + 3 <= size; i += 3) {
    const int t = data[i] >> 6;
    Op op;
    op.kind = static_cast<OpKind>((data[i] & 63) % kinds);
    op.desc = static_cast<uint8_t>(data[i + 1] >> 4);
    const int mode = (data[i + 1] >> 2) & 3;
    const bool rw_ok = op.kind == OpKind::kReady || op.kind == OpKind::kDeadline;
    op.mode = mode == 0 ? 'r' : mode == 1 ? 'w' : rw_ok ? 'r' + 'w' : 'r';
    const uint8_t a = data[i + 2];
    if (op.kind == OpKind::kDeadline) {
      op.arg = a == 0 ? kDeadlinePast : a == 1 ? kDeadlineZero : a == 2 ? kDeadlineFar
                                                                : (a - 2) * kDeadlineUnitNs;
    } else if (op.kind == OpKind::kAdvance) {
      op.arg = (a + 1) * kDeadlineUnitNs;
    } else if (op.kind == OpKind::kEventErr) {
      op.arg = a & 1;
    }
    // Normalise the fields an op kind does not use, so that text and binary
    // forms agree (FormatOp prints only the used fields).
    const bool has_mode = op.kind == OpKind::kReset || op.kind == OpKind::kWait ||
                          op.kind == OpKind::kReady || op.kind == OpKind::kDeadline;
    if (!has_mode) op.mode = 'r';
    if (op.kind == OpKind::kAdvance) op.desc = 0;
    if (static_cast<size_t>(t) >= p.threads.size()) p.threads.resize(t + 1);
    p.threads[t].push_back(op);
  }
  if (p.threads.empty()) p.threads.emplace_back();
  return p;
}

std::string BinaryLoss(const Program& p) {
  if (p.threads.size() > static_cast<size_t>(kMaxBinaryThreads)) {
    return "the binary form holds at most " + std::to_string(kMaxBinaryThreads) +
           " threads, not " + std::to_string(p.threads.size());
  }
  for (size_t t = 0; t < p.threads.size(); t++) {
    for (size_t i = 0; i < p.threads[t].size(); i++) {
      const Op& op = p.threads[t][i];
      Program one;
      one.threads.resize(t + 1);
      one.threads[t].push_back(op);
      const std::vector<uint8_t> b = EncodeBinary(one);
      const Op back = DecodeBinary(b.data(), b.size())->threads[t][0];
      if (!(back == op)) {
        return "thread " + std::to_string(t) + " op " + std::to_string(i + 1) + " '" +
               FormatOp(op) + "': the binary form cannot hold it (it would become '" +
               FormatOp(back) + "'; durations are whole multiples of 10us, deadlines up to " +
               "2530us or far, advances up to 2560us)";
      }
    }
  }
  return "";
}

Program DecodeOpTriples(const uint8_t* data, size_t size) {
  std::vector<uint8_t> buf = {'P', 'S', kBinaryVersion};
  buf.insert(buf.end(), data, data + size);
  return *DecodeBinary(buf.data(), buf.size());
}

}  // namespace pollstorm::ops
