// harness/history/history.cc: the just-in-time linearization search of
// history.h. The specification's rules are in Apply and CheckErr, one line
// each, in history.h's order.
#include "harness/history/history.h"

#include <algorithm>
#include <cstdio>

namespace pollstorm::history {
namespace {

constexpr int kModeRead = 'r', kModeWrite = 'w';
constexpr int kNoError = 0, kClosing = 1, kTimeout = 2, kNotPollable = 3;

enum : uint8_t { kNone, kExpired, kDue };

struct State {
  uint64_t key = 0;
  int64_t due[2] = {0, 0};  // when dl == kDue: the earliest its timer can fire
  uint8_t open = 0, closing = 0, everr = 0;
  uint8_t latch[2] = {0, 0};
  uint8_t dl[2] = {kNone, kNone};
  bool operator==(const State&) const = default;
};

struct Config {
  State s;
  uint32_t lin = 0;    // pending ops (by slot) that already took effect
  uint64_t phase = 0;  // 2 bits per slot: the steps a multi-step op already took
  bool operator==(const Config&) const = default;
};

int PhaseOf(const Config& c, int slot) { return static_cast<int>(c.phase >> (2 * slot) & 3); }
void SetPhase(Config& c, int slot, int p) {
  c.phase = (c.phase & ~(uint64_t{3} << (2 * slot))) | static_cast<uint64_t>(p) << (2 * slot);
}

struct ConfigHash {
  size_t operator()(const Config& c) const {
    uint64_t h = c.s.key * 0x9e3779b97f4a7c15ull;
    auto mix = [&h](uint64_t v) { h = (h ^ v) * 0x100000001b3ull; };
    mix(static_cast<uint64_t>(c.s.due[0]));
    mix(static_cast<uint64_t>(c.s.due[1]));
    mix(c.s.open | c.s.closing << 1 | c.s.everr << 2 | c.s.latch[0] << 3 | c.s.latch[1] << 4 |
        c.s.dl[0] << 5 | c.s.dl[1] << 7);
    mix(c.lin);
    mix(c.phase);
    return h;
  }
};
// A set of configurations: open addressing over a vector, cleared per
// response (the search's hot loop; node-based sets cost 3x here).
class ConfigSet {
 public:
  // Returns false if c was already in.
  bool Insert(const Config& c) {
    if ((items_.size() + 1) * 2 > table_.size()) Grow();
    const size_t mask = table_.size() - 1;
    for (size_t i = ConfigHash{}(c) & mask;; i = (i + 1) & mask) {
      if (table_[i] == 0) {
        items_.push_back(c);
        table_[i] = static_cast<uint32_t>(items_.size());
        return true;
      }
      if (items_[table_[i] - 1] == c) return false;
    }
  }
  void Clear() {
    if (items_.empty()) return;
    if (table_.size() > 4096) {
      table_.assign(64, 0);
    } else {
      std::fill(table_.begin(), table_.end(), 0);
    }
    items_.clear();
  }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const std::vector<Config>& items() const { return items_; }

