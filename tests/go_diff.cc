// tests/go_diff.cc: the port's side of the Go differential test
// (docs/go-differential.md). It runs the scenarios of
// tests/go_diff/scenarios.txt through the Fd facade (polldesc/fd.h) over real
// pipes and socketpairs, the real epoll poller and RealEnv timers, on every variant of
// kVariantNames, and compares each variant's trace with the trace Go's own
// runtime printed for the same table (tests/go_diff/main.go).
//
//   go_diff --scenarios FILE --go-trace FILE [--variant NAME]...
//       compare; exit 0 when every variant agrees with Go, 1 on a disagreement
//   go_diff --scenarios FILE --emit FILE [--variant NAME]
//       write one variant's trace (default: the default variant) in Go's format
//   go_diff --list-variants
//
// Exit codes: 0 agree, 1 disagreement, 2 usage or bad input (named), 3 internal;
// a throw of the port (RealEnv::Fatal) aborts after a DISAGREE line naming it.
//
// Both sides number steps and spell outcomes the same way (the grammar is in
// scenarios.txt's header), so a trace line is "<scenario>#<step> <text> =>
// <outcome>[ <timing>]" and comparison is per key <scenario>#<step>.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "polldesc/real.h"

namespace pollstorm {
namespace {

[[noreturn]] void Usage(const std::string& msg) {
  std::fprintf(stderr, "go_diff: %s\n", msg.c_str());
  std::exit(2);
}

[[noreturn]] void Internal(const std::string& msg) {
  std::fprintf(stderr, "go_diff: internal error: %s\n", msg.c_str());
  std::exit(3);
}

// One line of a scenario (grammar: scenarios.txt's header; the Go side's
// parser in tests/go_diff/main.go accepts exactly the same lines).
struct Step {
  std::string text;  // the line without timing splits (goes in the trace)
  std::string bg;    // bg ID: run op in the background
  std::string join;  // join ID
  std::string op;    // read write fill close rdl wdl dl sleep
  char end = 0;      // 'r' or 'w'
  int n = 0;         // bytes, or ms for sleep
  std::string dl;    // past zero far +Nms
  int64_t dl_ms = 0;
  int after = -1;  // timing splits in ms since the scenario began; -1: none
  int before = -1;
  int by = -1;  // a precondition: the step must return before `by` ms; -1: none
};

struct Scenario {
  std::string name;
  bool socketpair = false;  // false: a pipe (r reads, w writes); true: r and w both ways
  std::vector<Step> steps;
};

std::vector<std::string> Fields(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> f;
  for (std::string w; in >> w;) f.push_back(w);
  return f;
}

std::string Join(const std::vector<std::string>& f, std::size_t from = 0) {
  std::string out;
  for (std::size_t i = from; i < f.size(); i++) out += (out.empty() ? "" : " ") + f[i];
  return out;
}

// A non-negative decimal int (at most 9 digits), or nullopt.
std::optional<int> Int(const std::string& s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return std::stoi(s);
}

bool ParseSplit(const std::string& tok, Step& s) {
  for (auto [k, field] : {std::pair{"after=", &s.after}, {"before=", &s.before}, {"by=", &s.by}}) {
    const std::size_t kl = std::strlen(k);
    if (tok.compare(0, kl, k) != 0) continue;
    auto v = Int(tok.substr(kl));
    if (!v) return false;
    *field = *v;
    return true;
  }
  return false;
}

// Fills s from the op's tokens; returns an error message or "".
std::string ParseOp(const std::vector<std::string>& f, Step& s) {
  if (f.empty()) return "missing op";
  s.op = f[0];
  if (s.op == "sleep") {
    auto v = f.size() == 2 ? Int(f[1]) : std::nullopt;
    if (!v) return "sleep takes N (ms)";
    s.n = *v;
    return "";
  }
  static const std::set<std::string> kOps = {"read", "write", "fill", "close", "rdl", "wdl", "dl"};
  if (kOps.count(s.op) == 0) return "unknown op '" + s.op + "'";
  if (f.size() < 2 || (f[1] != "r" && f[1] != "w")) return s.op + " needs an end: r or w";
  s.end = f[1][0];
  if (s.op == "read" || s.op == "write") {
    auto v = f.size() == 3 ? Int(f[2]) : std::nullopt;
    if (!v || *v <= 0 || *v > (1 << 20)) return s.op + " takes END N (1..1048576)";
    s.n = *v;
  } else if (s.op == "fill" || s.op == "close") {
    if (f.size() != 2) return s.op + " takes END only";
  } else {
    if (f.size() != 3) return s.op + " takes END D";
    s.dl = f[2];
    if (s.dl == "past" || s.dl == "zero" || s.dl == "far") return "";
    const bool shape =
        s.dl.size() > 3 && s.dl[0] == '+' && s.dl.compare(s.dl.size() - 2, 2, "ms") == 0;
    auto v = shape ? Int(s.dl.substr(1, s.dl.size() - 3)) : std::nullopt;
    if (!v || *v <= 0) return "bad deadline '" + s.dl + "' (past, zero, far or +Nms)";
    s.dl_ms = *v;
  }
  return "";
}

std::vector<Scenario> Parse(const std::string& path) {
  std::ifstream in(path);
  if (!in) Usage("cannot read " + path);
  std::vector<Scenario> out;
  bool inside = false;
  std::set<std::string> open;
  int line = 0;
  auto bad = [&](const std::string& msg) { Usage(path + ":" + std::to_string(line) + ": " + msg); };
  for (std::string t; std::getline(in, t);) {
    line++;
    if (auto i = t.find('#'); i != std::string::npos) t.resize(i);
    auto f = Fields(t);
    if (f.empty()) continue;
    if (f[0] == "scenario") {
      if (inside) bad("scenario inside scenario " + out.back().name);
      if (f.size() < 2 || f.size() > 3 ||
          (f.size() == 3 && f[2] != "pipe" && f[2] != "socketpair")) {
        bad("scenario takes a name and optionally pipe or socketpair");
      }
      for (const auto& o : out) {
        if (o.name == f[1]) bad("duplicate scenario " + f[1]);
      }
      out.push_back({f[1], f.size() == 3 && f[2] == "socketpair", {}});
      inside = true;
      open.clear();
      continue;
    }
    if (f[0] == "end") {
      if (!inside || f.size() != 1) bad("'end' outside a scenario");
      if (!open.empty()) bad("bg " + *open.begin() + " never joined");
      if (out.back().steps.empty()) bad("empty scenario " + out.back().name);
      inside = false;
      continue;
    }
    if (!inside) bad("step outside a scenario");
    Step s;
    while (!f.empty() && ParseSplit(f.back(), s)) f.pop_back();
    if (f.empty()) bad("missing op");
    s.text = Join(f);
    if (f[0] == "join") {
      if (f.size() != 2 || open.count(f[1]) == 0) bad("join of an unknown or joined bg id");
      s.join = f[1];
      open.erase(f[1]);
    } else if (f[0] == "bg") {
      if (f.size() < 3 || open.count(f[1]) != 0) bad("bg takes a fresh ID and an op");
      s.bg = f[1];
      if (auto msg = ParseOp({f.begin() + 2, f.end()}, s); !msg.empty()) bad(msg);
      if (s.op == "sleep" || s.op == "fill") bad("bg of " + s.op);
      open.insert(f[1]);
    } else if (auto msg = ParseOp(f, s); !msg.empty()) {
      bad(msg);
    }
    if ((s.after >= 0 || s.before >= 0 || s.by >= 0) &&
        (!s.bg.empty() || s.op == "sleep" || s.op == "fill")) {
      bad("timing splits go on an op or a join");
    }
    out.back().steps.push_back(s);
  }
  if (inside) bad("scenario " + out.back().name + " has no 'end'");
  if (out.empty()) Usage(path + ": no scenario");
  return out;
}

// How long an op may take before it is traced as hung (as on the Go side):
// the slowest legitimate op returns within a second.
constexpr auto kJoinLimit = std::chrono::seconds(8);

// The outcome class as Go's side spells it (tests/go_diff/main.go classify).
std::string Classify(int poll_err, int sys_errno) {
  switch (poll_err) {
    case kPollNoError:
      break;
    case kPollErrClosing:
      return "closed";
    case kPollErrTimeout:
      return "timeout";
    case kPollErrNotPollable:
      return "notpollable";
    default:
      return "pollerr=" + std::to_string(poll_err);
  }
  return sys_errno == 0 ? "ok" : "errno=" + std::to_string(sys_errno);
}

std::string ClassifyIo(const IoResult& r, bool is_read) {
  std::string c = Classify(r.poll_err, r.sys_errno);
  // internal/poll's FD.Read returns io.EOF for a 0-byte read (eofError).
  if (c == "ok" && is_read && r.n == 0) c = "eof";
  return c + " n=" + std::to_string(r.n);
}

// The step's timing classes: after= and by= on the scenario's clock (a
// deadline's earliest firing, a precondition), before= on the op's own (it
// returned promptly; load before it started does not count).
std::string Timing(const Step& s, std::chrono::nanoseconds t, std::chrono::nanoseconds took) {
  std::string out;
  // The scenario's precondition failed: the machine was too slow for it
  // (Compare calls the scenario inconclusive).
  if (s.by >= 0 && t >= std::chrono::milliseconds(s.by))
    out += " late(by=" + std::to_string(s.by) + ")";
  if (s.after >= 0)
    out += (t >= std::chrono::milliseconds(s.after) ? " t>=" : " t<") + std::to_string(s.after);
  if (s.before >= 0) {
    out += (took < std::chrono::milliseconds(s.before) ? " took<" : " took>=") +
           std::to_string(s.before);
  }
  return out;
}

// Set when an op outlived its join limit: its Fd and server must then never
// be destroyed, so the run ends with _Exit after the report.
std::atomic<bool> g_hung{false};

// --poller waiter: the variant's waiters poll epoll themselves (issue #17)
// instead of a poller thread relaying readiness. Set before any run starts.
PollerMode g_poller_mode = PollerMode::kDedicatedThread;

template <class V>
class VariantRun {
 public:
  using FdT = RealFd<V>;

