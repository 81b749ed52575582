// stress/storm_main.cc: `pollstorm-storm`, the storm runner's command line and
// supervisor.
//
// The supervisor re-executes this binary with --worker and reads its output:
// protocol lines on stdout (storm.h), TSan reports and the runtime's throws on
// stderr. It deduplicates findings by signature, shows progress, kills a
// worker that overruns its budget (never a silent hang), and prints the human
// and JSON summaries. Exit: 0 clean, 1 findings, 2 usage, 3 internal error.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness/cli/cli.h"
#include "harness/findings/finding.h"
#include "polldesc/real_env.h"
#include "polldesc/variants.h"
#include "stress/storm.h"

namespace pollstorm::storm {
namespace {

constexpr const char* kUsage = R"(Usage: pollstorm-storm [options]

Drives real pollDescs from many threads with random operations and checks
every result online (see README "Storms").

  --variant NAME        legacy, seed, fixed or tip (default fixed)
  --profile NAME        op mix: mixed, ready, deadline, reuse, io (default mixed)
  --seed N              seed for the op choices (default 1)
  --threads N           threads, 2..64 (default 8; half wait, half act)
  --descriptors N       descriptors, 1..16 (default 4)
  --duration T          how long: 30, 30s, 2m, 1h (default 10s)
  --ops N               stop after N pollDesc operations (default: no limit)
  --weight-OP N         override one op weight; OP is ready, everr, deadline,
                        reopen or io (e.g. --weight-reopen 50)
  --watchdog-ms N       wake-obligation bound in ms (default 3000)
  --poller MODE         the io profile's poll loop: thread (a poller thread,
                        the default) or waiter (a waiter about to park polls
                        epoll itself)
  --fdseq-start N       every descriptor's fdseq starts at N (tip; masked to
                        25 bits): e.g. 65530 crosses the info word's 16-bit
                        field within a few reuses
  --seq-start N         rseq and wseq start at N: e.g. 18446744073709551600
                        crosses 2^64 within a few reuses
  --history N           record up to N ops per thread for the history check
                        after the run (default 250000; 0: off; not for io)
  --stop-on-first       end at the first finding (for time-to-detect)
  --json PATH           write the JSON summary (with findings) to PATH
  --findings PATH       append one JSON line per distinct finding to PATH
  --sarif PATH          write the findings as SARIF 2.1.0 to PATH (known ones,
                        corpus/known-findings.txt or $POLLSTORM_KNOWN_FINDINGS,
                        marked unchanged and suppressed)
  --drop-wake N         TEST ONLY: drop the Nth wake a notifier owes (a
                        deliberately lost wakeup, to check the watchdog)
  --list-profiles       print the profiles and exit
  --help                this text

Exit status: 0 clean, 1 findings, 2 bad usage, 3 internal error.
)";

[[noreturn]] void Usage(const std::string& msg) {
  std::fprintf(stderr, "pollstorm-storm: %s\nTry 'pollstorm-storm --help'.\n", msg.c_str());
  std::exit(2);
}

// Strict decimal in [lo, hi] (cli::ParseUint): "4294967296" must not wrap
// to 0 in an int field.
bool ParseU64(const std::string& s, uint64_t* out, uint64_t lo = 0, uint64_t hi = UINT64_MAX) {
  const std::optional<uint64_t> v = cli::ParseUint(s, lo, hi);
  if (v) *out = *v;
  return v.has_value();
}

bool ParseDurationS(const std::string& s, double* out) {
  if (s.empty()) return false;
  double scale = 1;
  std::string num = s;
  const char last = s.back();
  if (last == 's') num.pop_back();
  else if (last == 'm') { scale = 60; num.pop_back(); }
  else if (last == 'h') { scale = 3600; num.pop_back(); }
  char* end = nullptr;
  const double v = std::strtod(num.c_str(), &end);
  if (num.empty() || end != num.c_str() + num.size() || !(v > 0) || v > 1e7) return false;
  *out = v * scale;
  return true;
}

