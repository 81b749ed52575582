#include "harness/ops/generate.h"

#include <algorithm>

namespace pollstorm::ops {
namespace {

constexpr const char* kClassNames[kNumArgClasses] = {
    "deadline-fires-r", "deadline-fires-w", "deadline-fires-rw", "deadline-past",
    "deadline-zero",    "deadline-far",     "rearm-while-parked", "reuse-unblock-close-open",
    "close-after-unblock", "open-after-close", "everr-on",       "everr-off",
    "io",               "read",             "unblock-racing-wait", "deadline-racing-wait", "ready-r",
    "ready-w",          "ready-rw",         "advance",          "counters-near-wrap",
    "pipe-full",        "drain-racing-write", "hangup-racing-read", "epollerr-racing-io"};

// The longest deadline that counts as "fires within the program": the
// generator's own short deadlines are 10..50 us; an advance adds at most
// 100 us per op; anything up to 1 ms fires well before the far deadline.
constexpr int64_t kShortDeadlineMax = 1000000;

// SplitMix64 (Steele, Lea, Flood, OOPSLA 2014): small, seedable, and the
// same on every host.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  int Below(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }
  bool Coin(int num, int den) { return Below(den) < num; }

 private:
  uint64_t s_;
};

enum DeadlineClass { kFires, kPast, kZero, kFar, kNumDeadlineClasses };
enum Shape { kRearm, kReuse, kRace, kDeadlineRace, kNumShapes };

// One program's swarm configuration.
struct Swarm {
  int threads = 2, descs = 1;
  int max_ops = 1;  // per thread, before shapes
  int kind_weight[kNumOpKinds] = {};  // 0: the kind is left out
  bool deadline_class[kNumDeadlineClasses] = {};
  bool shape[kNumShapes] = {};
};

Swarm DrawSwarm(Rng& r) {
  Swarm s;
  s.threads = kGenMinThreads + r.Below(kGenMaxThreads - kGenMinThreads + 1);
  s.descs = 1 + r.Below(kGenMaxDescs);
  // Size is a swarm dimension too: most bugs need two ops in two threads,
  // and a small program explores its schedules far faster than a big one.
  s.max_ops = 1 + r.Below(kGenMaxOpsPerThread);
  // The kinds of binary version 2 only: the pipe ops come from AddPipeOps,
  // so these draws (and every older seed's program) stay as they were.
  for (int k = 0; k < kNumOpKindsV2; k++) {
    if (r.Coin(1, 2)) s.kind_weight[k] = 1 + r.Below(4);
  }
  // Something that can be owed a wake.
  if (s.kind_weight[static_cast<int>(OpKind::kWait)] == 0 &&
      s.kind_weight[static_cast<int>(OpKind::kRead)] == 0) {
    s.kind_weight[static_cast<int>(r.Coin(1, 2) ? OpKind::kWait : OpKind::kRead)] = 1 + r.Below(4);
  }
  bool any = false;
  for (bool& c : s.deadline_class) any |= (c = r.Coin(1, 2));
  if (!any) s.deadline_class[r.Below(kNumDeadlineClasses)] = true;
  for (bool& sh : s.shape) sh = r.Coin(1, 3);
  return s;
}

int DrawMode(Rng& r, bool allow_rw) { return allow_rw && r.Coin(1, 3) ? 'r' + 'w' : r.Coin(1, 2) ? 'r' : 'w'; }

// Descriptors are skewed towards d0, so several threads meet on one.
uint8_t DrawDesc(Rng& r, const Swarm& s) {
  return static_cast<uint8_t>(r.Coin(1, 2) ? 0 : r.Below(s.descs));
}

int64_t DrawDeadline(Rng& r, const Swarm& s) {
  int c;
  do {
    c = r.Below(kNumDeadlineClasses);
  } while (!s.deadline_class[c]);
  switch (c) {
    case kFires:
      return kDeadlineUnitNs * (1 + r.Below(5));
    case kPast:
      return kDeadlinePast;
    case kZero:
      return kDeadlineZero;
    default:
      return kDeadlineFar;
  }
}

// Pipe ops draw from their own stream (see generate.h).
void AddPipeOps(Rng& q, const Swarm& s, Program& p) {
  auto other = [&](int t) { return (t + 1 + q.Below(s.threads - 1)) % s.threads; };
  auto op = [](OpKind k, uint8_t d) {
    Op o;
    o.kind = k;
    o.desc = d;
    return o;
  };
  auto insert = [&](int t, std::vector<Op> ops) {
    auto& th = p.threads[t];
    const long at = q.Below(static_cast<int>(th.size()) + 1);
    th.insert(th.begin() + at, ops.begin(), ops.end());
  };
  const int pick = q.Below(3);  // at least one shape, each also with its own coin
  for (int sh = 0; sh < 3; sh++) {
    if (sh != pick && !q.Coin(1, 3)) continue;
    const int a = q.Below(s.threads), b = other(a);
    const uint8_t d = DrawDesc(q, s);
    if (sh == 0) {
      std::vector<Op> writes(kPipeCapacity + 1, op(OpKind::kWrite, d));
      insert(a, writes);
      insert(b, {op(OpKind::kDrain, d)});
    } else if (sh == 1) {
      insert(a, {op(OpKind::kRead, d)});
      insert(b, q.Coin(1, 3) ? std::vector<Op>{op(OpKind::kIo, d), op(OpKind::kHangup, d)}
                             : std::vector<Op>{op(OpKind::kHangup, d)});
    } else {
      insert(a, {op(q.Coin(1, 2) ? OpKind::kRead : OpKind::kWrite, d)});
      insert(b, {op(OpKind::kEpollErr, d)});
    }
  }
  const OpKind singles[] = {OpKind::kWrite, OpKind::kDrain, OpKind::kHangup,
                            OpKind::kEpollErr, OpKind::kIo, OpKind::kRead};
  for (int n = q.Below(3); n > 0; n--) {
    insert(q.Below(s.threads), {op(singles[q.Below(6)], DrawDesc(q, s))});
  }
}

Op DrawOp(Rng& r, const Swarm& s) {
  int total = 0;
  for (int w : s.kind_weight) total += w;
  int pick = r.Below(total);
  int k = 0;
  while (pick >= s.kind_weight[k]) pick -= s.kind_weight[k++];
  Op op;
  op.kind = static_cast<OpKind>(k);
  op.desc = DrawDesc(r, s);
  switch (op.kind) {
    case OpKind::kReset:
    case OpKind::kWait:
      op.mode = DrawMode(r, false);
      break;
    case OpKind::kReady:
      op.mode = DrawMode(r, true);
      break;
    case OpKind::kEventErr:
      op.arg = r.Coin(1, 2) ? 1 : 0;
      break;
    case OpKind::kDeadline:
      op.mode = DrawMode(r, true);
      op.arg = DrawDeadline(r, s);
      break;
    case OpKind::kAdvance:
      op.desc = 0;
      op.arg = kDeadlineUnitNs * (1 + r.Below(10));
      break;
    default:
      break;
  }
  return op;
}

Op Make(OpKind k, uint8_t d, int mode = 'r', int64_t arg = 0) {
  Op op;
  op.kind = k;
  op.desc = d;
  op.mode = mode;
  op.arg = arg;
  return op;
}

void InsertAt(Rng& r, std::vector<Op>& th, std::vector<Op> ops) {
  const long at = r.Below(static_cast<int>(th.size()) + 1);
  th.insert(th.begin() + at, ops.begin(), ops.end());
}

bool Covers(int op_mode, int mode) { return op_mode == mode || op_mode == 'r' + 'w'; }

}  // namespace