  VariantRun() : server_(&poller_) {
    poller_.Attach(&server_);
    if (poller_.Start(g_poller_mode) != g_poller_mode) Internal("the waiter-poller slot is taken");
  }
  ~VariantRun() { poller_.Stop(); }
  VariantRun(const VariantRun&) = delete;
  VariantRun& operator=(const VariantRun&) = delete;

  // The scenarios run concurrently, each on its own pipe (as the Go side
  // does), so a variant takes about as long as its longest scenario.
  std::vector<std::vector<std::string>> RunAll(const std::vector<Scenario>& scs) {
    std::vector<std::vector<std::string>> traces(scs.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < scs.size(); i++) {
      threads.emplace_back([&, i] { traces[i] = Run(scs[i]); });
    }
    for (auto& t : threads) t.join();
    return traces;
  }

 private:
  std::unique_ptr<FdT> Open(int sysfd) {
    int err = 0;
    auto fd = FdT::Open(server_, sysfd, &err);
    if (fd == nullptr) Internal("Fd::Open: errno " + std::to_string(err));
    return fd;
  }

  static int64_t DeadlineNs(const Step& s) {
    constexpr int64_t kMs = 1000000;
    if (s.dl == "zero") return 0;
    if (s.dl == "past") return -1000 * kMs;   // Go side: now - 1 s
    if (s.dl == "far") return 3600000 * kMs;  // Go side: now + 1 h
    return s.dl_ms * kMs;
  }