struct Cli {
  StormConfig cfg;
  bool worker = false;
  std::string json_path, findings_path, sarif_path;
  std::set<std::string> known;   // corpus/known-findings.txt, for --sarif
  std::vector<std::string> raw;  // the arguments, for the worker
};

Cli ParseArgs(int argc, char** argv) {
  Cli cli;
  std::array<int, kNumActorOps> overrides;
  overrides.fill(-1);
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage("option " + a + " needs a value");
      cli.raw.push_back(a);
      cli.raw.push_back(argv[i + 1]);
      return argv[++i];
    };
    uint64_t n = 0;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--list-profiles") {
      for (const auto& p : kProfiles) std::printf("%-9s %s\n", p.name, p.description);
      std::exit(0);
    } else if (a == "--worker") {
      cli.worker = true;
    } else if (a == "--variant") {
      cli.cfg.variant = value();
      bool known = false;
      for (auto v : kVariantNames) known |= v == cli.cfg.variant;
      if (!known) {
        Usage("unknown variant '" + cli::Shown(cli.cfg.variant) + "' (known: " + std::string(kVariantList) + ")");
      }
    } else if (a == "--profile") {
      const std::string p = value();
      cli.cfg.profile = nullptr;
      for (const auto& pr : kProfiles) {
        if (p == pr.name) cli.cfg.profile = &pr;
      }
      if (!cli.cfg.profile) Usage("unknown profile '" + cli::Shown(p) + "' (see --list-profiles)");
    } else if (a == "--poller") {
      const std::string m = value();
      if (m != "thread" && m != "waiter") Usage("--poller takes thread or waiter, not '" + cli::Shown(m) + "'");
      cli.cfg.waiter_polls = m == "waiter";
    } else if (a == "--seed") {
      if (!ParseU64(value(), &cli.cfg.seed)) Usage("--seed takes a whole number, not '" + cli::Shown(argv[i]) + "'");
    } else if (a == "--threads") {
      if (!ParseU64(value(), &n) || n < 2 || n > 64) Usage("--threads takes 2..64, not '" + cli::Shown(argv[i]) + "'");
      cli.cfg.threads = static_cast<int>(n);
    } else if (a == "--descriptors") {
      if (!ParseU64(value(), &n) || n < 1 || n > 16) Usage("--descriptors takes 1..16, not '" + cli::Shown(argv[i]) + "'");
      cli.cfg.descriptors = static_cast<int>(n);
    } else if (a == "--duration") {
      if (!ParseDurationS(value(), &cli.cfg.duration_s)) Usage("--duration takes a time like 30s, 2m or 1h, not '" + cli::Shown(argv[i]) + "'");
    } else if (a == "--ops") {
      if (!ParseU64(value(), &cli.cfg.max_ops) || cli.cfg.max_ops == 0) Usage("--ops takes a positive number, not '" + cli::Shown(argv[i]) + "'");
    } else if (a == "--history") {
      if (!ParseU64(value(), &cli.cfg.history_ops) || cli.cfg.history_ops > 20000000) Usage("--history takes 0..20000000 (ops recorded per thread), not '" + cli::Shown(argv[i]) + "'");
    } else if (a == "--fdseq-start") {
      if (!ParseU64(value(), &cli.cfg.fdseq_start)) Usage("--fdseq-start takes an unsigned 64-bit number, not '" + cli::Shown(argv[i]) + "'");
    } else if (a == "--seq-start") {
      if (!ParseU64(value(), &cli.cfg.seq_start)) Usage("--seq-start takes an unsigned 64-bit number, not '" + cli::Shown(argv[i]) + "'");
    } else if (a == "--watchdog-ms") {
      if (!ParseU64(value(), &n) || n < 10 || n > 600000) Usage("--watchdog-ms takes 10..600000, not '" + cli::Shown(argv[i]) + "'");
      cli.cfg.watchdog_ms = static_cast<int>(n);
    } else if (a == "--progress-ms") {
      if (!ParseU64(value(), &n, 10, 3600000)) Usage("--progress-ms takes 10..3600000, not '" + cli::Shown(argv[i]) + "'");
      cli.cfg.progress_ms = static_cast<int>(n);
    } else if (a == "--drop-wake") {
      if (!ParseU64(value(), &cli.cfg.drop_wake, 1)) Usage("--drop-wake takes a positive number, not '" + cli::Shown(argv[i]) + "'");
    } else if (a == "--stop-on-first") {
      cli.cfg.stop_on_first = true;
      cli.raw.push_back(a);
    } else if (a == "--json") {
      cli.json_path = value();
    } else if (a == "--sarif") {
      cli.sarif_path = value();
    } else if (a == "--findings") {
      cli.findings_path = value();
    } else if (a.rfind("--weight-", 0) == 0) {
      const std::string op = a.substr(9);
      int k = -1;
      for (int j = 0; j < kNumActorOps; j++) {
        if (op == kActorOpNames[j]) k = j;
      }
      if (k < 0) {
        Usage("unknown op in '" + cli::Shown(a) +
              "' (ops: ready, everr, deadline, reopen, io, hangup, drain)");
      }
      if (!ParseU64(value(), &n) || n > 1000) Usage(a + " takes 0..1000, not '" + cli::Shown(argv[i]) + "'");
      overrides[k] = static_cast<int>(n);
    } else {
      Usage("unknown option '" + cli::Shown(a) + "'");
    }
  }
  cli.cfg.weights = cli.cfg.profile->weights;
  for (int k = 0; k < kNumActorOps; k++) {
    if (overrides[k] >= 0) cli.cfg.weights[k] = overrides[k];
  }
  for (int k : {kActIo, kActHangup, kActDrain}) {
    if (!cli.cfg.profile->io && cli.cfg.weights[k] > 0) {
      Usage("--weight-" + std::string(kActorOpNames[k]) +
            " needs --profile io or pipes (only they have pipes)");
    }
  }
  if (!cli.cfg.profile->io && cli.cfg.waiter_polls) {
    Usage("--poller waiter needs --profile io (only it has a poll loop)");
  }
  int total = 0;
  for (int w : cli.cfg.weights) total += w;
  if (total == 0) Usage("every op weight is 0: nothing to do");
  return cli;
}

