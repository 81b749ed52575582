// harness/canary/canary.cc: the litmus canary's runner (see canary.h).
#include "harness/canary/canary.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include "harness/findings/finding.h"  // JsonEscape

namespace pollstorm::canary {
namespace {

// ---- the variables of one batch of instances ----

struct Arena {
  explicit Arena(uint64_t n)
      : x(new std::atomic<int>[n]), y(new std::atomic<int>[n]), r0(new int[n]), r1(new int[n]) {
    for (uint64_t i = 0; i < n; i++) {
      x[i].store(0, std::memory_order_relaxed);
      y[i].store(0, std::memory_order_relaxed);
    }
  }
  // Separate arrays: x[i] and y[i] never share a cache line (as litmus7).
  std::unique_ptr<std::atomic<int>[]> x, y;
  std::unique_ptr<int[]> r0, r1;  // each written by one thread, read by thread 0 after a meet
};

constexpr auto kRlx = std::memory_order_relaxed;
constexpr auto kSc = std::memory_order_seq_cst;

// ---- the tests ----

struct TestDef {
  const char* name;
  const char* orders;
  void (*t0)(Arena&, uint64_t);
  void (*t1)(Arena&, uint64_t);
  int (*observe)(const Arena&, uint64_t);  // outcome index 0..3, or -1: impossible value
  std::array<const char*, 4> outcome;
  std::array<bool, 4> c11_allowed;
  std::array<bool, 4> weak;
};

int ObserveRegs(const Arena& a, uint64_t i) {
  const int r0 = a.r0[i], r1 = a.r1[i];
  if ((r0 != 0 && r0 != 1) || (r1 != 0 && r1 != 1)) return -1;
  return r0 * 2 + r1;
}

int ObserveFinal(const Arena& a, uint64_t i) {
  const int x = a.x[i].load(kRlx), y = a.y[i].load(kRlx);
  if ((x != 1 && x != 2) || (y != 1 && y != 2)) return -1;
  return (x - 1) * 2 + (y - 1);
}

constexpr std::array<const char*, 4> kRegOutcomes = {"r0=0 r1=0", "r0=0 r1=1", "r0=1 r1=0",
                                                     "r0=1 r1=1"};
constexpr std::array<const char*, 4> kFinalOutcomes = {"x=1 y=1", "x=1 y=2", "x=2 y=1",
                                                       "x=2 y=2"};

const TestDef kTests[] = {
    {"SB", "relaxed",
     [](Arena& a, uint64_t i) { a.x[i].store(1, kRlx); a.r0[i] = a.y[i].load(kRlx); },
     [](Arena& a, uint64_t i) { a.y[i].store(1, kRlx); a.r1[i] = a.x[i].load(kRlx); },
     ObserveRegs, kRegOutcomes, {true, true, true, true}, {true, false, false, false}},
    {"MP", "relaxed",
     [](Arena& a, uint64_t i) { a.x[i].store(1, kRlx); a.y[i].store(1, kRlx); },
     [](Arena& a, uint64_t i) { a.r0[i] = a.y[i].load(kRlx); a.r1[i] = a.x[i].load(kRlx); },
     ObserveRegs, kRegOutcomes, {true, true, true, true}, {false, false, true, false}},
    {"LB", "relaxed",
     [](Arena& a, uint64_t i) { a.r0[i] = a.x[i].load(kRlx); a.y[i].store(1, kRlx); },
     [](Arena& a, uint64_t i) { a.r1[i] = a.y[i].load(kRlx); a.x[i].store(1, kRlx); },
     ObserveRegs, kRegOutcomes, {true, true, true, true}, {false, false, false, true}},
    {"2+2W", "relaxed",
     [](Arena& a, uint64_t i) { a.x[i].store(1, kRlx); a.y[i].store(2, kRlx); },
     [](Arena& a, uint64_t i) { a.y[i].store(1, kRlx); a.x[i].store(2, kRlx); },
     ObserveFinal, kFinalOutcomes, {true, true, true, true}, {true, false, false, false}},
    {"SB+sc", "seq_cst store, seq_cst load",
     [](Arena& a, uint64_t i) { a.x[i].store(1, kSc); a.r0[i] = a.y[i].load(kSc); },
     [](Arena& a, uint64_t i) { a.y[i].store(1, kSc); a.r1[i] = a.x[i].load(kSc); },
     ObserveRegs, kRegOutcomes, {false, true, true, true}, {true, false, false, false}},
    {"SB+fence", "relaxed + seq_cst fence",
     [](Arena& a, uint64_t i) {
       a.x[i].store(1, kRlx);
       std::atomic_thread_fence(kSc);
       a.r0[i] = a.y[i].load(kRlx);
     },
     [](Arena& a, uint64_t i) {
       a.y[i].store(1, kRlx);
       std::atomic_thread_fence(kSc);
       a.r1[i] = a.x[i].load(kRlx);
     },
     ObserveRegs, kRegOutcomes, {false, true, true, true}, {true, false, false, false}},
    {"SB+xchg", "seq_cst exchange, seq_cst load",
     [](Arena& a, uint64_t i) { a.x[i].exchange(1, kSc); a.r0[i] = a.y[i].load(kSc); },
     [](Arena& a, uint64_t i) { a.y[i].exchange(1, kSc); a.r1[i] = a.x[i].load(kSc); },
     ObserveRegs, kRegOutcomes, {false, true, true, true}, {true, false, false, false}},
    // Pattern B exactly as polldesc/poll_desc.h writes it. Thread 0 is the
    // closer (Unblock, SetDeadline, NetpollDeadlineImpl): InfoStore (seq_cst
    // store), Env::FullBarrier (seq_cst fence), SlotLoad (seq_cst load).
    // Thread 1 is the waiter (NetpollBlock): SlotCas nil->WAIT (seq_cst CAS),
    // then NetpollCheckErr's InfoLoad (seq_cst load).
    {"PatternB", "sc st;fence;ld || sc CAS;ld",
     [](Arena& a, uint64_t i) {
       a.x[i].store(1, kSc);
       std::atomic_thread_fence(kSc);
       a.r0[i] = a.y[i].load(kSc);
     },
     [](Arena& a, uint64_t i) {
       int expected = 0;
       a.y[i].compare_exchange_strong(expected, 1, kSc);
       a.r1[i] = a.x[i].load(kSc);
     },
     ObserveRegs, kRegOutcomes, {false, true, true, true}, {true, false, false, false}},
};

// ---- synchronisation ----

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// Two-party barrier, one meeting per instance: each side publishes the meeting
// number and waits for the other's. The two threads leave within about one
// cache-line transfer of each other, so their accesses to the instance overlap.
// Release/acquire also publishes thread 0's resets and thread 1's registers.
// Nothing here orders the accesses of the instance that follows a meeting.
struct Meeting {
  struct alignas(64) Flag {
    std::atomic<uint64_t> v{0};
  };
  Flag side[2];