const char* ArgClassName(ArgClass c) { return kClassNames[static_cast<int>(c)]; }

Program Generate(uint64_t seed) {
  Rng r(seed);
  const Swarm s = DrawSwarm(r);
  Program p;
  p.threads.resize(s.threads);
  for (auto& th : p.threads) {
    const int n = 1 + r.Below(s.max_ops);
    for (int i = 0; i < n; i++) th.push_back(DrawOp(r, s));
  }
  auto other = [&](int t) { return (t + 1 + r.Below(s.threads - 1)) % s.threads; };
  if (s.shape[kRearm]) {
    const int a = r.Below(s.threads), b = other(a);
    const uint8_t d = DrawDesc(r, s);
    const int m = DrawMode(r, false);
    InsertAt(r, p.threads[a], {Make(OpKind::kWait, d, m)});
    InsertAt(r, p.threads[b], {Make(OpKind::kDeadline, d, m, kDeadlineUnitNs * (1 + r.Below(5))),
                               Make(OpKind::kDeadline, d, m, DrawDeadline(r, s))});
  }
  if (s.shape[kReuse]) {
    const uint8_t d = DrawDesc(r, s);
    InsertAt(r, p.threads[r.Below(s.threads)],
             {Make(OpKind::kUnblock, d), Make(OpKind::kClose, d), Make(OpKind::kOpen, d)});
  }
  if (s.shape[kRace]) {
    const int a = r.Below(s.threads), b = other(a);
    const uint8_t d = DrawDesc(r, s);
    InsertAt(r, p.threads[a], {Make(OpKind::kWait, d, DrawMode(r, false))});
    InsertAt(r, p.threads[b], {Make(OpKind::kUnblock, d)});
  }
  if (s.shape[kDeadlineRace]) {
    const int a = r.Below(s.threads), b = other(a);
    const uint8_t d = DrawDesc(r, s);
    const int m = DrawMode(r, false);
    InsertAt(r, p.threads[a], {Make(OpKind::kWait, d, m)});
    InsertAt(r, p.threads[b], {Make(OpKind::kDeadline, d, r.Coin(1, 3) ? 'r' + 'w' : m, DrawDeadline(r, s))});
  }
  // The contract: something that can be owed a wake. The swarm enabled wait
  // or read, but weights may still have drawn neither.
  bool waits = false;
  for (const auto& th : p.threads) {
    for (const Op& op : th) waits |= op.kind == OpKind::kWait || op.kind == OpKind::kRead;
  }
  if (!waits) {
    const bool read = s.kind_weight[static_cast<int>(OpKind::kRead)] >
                      s.kind_weight[static_cast<int>(OpKind::kWait)];
    InsertAt(r, p.threads[r.Below(s.threads)],
             {Make(read ? OpKind::kRead : OpKind::kWait, DrawDesc(r, s), read ? 'r' : DrawMode(r, false))});
  }
  Rng q(seed ^ 0x919e5b1e5ull);
  if (q.Coin(1, 2)) AddPipeOps(q, s, p);
  // A quarter of the programs start every descriptor's counters just below a
  // boundary (tip's fdseq at its 16-bit info field, the 20-bit mask, the
  // 25-bit tag; rseq/wseq at 2^64), so a few reuses cross it. Drawn from a
  // stream of its own: the ops of every seed stay what they were.
  Rng c(seed ^ 0xc0ffee5eedull);
  if (c.Coin(1, 4)) {
    const uint64_t fdseq_edges[] = {uint64_t{1} << 16, uint64_t{1} << 20, uint64_t{1} << 25};
    p.counters.fdseq = fdseq_edges[c.Below(3)] - 1 - static_cast<uint64_t>(c.Below(3));
    p.counters.rseq = UINT64_MAX - static_cast<uint64_t>(c.Below(4));
    p.counters.wseq = UINT64_MAX - static_cast<uint64_t>(c.Below(4));
  }
  return p;
}