// ---- supervisor ----

double Seconds() { return RealEnv::Nanotime() / 1e9; }

std::atomic<bool> g_interrupted{false};
void OnInterrupt(int) { g_interrupted.store(true, std::memory_order_relaxed); }

// The value of "key":"..." or "key":number in a flat JSON line we wrote.
std::string JsonField(const std::string& j, const std::string& key) {
  const std::string k = "\"" + key + "\":";
  size_t p = j.find(k);
  if (p == std::string::npos) return "";
  p += k.size();
  if (j[p] != '"') {
    size_t e = j.find_first_of(",}", p);
    return j.substr(p, e - p);
  }
  std::string out;
  for (size_t i = p + 1; i < j.size(); i++) {
    if (j[i] == '\\' && i + 1 < j.size()) {
      const char c = j[++i];
      out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    } else if (j[i] == '"') {
      break;
    } else {
      out += j[i];
    }
  }
  return out;
}

// "pollstorm::PollDesc<pollstorm::RealEnv, pollstorm::Legacy>::NetpollUnblock(int, bool)"
// -> "PollDesc::NetpollUnblock"
std::string ShortFunction(const std::string& f) {
  std::string out;
  int depth = 0;
  for (char c : f) {
    if (c == '<') depth++;
    else if (c == '>') depth--;
    else if (c == '(' && depth == 0) break;
    else if (depth == 0) out += c;
  }
  for (const char* ns : {"pollstorm::", "(anonymous namespace)::"}) {
    for (size_t p; (p = out.find(ns)) != std::string::npos;) out.erase(p, std::strlen(ns));
  }
  return out;
}