  void Meet(int me, uint64_t n) {
    side[me].v.store(n, std::memory_order_release);
    const auto& other = side[1 - me].v;
    for (uint64_t spins = 0; other.load(std::memory_order_acquire) < n; spins++) {
      // With 2 cores and other work on the machine the partner may be
      // descheduled: stop burning its CPU after a while.
      if (spins > (1u << 12)) {
        sched_yield();
      } else {
        CpuRelax();
      }
    }
  }
};

std::vector<int> AllowedCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; c++) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

bool PinSelf(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

bool RunOne(const TestDef& t, const Options& opt, const std::vector<int>& pin_cpus,
            TestResult* out, std::string* error) {
  const uint64_t batch = std::max<uint64_t>(1, std::min(opt.batch, opt.instances));
  Arena arena(batch);
  Meeting meeting;
  std::array<uint64_t, 4> counts{};
  bool impossible = false;
  std::atomic<int> pin_failures{0};

  auto worker = [&](int me) {
    if (!pin_cpus.empty() && !PinSelf(pin_cpus[me])) pin_failures.fetch_add(1);
    uint64_t meet = 0;
    for (uint64_t done = 0; done < opt.instances;) {
      const uint64_t n = std::min(batch, opt.instances - done);
      for (uint64_t i = 0; i < n; i++) {
        meeting.Meet(me, ++meet);
        (me == 0 ? t.t0 : t.t1)(arena, i);
      }
      meeting.Meet(me, ++meet);  // both threads are done with the batch
      if (me == 0) {             // count and reset before the next meeting releases thread 1
        for (uint64_t i = 0; i < n; i++) {
          const int k = t.observe(arena, i);
          if (k < 0) {
            impossible = true;
          } else {
            counts[k]++;
          }
          arena.x[i].store(0, kRlx);
          arena.y[i].store(0, kRlx);
          arena.r0[i] = arena.r1[i] = -1;
        }
      }
      done += n;
    }
  };

  for (uint64_t i = 0; i < batch; i++) arena.r0[i] = arena.r1[i] = -1;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    std::thread other(worker, 1);
    worker(0);
    other.join();
  } catch (const std::exception& e) {
    *error = std::string("cannot start a thread: ") + e.what();
    return false;
  }
  const auto t1 = std::chrono::steady_clock::now();

  out->name = t.name;
  out->orders = t.orders;
  out->instances = opt.instances;
  out->seconds = std::chrono::duration<double>(t1 - t0).count();
  out->outcomes.clear();
  uint64_t total = 0;
  for (int k = 0; k < 4; k++) {
    out->outcomes.push_back({t.outcome[k], counts[k], t.c11_allowed[k], t.weak[k]});
    total += counts[k];
  }
  if (impossible || total != opt.instances) {
    *error = std::string(t.name) + ": an instance ended with a value no thread wrote (" +
             std::to_string(total) + " of " + std::to_string(opt.instances) + " counted)";
    return false;
  }
  if (pin_failures.load() != 0) {
    *error = std::string(t.name) + ": pinning a thread failed after it had worked";
    return false;
  }
  return true;
}

std::string CompilerName() {
#if defined(__clang__)
  std::string v = "clang " __clang_version__;
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

}  // namespace

uint64_t TestResult::WeakCount() const {
  uint64_t n = 0;
  for (const auto& o : outcomes) n += o.weak ? o.count : 0;
  return n;
}

uint64_t TestResult::ForbiddenCount() const {
  uint64_t n = 0;
  for (const auto& o : outcomes) n += o.c11_allowed ? 0 : o.count;
  return n;
}

const std::vector<std::string>& TestNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& t : kTests) v.push_back(t.name);
    return v;
  }();
  return names;
}