  // Writes to fd's descriptor until EAGAIN: 4 KiB chunks, then single bytes
  // (so no partial page is left), bypassing the Fd as Go's RawConn does.
  static void Fill(int sysfd) {
    static const std::string kPage(4096, 'f');
    for (std::size_t chunk : {std::size_t{4096}, std::size_t{1}}) {
      for (;;) {
        if (::write(sysfd, kPage.data(), chunk) >= 0) continue;
        if (errno == EINTR) continue;
        if (errno != EAGAIN) Internal(std::string("fill: ") + std::strerror(errno));
        break;
      }
    }
  }

  // Runs one op; returns its outcome class ("" for the untraced fill).
  static std::string Do(const Step& s, FdT* r, FdT* w) {
    FdT* f = s.end == 'r' ? r : w;
    if (s.op == "read") {
      std::vector<char> buf(static_cast<std::size_t>(s.n));
      return ClassifyIo(f->Read(buf.data(), buf.size()), true);
    }
    if (s.op == "write") {
      const std::string data(static_cast<std::size_t>(s.n), 'x');
      return ClassifyIo(f->Write(data.data(), data.size()), false);
    }
    if (s.op == "fill") {
      Fill(f->sysfd());
      return "";
    }
    if (s.op == "close") {
      const int e = f->Close();
      return e < 0 ? Classify(kPollNoError, -e) : Classify(e, 0);
    }
    const int mode = s.op == "rdl"   ? kModeRead
                     : s.op == "wdl" ? kModeWrite
                                     : kModeRead + kModeWrite;
    return Classify(f->SetDeadline(DeadlineNs(s), mode), 0);
  }