// The first frame of the port in one stack, skipping the accessor helpers:
// its function (short name) and its source line (for SARIF).
SourceSite SutFrame(const std::vector<std::string>& frames) {
  static const char* kHelpers[] = {"SlotLoad", "SlotStore", "SlotCas", "SlotSwap", "InfoLoad",
                                   "InfoStore", "InfoLoadLocked", "RealShared", "atomic"};
  for (const std::string& line : frames) {
    if (line.find("/polldesc/") == std::string::npos) continue;
    const size_t s = line.find(' ', line.find('#'));
    const size_t e = line.rfind(" /");
    if (s == std::string::npos || e == std::string::npos || e <= s) continue;
    const std::string fn = ShortFunction(line.substr(s + 1, e - s - 1));
    bool helper = false;
    for (const char* h : kHelpers) helper |= fn.find(h) != std::string::npos;
    if (!helper) return TsanFrameSite(line, fn);
  }
  return SourceSite{"", 0, "?"};
}

Finding TsanFinding(const std::vector<std::string>& block, const std::string& variant,
                    uint64_t seed, double after) {
  Finding f;
  std::string type = "tsan";
  const std::string& head = block[0];
  if (size_t p = head.find("ThreadSanitizer: "); p != std::string::npos) {
    type = head.substr(p + 17);
    if (size_t q = type.find(" ("); q != std::string::npos) type.resize(q);
  }
  f.kind = type == "data race" ? "data-race" : "tsan-" + type;
  for (char& c : f.kind) c = c == ' ' ? '-' : c;
  // Split into access stacks: lines "  Read of ...", "  Previous write ...", etc.
  std::vector<std::pair<std::string, std::vector<std::string>>> stacks;
  for (size_t i = 1; i < block.size(); i++) {
    const std::string& l = block[i];
    if (l.find("  Location is") == 0 || l.find("  Mutex") == 0 || l.find("  Thread") == 0) break;
    if (l.size() > 2 && l[0] == ' ' && l[1] == ' ' && l[2] != ' ' && l.find(" at ") != std::string::npos) {
      stacks.push_back({l.substr(2), {}});
    } else if (!stacks.empty() && l.find("    #") == 0) {
      stacks.back().second.push_back(l);
    }
  }
  std::vector<std::string> sites;
  std::string msg = type;
  for (auto& [what, frames] : stacks) {
    SourceSite site = SutFrame(frames);
    const std::string fn = site.function;
    sites.push_back(fn);
    if (!site.file.empty()) f.sites.push_back(std::move(site));
    std::string w = what.substr(0, what.find(" at "));
    msg += (msg == type ? ": " : " vs ") + w + " in " + fn;
  }
  std::sort(sites.begin(), sites.end());
  f.signature = f.kind + ":" + variant;
  for (const auto& s : sites) f.signature += ":" + s;
  f.message = msg;
  f.variant = variant;
  f.seed = seed;
  f.after_s = after;
  for (size_t i = 0; i < block.size() && i < 80; i++) {
    std::string l = block[i];
    if (size_t b = l.find(" (BuildId"); b != std::string::npos) l.resize(b);
    f.detail += l + "\n";
  }
  return f;
}

struct Supervisor {
  explicit Supervisor(Cli& c) : cli(c) {}
  Cli& cli;
  std::vector<Finding> findings;
  std::set<std::string> seen;
  std::map<std::string, int> repeats;
  std::string summary_json;
  double t0 = Seconds();
  uint64_t last_ops = 0;
  double last_t = 0;