bool RunTests(const Options& opt, Platform* p, std::vector<TestResult>* results,
              std::string* error) {
#if defined(__aarch64__)
  p->arch = "aarch64";
#if defined(__ARM_FEATURE_ATOMICS)
  p->atomics = "LSE (casal, swpal, ldaddal)";
#else
  p->atomics = "LL/SC (ldaxr/stlxr)";
#endif
#elif defined(__x86_64__)
  p->arch = "x86_64";
  p->atomics = "x86 (lock-prefixed RMW, mov + mfence/xchg)";
#else
  p->arch = "other";
  p->atomics = "?";
#endif
  // The toolchain's emulator command sets this (cmake/aarch64-linux-gnu.cmake).
  p->run_via = std::getenv("POLLSTORM_QEMU_REEXEC") ? "qemu-user (emulator environment)" : "native";
  p->compiler = CompilerName();

  // QEMU user mode translates guest atomics without host atomicity until the
  // program creates its first thread: start one before anything is measured.
  try {
    std::thread([] {}).join();
  } catch (const std::exception& e) {
    *error = std::string("cannot start a thread: ") + e.what();
    return false;
  }

  std::vector<int> pin;
  if (!opt.pin) {
    p->pinned = "no (--no-pin)";
  } else if (const std::vector<int> cpus = AllowedCpus(); cpus.size() < 2) {
    p->pinned = "no (only " + std::to_string(cpus.size()) + " cpu allowed)";
  } else {
    // A refused sched_setaffinity means "not pinned", not an error.
    bool ok = false;
    std::thread([&] { ok = PinSelf(cpus[1]); }).join();
    if (ok) {
      pin = {cpus[0], cpus[1]};
      p->pinned = "cpus " + std::to_string(cpus[0]) + "," + std::to_string(cpus[1]);
    } else {
      p->pinned = "no (sched_setaffinity refused)";
    }
  }

  results->clear();
  for (const auto& t : kTests) {
    if (!opt.tests.empty() &&
        std::find(opt.tests.begin(), opt.tests.end(), t.name) == opt.tests.end()) {
      continue;
    }
    TestResult r;
    if (!RunOne(t, opt, pin, &r, error)) return false;
    results->push_back(std::move(r));
  }
  return true;
}