 private:
  void Grow() {
    table_.assign(std::max<size_t>(64, table_.size() * 2), 0);
    const size_t mask = table_.size() - 1;
    for (size_t k = 0; k < items_.size(); k++) {
      size_t i = ConfigHash{}(items_[k]) & mask;
      while (table_[i] != 0) i = (i + 1) & mask;
      table_[i] = static_cast<uint32_t>(k + 1);
    }
  }
  std::vector<Config> items_;
  std::vector<uint32_t> table_;
};

int Mi(int mode) { return mode == kModeRead ? 0 : 1; }

// checkerr: closing > timeout > event error (reads only).
int CheckErr(const State& s, int mode) {
  if (s.closing) return kClosing;
  if (s.dl[Mi(mode)] == kExpired) return kTimeout;
  if (mode == kModeRead && s.everr) return kNotPollable;
  return kNoError;
}

constexpr int kNext = -1;
// One step of netpollcheckerr from phase p: its outcome (a PollErr), or kNext
// with *next the phase of its next load. With one atomic word (tip) it is one
// load; otherwise closing, the deadline and the event error are three loads.
int CheckErrStep(const State& s, int mode, int p, bool atomic, int* next) {
  if (atomic) return CheckErr(s, mode);
  switch (p) {
    case 0:
      if (s.closing) return kClosing;
      *next = 1;
      return kNext;
    case 1:
      if (s.dl[Mi(mode)] == kExpired) return kTimeout;
      if (mode != kModeRead) return kNoError;
      *next = 2;
      return kNext;
    default:
      return s.everr ? kNotPollable : kNoError;
  }
}

bool KeyApplies(const State& s, const Op& op, const Options& opt) {
  return s.open && (!opt.events_need_current_key || op.key == s.key);
}

// Every way op (in pending slot `slot`) can take its next step from c; each
// successor goes to emit. An op whose last step is taken gets its lin bit.
template <class Emit>
void Apply(const Op& op, const Config& c, int slot, const Options& opt, Emit&& emit) {
  const uint32_t bit = 1u << slot;
  const int p = PhaseOf(c, slot);
  Config n = c;
  State& s = n.s;
  // A two-mode ready or deadline is two steps, read first (the port's order).
  const bool both = op.mode == kModeRead + kModeWrite;
  auto more = [&](int next) {  // the op goes on from phase `next`
    SetPhase(n, slot, next);
    emit(n);
  };
  switch (op.kind) {
    case Kind::kOpen:
      s = State{};
      s.open = 1;
      s.key = op.key;
      break;
    case Kind::kClose:
      s.open = 0;
      break;
    case Kind::kUnblock:
      s.closing = 1;
      for (auto& d : s.dl) {
        if (d == kDue) d = kNone;  // pollUnblock deletes the timers
      }
      break;
    case Kind::kDeadline: {
      if (s.closing) break;  // pollSetDeadline ignores calls after pollUnblock
      const int i = Mi(both ? (p == 0 ? kModeRead : kModeWrite) : op.mode);
      s.due[i] = 0;
      if (op.arg < 0) {
        s.dl[i] = kExpired;
      } else if (op.arg == 0) {
        s.dl[i] = kNone;
      } else {
        s.dl[i] = kDue;
        if (__builtin_add_overflow(op.inv, op.arg, &s.due[i])) s.due[i] = INT64_MAX;
      }
      if (both && p == 0) return more(1);
      break;
    }
    case Kind::kReady: {
      // tip: the fdseq check is a step of its own, before netpollready's
      // (Go's poll loop: `if pd.fdseq.Load() == tag { ... netpollready }`),
      // so an event checked just before a close may still ready the next
      // incarnation: spurious readiness, which callers tolerate.
      int q = p;
      if (opt.events_need_current_key) {
        if (q == 0) {
          if (!KeyApplies(s, op, opt)) break;  // dropped
          return more(1);
        }
        q--;
      }
      const int m = both ? (q == 0 ? kModeRead : kModeWrite) : op.mode;
      if (s.open) s.latch[Mi(m)] = 1;
      if (both && q == 0) return more(p + 1);
      break;
    }
    case Kind::kEventErr:
      if (KeyApplies(s, op, opt)) s.everr = op.arg != 0;
      break;
    case Kind::kReset: {
      int next = 0;
      const int e = CheckErrStep(s, op.mode, p, opt.atomic_checkerr, &next);
      if (e == kNext) return more(next);
      if (e != op.result) return;
      if (e == kNoError) s.latch[Mi(op.mode)] = 0;
      break;
    }
    case Kind::kWait: {
      constexpr int kEntered = 3;  // the entry check passed; a READY is consumed later
      if (p == kEntered) {
        if (!s.latch[Mi(op.mode)]) return;
        s.latch[Mi(op.mode)] = 0;
        break;
      }
      int next = 0;
      const int e = CheckErrStep(s, op.mode, p, opt.atomic_checkerr, &next);
      if (e == kNext) return more(next);
      if (e == kNoError) {
        // ok: parked (or about to take a READY); a wait returning an error
        // checks again after its wake, from the first load.
        return more(op.result == kNoError ? kEntered : 0);
      }
      if (e != op.result) return;
      break;
    }
  }
  SetPhase(n, slot, 0);
  n.lin |= bit;
  emit(n);
}

std::string DescribeState(const State& s) {
  if (!s.open) return "closed";
  auto dl = [&](int i) {
    return s.dl[i] == kNone ? std::string("none")
           : s.dl[i] == kExpired ? std::string("expired")
                                 : "due@" + std::to_string(s.due[i]);
  };
  return std::string(s.closing ? "closing" : "open") + (s.everr ? " everr" : "") +
         " r{latch=" + std::to_string(s.latch[0]) + " dl=" + dl(0) + "} w{latch=" +
         std::to_string(s.latch[1]) + " dl=" + dl(1) + "}";
}

const char* ErrName(int e) {
  switch (e) {
    case kNoError: return "ok";
    case kClosing: return "closing";
    case kTimeout: return "timeout";
    case kNotPollable: return "notpollable";
  }
  return "?";
}

std::string ModeStr(int mode) {
  return mode == kModeRead ? "r" : mode == kModeWrite ? "w" : "rw";
}

}  // namespace

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kOpen: return "open";
    case Kind::kClose: return "close";
    case Kind::kUnblock: return "unblock";
    case Kind::kReset: return "reset";
    case Kind::kWait: return "wait";
    case Kind::kReady: return "ready";
    case Kind::kEventErr: return "everr";
    case Kind::kDeadline: return "deadline";
  }
  return "?";
}