  void Add(Finding f) {
    if (!seen.insert(f.signature).second) {
      repeats[f.signature]++;
      return;
    }
    std::fprintf(stderr, "\n%s", FindingToHuman(f).c_str());
    if (!cli.findings_path.empty()) {
      std::ofstream o(cli.findings_path, std::ios::app);
      o << FindingToJson(f) << "\n";
    }
    findings.push_back(std::move(f));
  }

  void OnStdout(const std::string& line) {
    if (line.rfind("PROGRESS\t", 0) == 0) {
      double t = 0;
      unsigned long long ops = 0, nf = 0;
      if (std::sscanf(line.c_str() + 9, "%lf\t%llu\t%llu", &t, &ops, &nf) == 3) {
        const double rate = t > last_t ? (ops - last_ops) / (t - last_t) : 0;
        std::fprintf(stderr, "[%7.1fs] %12llu ops  %9.0f ops/s  findings: %zu\n", t, ops, rate,
                     findings.size());
        last_ops = ops;
        last_t = t;
      }
    } else if (line.rfind("FINDING\t", 0) == 0) {
      const std::string j = line.substr(8);
      Finding f;
      f.kind = JsonField(j, "kind");
      f.message = JsonField(j, "message");
      f.signature = JsonField(j, "signature");
      f.variant = JsonField(j, "variant");
      f.seed = std::strtoull(JsonField(j, "seed").c_str(), nullptr, 10);
      f.after_s = std::strtod(JsonField(j, "after_s").c_str(), nullptr);
      f.repro = JsonField(j, "repro");
      f.detail = JsonField(j, "detail");
      Add(std::move(f));
    } else if (line.rfind("SUMMARY\t", 0) == 0) {
      summary_json = line.substr(8);
    } else if (!line.empty()) {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }

  std::vector<std::string> tsan_block;
  bool in_tsan = false;
  void OnStderr(const std::string& line) {
    if (line.find("WARNING: ThreadSanitizer:") != std::string::npos) {
      in_tsan = true;
      tsan_block.clear();
    }
    if (in_tsan) {
      if (line.rfind("==================", 0) == 0 && !tsan_block.empty()) {
        Finding f = TsanFinding(tsan_block, cli.cfg.variant, cli.cfg.seed, Seconds() - t0);
        f.repro = Repro();
        Add(std::move(f));
        in_tsan = false;
      } else if (line.rfind("==================", 0) != 0) {
        tsan_block.push_back(line);
      }
      return;
    }
    if (line.rfind("ThreadSanitizer: reported", 0) == 0 || line.rfind("fatal error: ", 0) == 0) {
      return;  // counted already (the worker's FINDING line carries the throw)
    }
    std::fprintf(stderr, "%s\n", line.c_str());
  }

  std::string Repro() const {
    return "scripts/pollstorm storm --variant " + cli.cfg.variant + " --seed " +
           std::to_string(cli.cfg.seed) + " --threads " + std::to_string(cli.cfg.threads) +
           " --descriptors " + std::to_string(cli.cfg.descriptors) + " --profile " +
           cli.cfg.profile->name + (cli.cfg.waiter_polls ? " --poller waiter" : "");
  }
};

int Supervise(Cli& cli, const char* self) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    std::perror("pollstorm-storm: pipe");
    return 3;
  }
  std::vector<std::string> args = {self, "--worker"};
  args.insert(args.end(), cli.raw.begin(), cli.raw.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string tsan = "TSAN_OPTIONS=halt_on_error=0 report_signal_unsafe=0 history_size=4 ";
  if (const char* old = std::getenv("TSAN_OPTIONS")) tsan += old;
  std::fprintf(stderr,
               "pollstorm storm: variant=%s profile=%s seed=%llu threads=%d descriptors=%d "
               "duration=%gs watchdog=%dms\n",
               cli.cfg.variant.c_str(), cli.cfg.profile->name,
               static_cast<unsigned long long>(cli.cfg.seed), cli.cfg.threads,
               cli.cfg.descriptors, cli.cfg.duration_s, cli.cfg.watchdog_ms);
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("pollstorm-storm: fork");
    return 3;
  }
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    putenv(tsan.data());
    execv("/proc/self/exe", argv.data());
    std::perror("pollstorm-storm: exec");
    _exit(3);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  // Ctrl-C asks the worker to stop gracefully (it still drains and summarises).
  signal(SIGINT, &OnInterrupt);
  bool stop_sent = false;
  Supervisor sup{cli};
  // The worker ends within duration + its drain bounds; past this it is a
  // harness hang, and it is killed rather than waited for.
  const double kill_at = sup.t0 + cli.cfg.duration_s + 5.0 * cli.cfg.watchdog_ms / 1000 + 30;
  std::string buf[2];
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  bool killed = false;
  while (open_fds > 0) {
    const int r = poll(fds, 2, 200);
    if (r < 0 && errno != EINTR) break;
    const bool want_stop = g_interrupted.load(std::memory_order_relaxed) ||
                           (cli.cfg.stop_on_first && !sup.findings.empty());
    if (want_stop && !stop_sent) {
      kill(pid, SIGUSR1);
      stop_sent = true;
    }
    if (Seconds() > kill_at && !killed) {
      std::fprintf(stderr, "pollstorm-storm: worker overran its budget; killing it\n");
      kill(pid, SIGKILL);
      killed = true;
    }
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char tmp[65536];
      const ssize_t n = read(fds[i].fd, tmp, sizeof tmp);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
        continue;
      }
      buf[i].append(tmp, static_cast<size_t>(n));
      for (size_t nl; (nl = buf[i].find('\n')) != std::string::npos;) {
        const std::string line = buf[i].substr(0, nl);
        buf[i].erase(0, nl + 1);
        if (i == 0) sup.OnStdout(line);
        else sup.OnStderr(line);
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);

  // ---- summary ----
  const bool crashed = WIFSIGNALED(status);
  const int wcode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::printf("\n== storm summary ==\n");
  std::printf("variant %s, profile %s, seed %llu, %d threads, %d descriptors\n",
              cli.cfg.variant.c_str(), cli.cfg.profile->name,
              static_cast<unsigned long long>(cli.cfg.seed), cli.cfg.threads, cli.cfg.descriptors);
  if (!sup.summary_json.empty()) {
    const std::string& j = sup.summary_json;
    std::printf("ops %s in %s s (%s ops/s)\n", JsonField(j, "ops").c_str(),
                JsonField(j, "elapsed_s").c_str(), JsonField(j, "ops_per_s").c_str());
    const size_t r = j.find("\"results\":");
    const size_t t = j.find("\"timeouts\":");
    if (r != std::string::npos) {
      std::printf("results %s\n", j.substr(r + 10, j.find('}', r) - r - 9).c_str());
    }
    if (t != std::string::npos) {
      std::printf("timeouts %s\n", j.substr(t + 11, j.find('}', t) - t - 10).c_str());
    }
    if (size_t h = j.find("\"history\":{"); h != std::string::npos) {
      const std::string hj = j.substr(h + 10, j.find('}', h) - h - 9);
      std::printf("history check: %s of %s recorded ops in %s s, %s objects (%s unchecked), "
                  "truncated %s\n",
                  JsonField(hj, "checked_ops").c_str(), JsonField(hj, "recorded").c_str(),
                  JsonField(hj, "check_s").c_str(), JsonField(hj, "objects").c_str(),
                  JsonField(hj, "unchecked_objects").c_str(), JsonField(hj, "truncated").c_str());
    }
    if (size_t k = j.find("\"ops_by_kind\":"); k != std::string::npos) {
      std::printf("ops by kind %s\n", j.substr(k + 14, j.find('}', k) - k - 13).c_str());
    }
    if (size_t k = j.find("\"pipes\":"); k != std::string::npos && sup.summary_json.find("\"profile\":\"io\"") != std::string::npos) {
      std::printf("pipes %s\n", j.substr(k + 8, j.find('}', k) - k - 7).c_str());
    }
    // Wake latency: bucket b holds latencies in [2^(b-1), 2^b) us.
    if (size_t h = j.find("\"wake_latency_log2us\":["); h != std::string::npos) {
      std::string line;
      size_t p = h + 23;
      for (int b = 0; p < j.size() && j[p] != ']'; b++) {
        const size_t e = j.find_first_of(",]", p);
        const std::string n = j.substr(p, e - p);
        if (n != "0") line += " <" + std::to_string(1 << b) + "us:" + n;
        p = j[e] == ',' ? e + 1 : e;
      }
      std::printf("wake latency%s\n", line.c_str());
    }
  } else {
    std::printf("the worker ended without a summary (%s)\n",
                killed ? "killed after overrunning" : crashed ? strsignal(WTERMSIG(status)) : "exit");
  }
  if (sup.findings.empty()) {
    std::printf("findings: none\n");
  } else {
    std::printf("findings: %zu distinct\n", sup.findings.size());
    for (const auto& f : sup.findings) {
      const int rep = sup.repeats.count(f.signature) ? sup.repeats[f.signature] : 0;
      std::printf("  %-16s after %7.3f s  %s%s\n", f.kind.c_str(), f.after_s, f.message.c_str(),
                  rep ? (" (+" + std::to_string(rep) + " repeats)").c_str() : "");
    }
  }
  if (!cli.json_path.empty()) {
    std::string o = "{\"storm\":" + (sup.summary_json.empty() ? std::string("null") : sup.summary_json) +
                    ",\"worker_exit\":" + std::to_string(wcode) +
                    ",\"killed\":" + (killed ? "true" : "false") + ",\"findings\":[";
    for (size_t i = 0; i < sup.findings.size(); i++) {
      o += (i ? "," : "") + FindingToJson(sup.findings[i]);
    }
    o += "]}\n";
    // Through a temporary file: a reader (the nightly) never sees half a summary.
    if (std::string e = cli::WriteOutput(cli.json_path, o); !e.empty()) {
      std::fprintf(stderr, "pollstorm-storm: cannot write --json: %s\n", e.c_str());
      return 3;
    }
  }
  if (!cli.sarif_path.empty()) {
    if (std::string e = cli::WriteOutput(cli.sarif_path,
                                         FindingsToSarif("pollstorm-storm", sup.findings, cli.known));
        !e.empty()) {
      std::fprintf(stderr, "pollstorm-storm: cannot write --sarif: %s\n", e.c_str());
      return 3;
    }
  }
  if (!sup.findings.empty()) return 1;
  if (killed || crashed || sup.summary_json.empty()) return 3;
  return wcode == 0 ? 0 : 3;
}

}  // namespace
}  // namespace pollstorm::storm

int main(int argc, char** argv) {
  using namespace pollstorm::storm;
  Cli cli = ParseArgs(argc, argv);
  // Checked, not created: a later bad option must leave no empty file behind.
  if (!cli.json_path.empty()) {
    if (std::string e = pollstorm::cli::CheckOutput("--json", cli.json_path); !e.empty()) Usage(e);
  }
  if (!cli.findings_path.empty()) {
    if (std::string e = pollstorm::cli::CheckOutput("--findings", cli.findings_path); !e.empty()) Usage(e);
  }
  if (!cli.sarif_path.empty() && !cli.worker) {
    if (std::string e = pollstorm::cli::CheckOutput("--sarif", cli.sarif_path); !e.empty()) Usage(e);
    const std::string known = pollstorm::DefaultKnownFindingsPath();
    if (std::string e = pollstorm::LoadKnownSignatures(known, &cli.known); !e.empty()) {
      Usage("the known findings list (for --sarif): " + e);
    }
  }
  if (cli.worker) return RunStormWorker(cli.cfg);
  return Supervise(cli, argv[0]);
}