  struct Result {
    std::string outcome;
    std::chrono::nanoseconds at;    // when the op returned, since the scenario began
    std::chrono::nanoseconds took;  // how long the op ran
  };
  struct Pending {
    std::future<Result> done;
    std::thread thread;
  };

  // Every op, foreground ones included, runs on its own thread, so an op
  // that never returns is traced as "hang" instead of hanging the run.
  static Pending Launch(const Step& s, FdT* r, FdT* w, std::chrono::steady_clock::time_point t0) {
    std::promise<Result> p;
    Pending out{p.get_future(), {}};
    out.thread = std::thread([&s, r, w, t0, p = std::move(p)]() mutable {
      const auto start = std::chrono::steady_clock::now();
      std::string o = Do(s, r, w);
      const auto end = std::chrono::steady_clock::now();
      p.set_value({std::move(o), end - t0, end - start});
    });
    return out;
  }

  // The op's result, or nullopt when it is still running at the join limit.
  static std::optional<Result> Await(Pending& p) {
    if (p.done.wait_for(kJoinLimit) != std::future_status::ready) return std::nullopt;
    p.thread.join();
    return p.done.get();
  }

  std::vector<std::string> Run(const Scenario& sc) {
    int p[2];
    const int e = sc.socketpair
                      ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p)
                      : pipe2(p, O_NONBLOCK | O_CLOEXEC);
    if (e != 0) Internal(std::string("pipe2/socketpair: ") + std::strerror(errno));
    auto r = Open(p[0]);
    auto w = Open(p[1]);
    std::vector<std::string> lines;
    std::map<std::string, Pending> bg;
    std::map<std::string, std::string> bg_text;
    const auto t0 = std::chrono::steady_clock::now();
    bool hung = false;
    for (std::size_t i = 0; i < sc.steps.size() && !hung; i++) {
      const Step& s = sc.steps[i];
      const std::string prefix = sc.name + "#" + std::to_string(i + 1) + " " + s.text + " =>";
      if (s.op == "sleep" && s.bg.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(s.n));
      } else if (!s.bg.empty()) {
        bg[s.bg] = Launch(s, r.get(), w.get(), t0);
        bg_text[s.bg] = Join(Fields(s.text), 2) + ": ";
      } else {
        Pending fg;
        const bool is_join = !s.join.empty();
        Pending& op = is_join ? bg[s.join] : (fg = Launch(s, r.get(), w.get(), t0));
        const std::string what = prefix + " " + (is_join ? bg_text[s.join] : "");
        if (auto res = Await(op)) {
          if (!res->outcome.empty())
            lines.push_back(what + res->outcome + Timing(s, res->at, res->took));
        } else {
          // The rest of the scenario would queue behind the stuck op: stop
          // here (the comparison reports the steps not traced).
          lines.push_back(what + "hang");
          op.thread.detach();
          hung = true;
        }
      }
    }
    if (hung) {
      // The stuck ops still use both Fds and the server: keep them forever.
      g_hung.store(true, std::memory_order_relaxed);
      for (auto& [id, op] : bg) {
        if (op.thread.joinable()) op.thread.detach();
      }
      (void)r.release();
      (void)w.release();
    }
    return lines;
  }

  RealPoller<V> poller_;
  RealServer<V> server_;
};

// The trace of one variant, keyed by "<scenario>#<step>", in table order.
using Trace = std::vector<std::pair<std::string, std::string>>;

std::string KeyOf(const std::string& line) {
  return line.substr(0, line.find(' '));
}

// Reads a trace file ('#' lines are comments). Exit 2 on a malformed line.
Trace ReadTrace(const std::string& path) {
  std::ifstream in(path);
  if (!in) Usage("cannot read trace " + path);
  Trace t;
  std::set<std::string> seen;
  int line = 0;
  for (std::string l; std::getline(in, l);) {
    line++;
    if (l.empty() || l[0] == '#') continue;
    const std::string key = KeyOf(l);
    if (key.find('#') == std::string::npos || l.find(" => ") == std::string::npos) {
      Usage(path + ":" + std::to_string(line) + ": not a trace line");
    }
    if (!seen.insert(key).second)
      Usage(path + ":" + std::to_string(line) + ": step " + key + " twice");
    t.emplace_back(key, l);
  }
  if (t.empty()) Usage(path + ": empty trace");
  return t;
}