std::string What(const Op& op) {
  std::string s = KindName(op.kind);
  switch (op.kind) {
    case Kind::kReset:
    case Kind::kWait:
      s += " " + ModeStr(op.mode) + " -> " + ErrName(op.result);
      break;
    case Kind::kReady:
      s += " " + ModeStr(op.mode);
      break;
    case Kind::kEventErr:
      s += op.arg ? " on" : " off";
      break;
    case Kind::kDeadline:
      s += " " + ModeStr(op.mode) + " " +
           (op.arg < 0 ? std::string("past") : op.arg == 0 ? std::string("zero")
                                                           : std::to_string(op.arg) + "ns");
      break;
    default:
      break;
  }
  return s;
}

std::string Describe(const Op& op, int64_t origin) {
  char iv[96];
  if (op.resp == kNeverReturned) {
    std::snprintf(iv, sizeof iv, "[%.1fus, never returned]", (op.inv - origin) / 1e3);
  } else {
    std::snprintf(iv, sizeof iv, "[%.1fus, %.1fus]", (op.inv - origin) / 1e3,
                  (op.resp - origin) / 1e3);
  }
  return "t" + std::to_string(op.thread) + " " + What(op) + " " + iv;
}

Verdict CheckObject(std::vector<Op> ops, const Options& opt) {
  Verdict v;
  std::stable_sort(ops.begin(), ops.end(), [](const Op& a, const Op& b) { return a.inv < b.inv; });
  // Events: invocations before responses at equal times (taken as concurrent).
  struct Ev {
    int64_t t;
    bool resp;
    size_t op;
  };
  std::vector<Ev> evs;
  evs.reserve(ops.size() * 2);
  for (size_t i = 0; i < ops.size(); i++) {
    evs.push_back({ops[i].inv, false, i});
    if (ops[i].resp != kNeverReturned) evs.push_back({ops[i].resp, true, i});
  }
  std::stable_sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) {
    return a.t != b.t ? a.t < b.t : (!a.resp && b.resp);
  });
  const int slots = std::min(opt.max_pending, 32);
  std::vector<size_t> slot_op(slots, 0);
  std::vector<int> op_slot(ops.size(), -1);
  uint32_t pending = 0;
  std::vector<Config> configs{Config{}};
  std::vector<size_t> recent;  // responded ops, for the report's window
  ConfigSet seen, out;
  std::vector<Config> stack;

  for (const Ev& e : evs) {
    if (!e.resp) {
      int b = 0;
      while (b < slots && (pending >> b & 1)) b++;
      if (b == slots) {
        v.checked = false;
        v.why = "more than " + std::to_string(slots) + " operations in flight at once";
        return v;
      }
      pending |= 1u << b;
      slot_op[b] = e.op;
      op_slot[e.op] = b;
      continue;
    }
    const uint32_t bit = 1u << op_slot[e.op];
    seen.Clear();
    out.Clear();
    stack.clear();
    for (const Config& c : configs) {
      if (seen.Insert(c)) stack.push_back(c);
    }
    auto push = [&](const Config& n) {
      if (seen.Insert(n)) stack.push_back(n);
    };
    while (!stack.empty()) {
      const Config c = stack.back();
      stack.pop_back();
      if (c.lin & bit) {
        Config d = c;
        d.lin &= ~bit;
        SetPhase(d, op_slot[e.op], 0);
        out.Insert(d);
        continue;  // the others may take effect later, at their own responses
      }
      for (int b = 0; b < slots; b++) {
        const uint32_t ob = 1u << b;
        if (!(pending & ob) || (c.lin & ob)) continue;
        Apply(ops[slot_op[b]], c, b, opt, push);
      }
      for (int i = 0; i < 2; i++) {  // a timer fires: at or after its due time
        if (c.s.dl[i] == kDue && c.s.due[i] <= e.t) {
          Config n = c;
          n.s.dl[i] = kExpired;
          push(n);
        }
      }
      if (seen.size() > opt.max_configs) {
        v.checked = false;
        v.why = "more than " + std::to_string(opt.max_configs) + " configurations at one response";
        return v;
      }
    }
    v.peak_configs = std::max(v.peak_configs, seen.size());
    if (out.empty()) {
      v.ok = false;
      v.failed_op = ops[e.op];
      const Op& x = ops[e.op];
      std::string w = "no order of the operations explains " + Describe(x, x.inv) +
                      "\n  in flight at its response:";
      for (int b = 0; b < slots; b++) {
        if ((pending >> b & 1) && slot_op[b] != e.op) w += "\n    " + Describe(ops[slot_op[b]], x.inv);
      }
      w += "\n  the last operations that returned before it:";
      const size_t from = recent.size() > 12 ? recent.size() - 12 : 0;
      for (size_t i = from; i < recent.size(); i++) w += "\n    " + Describe(ops[recent[i]], x.inv);
      w += "\n  the states the specification allowed before it (" + std::to_string(configs.size()) +
           "):";
      for (size_t i = 0; i < configs.size() && i < 4; i++) w += "\n    " + DescribeState(configs[i].s);
      v.why = w;
      return v;
    }
    configs = out.items();
    pending &= ~bit;
    recent.push_back(e.op);
    if (recent.size() > 64) recent.erase(recent.begin(), recent.begin() + 32);
  }
  return v;
}

}  // namespace pollstorm::history