Classification Classes(const Program& p) {
  Classification c;
  auto set = [&c](ArgClass a) { c.classes[static_cast<int>(a)] = true; };
  if (p.counters.Any()) set(ArgClass::kCountersNearWrap);
  for (size_t t = 0; t < p.threads.size(); t++) {
    const auto& th = p.threads[t];
    for (size_t i = 0; i < th.size(); i++) {
      const Op& op = th[i];
      c.kinds[static_cast<int>(op.kind)] = true;
      switch (op.kind) {
        case OpKind::kDeadline:
          if (op.arg == kDeadlinePast) set(ArgClass::kDeadlinePast);
          else if (op.arg == kDeadlineZero) set(ArgClass::kDeadlineZero);
          else if (op.arg == kDeadlineFar) set(ArgClass::kDeadlineFar);
          else if (op.arg <= kShortDeadlineMax) {
            set(op.mode == 'r'   ? ArgClass::kDeadlineFiresR
                : op.mode == 'w' ? ArgClass::kDeadlineFiresW
                                 : ArgClass::kDeadlineFiresRW);
          }
          break;
        case OpKind::kEventErr:
          set(op.arg ? ArgClass::kEverrOn : ArgClass::kEverrOff);
          break;
        case OpKind::kIo:
          set(ArgClass::kIo);
          break;
        case OpKind::kRead:
          set(ArgClass::kRead);
          break;
        case OpKind::kWrite: {
          int writes = 0;
          for (const Op& o2 : th) writes += o2.kind == OpKind::kWrite && o2.desc == op.desc;
          if (writes > kPipeCapacity) set(ArgClass::kPipeFull);
          break;
        }
        case OpKind::kReady:
          set(op.mode == 'r' ? ArgClass::kReadyR : op.mode == 'w' ? ArgClass::kReadyW : ArgClass::kReadyRW);
          break;
        case OpKind::kAdvance:
          set(ArgClass::kAdvance);
          break;
        case OpKind::kUnblock:
          // unblock, then close, then open of the same descriptor later in this thread
          for (size_t j = i + 1; j < th.size(); j++) {
            if (th[j].kind != OpKind::kClose || th[j].desc != op.desc) continue;
            for (size_t k = j + 1; k < th.size(); k++) {
              if (th[k].kind == OpKind::kOpen && th[k].desc == op.desc) set(ArgClass::kReuseUnblock);
            }
          }
          break;
        default:
          break;
      }
      // Pairs across threads.
      for (size_t u = 0; u < p.threads.size(); u++) {
        for (const Op& o2 : p.threads[u]) {
          if (o2.desc != op.desc || op.kind == OpKind::kAdvance || o2.kind == OpKind::kAdvance) continue;
          if (op.kind == OpKind::kClose && o2.kind == OpKind::kUnblock) set(ArgClass::kReuseClose);
          if (op.kind == OpKind::kOpen && o2.kind == OpKind::kClose) set(ArgClass::kReuseOpen);
          if (u == t) continue;
          const bool waits = op.kind == OpKind::kWait || op.kind == OpKind::kRead;
          if (waits && o2.kind == OpKind::kUnblock) set(ArgClass::kUnblockRacingWait);
          if (op.kind == OpKind::kWrite && o2.kind == OpKind::kDrain) set(ArgClass::kDrainRacingWrite);
          if (op.kind == OpKind::kRead && o2.kind == OpKind::kHangup) set(ArgClass::kHangupRacingRead);
          if ((op.kind == OpKind::kRead || op.kind == OpKind::kWrite) &&
              o2.kind == OpKind::kEpollErr) {
            set(ArgClass::kEpollErrRacingIo);
          }
          const int wmode = op.kind == OpKind::kRead ? 'r' : op.mode;
          if (waits && o2.kind == OpKind::kDeadline && Covers(o2.mode, wmode)) {
            set(ArgClass::kDeadlineRacingWait);
          }
        }
      }
      // Re-arms while parked: another thread sets this wait's deadline twice.
      if (op.kind == OpKind::kWait || op.kind == OpKind::kRead) {
        const int mode = op.kind == OpKind::kRead ? 'r' : op.mode;
        for (size_t u = 0; u < p.threads.size(); u++) {
          if (u == t) continue;
          int sets = 0;
          for (const Op& o2 : p.threads[u]) {
            sets += o2.kind == OpKind::kDeadline && o2.desc == op.desc && Covers(o2.mode, mode);
          }
          if (sets >= 2) set(ArgClass::kRearmWhileParked);
        }
      }
    }
  }
  return c;
}

void Coverage::Add(const Classification& c) {
  programs++;
  for (int k = 0; k < kNumOpKinds; k++) kinds[k] += c.kinds[k];
  for (int a = 0; a < kNumArgClasses; a++) classes[a] += c.classes[a];
}

std::string Coverage::ToString() const {
  std::string out = "programs " + std::to_string(programs) + "\n  op kinds (programs with one):";
  std::string never;
  for (int k = 0; k < kNumOpKinds; k++) {
    out += " " + std::string(KindName(static_cast<OpKind>(k))) + " " + std::to_string(kinds[k]);
    if (kinds[k] == 0) never += " " + std::string(KindName(static_cast<OpKind>(k)));
  }
  out += "\n  argument classes:";
  for (int a = 0; a < kNumArgClasses; a++) {
    out += " " + std::string(kClassNames[a]) + " " + std::to_string(classes[a]);
    if (classes[a] == 0) never += " " + std::string(kClassNames[a]);
  }
  out += "\n  never generated:" + (never.empty() ? std::string(" none") : never) + "\n";
  return out;
}

}  // namespace pollstorm::ops