Trace Flatten(const std::vector<std::vector<std::string>>& traces) {
  Trace t;
  for (const auto& sc : traces) {
    for (const auto& l : sc) t.emplace_back(KeyOf(l), l);
  }
  return t;
}

// The scenarios in which some step missed its `by=` precondition ("late").
std::set<std::string> LateScenarios(const Trace& t) {
  std::set<std::string> out;
  for (const auto& [key, line] : t) {
    if (line.find(" late(by=") != std::string::npos) out.insert(key.substr(0, key.find('#')));
  }
  return out;
}

struct Verdict {
  int agree = 0;         // steps traced alike
  int disagree = 0;      // DISAGREE lines printed
  int inconclusive = 0;  // scenarios not judged: a precondition was late on one side
};

// Compares a variant's trace with Go's; prints one DISAGREE line per
// differing, missing or extra step, and one INCONCLUSIVE line per scenario in
// which either side missed a `by=` precondition (the machine was too slow for
// the scenario to test what it says; a hang is never "late").
Verdict Compare(std::string_view variant, const Trace& go, const Trace& port) {
  std::map<std::string, std::string> go_by_key(go.begin(), go.end());
  std::map<std::string, std::string> port_by_key(port.begin(), port.end());
  const std::set<std::string> go_late = LateScenarios(go), port_late = LateScenarios(port);
  const std::string v(variant);
  Verdict out;
  std::set<std::string> skipped;
  auto judged = [&](const std::string& key) {
    const std::string sc = key.substr(0, key.find('#'));
    if (go_late.count(sc) == 0 && port_late.count(sc) == 0) return true;
    if (skipped.insert(sc).second) {
      std::printf(
          "INCONCLUSIVE %s %s: a step missed its by= precondition on %s (machine too slow)\n",
          v.c_str(), sc.c_str(),
          go_late.count(sc) != 0 && port_late.count(sc) != 0 ? "both sides"
          : go_late.count(sc) != 0                           ? "Go's side"
                                                             : "the port's side");
      out.inconclusive++;
    }
    return false;
  };
  auto outcome = [](const std::string& l) { return l.substr(l.find(" => ") + 4); };
  for (const auto& [key, line] : port) {
    if (!judged(key)) continue;
    auto it = go_by_key.find(key);
    if (it == go_by_key.end()) {
      std::printf("DISAGREE %s %s: Go traced no such step; port: %s\n", v.c_str(), key.c_str(),
                  line.c_str());
      out.disagree++;
    } else if (it->second != line) {
      const std::string step = line.substr(key.size() + 1, line.find(" => ") - key.size() - 1);
      std::printf("DISAGREE %s %s (%s): Go '%s', port '%s'\n", v.c_str(), key.c_str(), step.c_str(),
                  outcome(it->second).c_str(), outcome(line).c_str());
      out.disagree++;
    } else {
      out.agree++;
    }
  }
  for (const auto& [key, line] : go) {
    if (port_by_key.count(key) == 0 && judged(key)) {
      std::printf("DISAGREE %s %s: the port traced no such step; Go: %s\n", v.c_str(), key.c_str(),
                  line.c_str());
      out.disagree++;
    }
  }
  return out;
}