std::string FormatTable(const Platform& p, const std::vector<TestResult>& results) {
  std::string s;
  char line[256];
  uint64_t instances = results.empty() ? 0 : results[0].instances;
  std::snprintf(line, sizeof line, "litmus canary: %llu instances per test\n",
                static_cast<unsigned long long>(instances));
  s += line;
  s += "platform: " + p.arch + ", atomics " + p.atomics + ", run " + p.run_via +
       ", threads pinned: " + p.pinned + ", " + p.compiler + "\n\n";
  std::snprintf(line, sizeof line, "%-9s %-31s %-10s %12s  %-9s %s\n", "test", "orders", "outcome",
                "count", "C11", "");
  s += line;
  for (const auto& r : results) {
    bool first = true;
    for (const auto& o : r.outcomes) {
      const char* note = !o.weak ? "" : !o.c11_allowed ? (o.count ? "weak, FORBIDDEN, SEEN" : "weak")
                                                       : "weak";
      std::snprintf(line, sizeof line, "%-9s %-31s %-10s %12llu  %-9s %s\n",
                    first ? r.name.c_str() : "", first ? r.orders.c_str() : "", o.outcome.c_str(),
                    static_cast<unsigned long long>(o.count),
                    o.c11_allowed ? "allowed" : "forbidden", note);
      s += line;
      first = false;
    }
  }
  s += "\nverdict:\n";
  std::string seen, unseen, forbidden;
  for (const auto& r : results) {
    bool allowed_weak = false;  // the test's weak outcome is one C11 allows
    for (const auto& o : r.outcomes) allowed_weak |= o.weak && o.c11_allowed;
    if (r.ForbiddenCount() > 0) {
      std::snprintf(line, sizeof line, "  FORBIDDEN outcome seen: %s, %llu of %llu instances (%.3f%%)\n",
                    r.name.c_str(), static_cast<unsigned long long>(r.ForbiddenCount()),
                    static_cast<unsigned long long>(r.instances),
                    100.0 * r.ForbiddenCount() / std::max<uint64_t>(1, r.instances));
      forbidden += line;
    } else if (allowed_weak) {
      (r.WeakCount() > 0 ? seen : unseen) += " " + r.name;
    }
  }
  if (!seen.empty()) s += "  weak outcomes seen (C11 allows them):" + seen + "\n";
  if (!unseen.empty()) {
    s += "  weak outcomes never seen:" + unseen +
         " (this platform did not show those reorderings in these instances)\n";
  }
  if (forbidden.empty()) {
    s += "  forbidden outcomes: none seen\n";
  } else {
    s += forbidden;
    s += "  => this platform breaks the C++ memory model for the tests above. A finding of that\n"
         "     shape (store then load of another variable; pattern B, the close/timeout\n"
         "     handshake) may come from the platform, not from the code: check it here first.\n";
  }
  return s;
}

std::string FormatJson(const Platform& p, const Options& opt,
                       const std::vector<TestResult>& results) {
  std::string j = "{\"instances\":" + std::to_string(opt.instances) +
                  ",\"batch\":" + std::to_string(opt.batch) + ",\"platform\":{\"arch\":\"" +
                  JsonEscape(p.arch) + "\",\"atomics\":\"" + JsonEscape(p.atomics) +
                  "\",\"run_via\":\"" + JsonEscape(p.run_via) + "\",\"pinned\":\"" +
                  JsonEscape(p.pinned) + "\",\"compiler\":\"" + JsonEscape(p.compiler) +
                  "\"},\"tests\":[";
  for (size_t i = 0; i < results.size(); i++) {
    const auto& r = results[i];
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.3f", r.seconds);
    j += std::string(i ? "," : "") + "{\"name\":\"" + JsonEscape(r.name) + "\",\"orders\":\"" +
         JsonEscape(r.orders) + "\",\"instances\":" + std::to_string(r.instances) +
         ",\"seconds\":" + secs + ",\"weak\":" + std::to_string(r.WeakCount()) +
         ",\"forbidden\":" + std::to_string(r.ForbiddenCount()) + ",\"outcomes\":[";
    for (size_t k = 0; k < r.outcomes.size(); k++) {
      const auto& o = r.outcomes[k];
      j += std::string(k ? "," : "") + "{\"outcome\":\"" + JsonEscape(o.outcome) +
           "\",\"count\":" + std::to_string(o.count) +
           ",\"c11_allowed\":" + (o.c11_allowed ? "true" : "false") +
           ",\"weak\":" + (o.weak ? "true" : "false") + "}";
    }
    j += "]}";
  }
  j += "]}\n";
  return j;
}

}  // namespace pollstorm::canary