// Runs `names` concurrently (each variant has its own server and poller, as
// separate Go processes would) and returns their traces in order.
std::vector<Trace> RunVariants(const std::vector<std::string_view>& names,
                               const std::vector<Scenario>& scs) {
  std::vector<Trace> out(names.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < names.size(); i++) {
    threads.emplace_back([&, i] {
      const bool known = ForVariant(names[i], [&](auto t) {
        using V = typename decltype(t)::type;
        auto* run = new VariantRun<V>;
        out[i] = Flatten(run->RunAll(scs));
        // A hung op may still use this variant's server and poller: then
        // they stay (the run ends with _Exit).
        if (!g_hung.load(std::memory_order_relaxed)) delete run;
      });
      if (!known) Internal("unknown variant");
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

// A throw in the port ends the run (as it would end a Go program): say that
// it is a disagreement before RealEnv::Fatal aborts with its message.
void OnFatal(const char* msg) {
  std::fflush(stdout);
  std::fprintf(stderr,
               "DISAGREE: the port threw '%s'; Go's runtime ran the same table without a throw\n",
               msg);
}

void Help() {
  std::printf(
      "usage: go_diff --scenarios FILE --go-trace FILE [--variant NAME]... [--poller MODE]\n"
      "       go_diff --scenarios FILE --emit FILE [--variant NAME] [--poller MODE]\n"
      "       go_diff --list-variants\n"
      "--poller thread (default: a poller thread) or waiter (the waiters poll epoll\n"
      "themselves; one --variant only, as there is one waiter poller per process).\n"
      "Runs the scenarios through the Fd facade on every variant (or each --variant)\n"
      "and compares each trace with Go's (tests/go_diff/main.go); --emit writes one\n"
      "variant's trace instead. Exit: 0 agree, 1 disagreement, 2 usage, 3 internal.\n");
}

int Main(int argc, char** argv) {
  std::string scenarios, go_trace, emit;
  std::vector<std::string_view> variants;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      Help();
      return 0;
    } else if (a == "--list-variants") {
      for (auto v : kVariantNames) std::printf("%.*s\n", static_cast<int>(v.size()), v.data());
      return 0;
    } else if (a == "--scenarios") {
      scenarios = value();
    } else if (a == "--go-trace") {
      go_trace = value();
    } else if (a == "--emit") {
      emit = value();
    } else if (a == "--poller") {
      const std::string m = value();
      if (m != "thread" && m != "waiter") Usage("--poller takes thread or waiter, not '" + m + "'");
      g_poller_mode = m == "waiter" ? PollerMode::kWaiterPolls : PollerMode::kDedicatedThread;
    } else if (a == "--variant") {
      const std::string v = value();
      bool found = false;
      for (auto k : kVariantNames) {
        if (k == v) {
          variants.push_back(k);
          found = true;
        }
      }
      if (!found) Usage("unknown variant '" + v + "' (" + std::string(kVariantList) + ")");
    } else {
      Usage("unknown option '" + a + "' (--help lists them)");
    }
  }
  if (scenarios.empty()) Usage("--scenarios FILE is required");
  if (go_trace.empty() == emit.empty())
    Usage("give exactly one of --go-trace FILE and --emit FILE");
  if (!emit.empty() && variants.size() > 1) Usage("--emit writes one variant's trace");
  if (g_poller_mode == PollerMode::kWaiterPolls && variants.size() != 1) {
    Usage("--poller waiter runs one --variant (one waiter poller per process)");
  }
  const auto scs = Parse(scenarios);
  // A write to a pipe whose reader is gone must fail with EPIPE, as it does
  // in Go (whose runtime ignores SIGPIPE for descriptors other than 1 and 2).
  std::signal(SIGPIPE, SIG_IGN);
  SetFatalHook(&OnFatal);

  if (!emit.empty()) {
    if (variants.empty()) variants.push_back(kDefaultVariant);
    std::ofstream out(emit);
    if (!out) Usage("cannot write " + emit);
    const Trace t = RunVariants(variants, scs)[0];
    out << "# go_diff trace: port, variant " << variants[0] << ", " << scs.size() << " scenarios\n";
    for (const auto& [key, line] : t) out << line << "\n";
    out.close();
    if (!out) Usage("cannot write " + emit);
    if (g_hung.load()) std::_Exit(0);
    return 0;
  }

  const Trace go = ReadTrace(go_trace);
  if (variants.empty()) variants.assign(kVariantNames.begin(), kVariantNames.end());
  const auto traces = RunVariants(variants, scs);
  int total = 0;
  for (std::size_t i = 0; i < variants.size(); i++) {
    const Verdict v = Compare(variants[i], go, traces[i]);
    std::printf(
        "go_diff: %.*s: %d of %zu traced steps agree with Go (%zu scenarios, %d inconclusive)\n",
        static_cast<int>(variants[i].size()), variants[i].data(), v.agree, go.size(), scs.size(),
        v.inconclusive);
    total += v.disagree;
  }
  std::fflush(stdout);
  const int rc = total == 0 ? 0 : 1;
  if (g_hung.load()) std::_Exit(rc);  // a hung op still runs: no destructors
  return rc;
}

}  // namespace
}  // namespace pollstorm

int main(int argc, char** argv) {
  return pollstorm::Main(argc, argv);
}
