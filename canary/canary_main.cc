// canary/canary_main.cc: `pollstorm-canary`, the litmus canary's
// command line (the runner is harness/canary/canary.cc; this is its only main()).
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "harness/canary/canary.h"
#include "harness/cli/cli.h"

namespace {

constexpr const char* kUsage = R"(Usage: pollstorm-canary [options]

Runs litmus tests on two real threads and prints which outcomes this platform
shows, against what C++ (C11) allows: SB, MP, LB, 2+2W with relaxed atomics;
SB with seq_cst stores and loads (SB+sc), with seq_cst fences (SB+fence),
with exchange stores (SB+xchg), and PatternB: the port's close/timeout
handshake as polldesc/poll_desc.h writes it (closer: store, fence, load;
waiter: CAS, load).

  --instances N          instances per test (default 1000000)
  --batch N              instances per array between resets (default 10000)
  --tests LIST           comma-separated tests to run (default: all):
                         SB,MP,LB,2+2W,SB+sc,SB+fence,SB+xchg,PatternB
  --no-pin               do not pin the two threads to two CPUs (by default
                         they are, when the system allows it)
  --json PATH            also write the results as JSON to PATH
  --strict               exit 1 if an outcome C11 forbids was seen, except in
                         the tests named by --allow-forbidden
  --allow-forbidden LIST tests whose forbidden outcomes this platform is known
                         to show (e.g. SB+sc under QEMU 7.2 on x86-64)
  --help                 this text

Exit status: 0 ran and printed the table (also when forbidden outcomes were
seen, unless --strict); 1 --strict and a forbidden outcome outside
--allow-forbidden; 2 bad usage; 3 internal error.
)";

[[noreturn]] void Usage(const std::string& msg) {
  std::fprintf(stderr, "pollstorm-canary: %s\nTry 'pollstorm-canary --help'.\n", msg.c_str());
  std::exit(2);
}

bool ParseU64(const std::string& s, uint64_t* out) {
  const std::optional<uint64_t> v = pollstorm::cli::ParseUint(s, 0, UINT64_MAX);
  if (v) *out = *v;
  return v.has_value();
}

std::vector<std::string> ParseTestList(const std::string& opt, const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string name = list.substr(start, comma - start);
    bool known = false;
    for (const auto& t : pollstorm::canary::TestNames()) known |= t == name;
    if (!known) {
      Usage("unknown test '" + pollstorm::cli::Shown(name) + "' in " + opt +
            " (known: SB, MP, LB, 2+2W, SB+sc, SB+fence, SB+xchg, PatternB)");
    }
    out.push_back(name);
    start = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pollstorm::canary;
  Options opt;
  std::string json_path;
  bool strict = false;
  std::vector<std::string> allow;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage("option " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--instances") {
      const std::string v = value();
      if (!ParseU64(v, &opt.instances) || opt.instances == 0 || opt.instances > 10000000000ull) {
        Usage("--instances takes 1..1e10, not '" + pollstorm::cli::Shown(v) + "'");
      }
    } else if (a == "--batch") {
      const std::string v = value();
      if (!ParseU64(v, &opt.batch) || opt.batch == 0 || opt.batch > 100000000) {
        Usage("--batch takes 1..1e8, not '" + pollstorm::cli::Shown(v) + "'");
      }
    } else if (a == "--tests") {
      opt.tests = ParseTestList(a, value());
    } else if (a == "--allow-forbidden") {
      allow = ParseTestList(a, value());
    } else if (a == "--no-pin") {
      opt.pin = false;
    } else if (a == "--strict") {
      strict = true;
    } else if (a == "--json") {
      json_path = value();
      // Checked, not created: a later bad option leaves no empty file.
      if (std::string e = pollstorm::cli::CheckOutput("--json", json_path); !e.empty()) Usage(e);
    } else {
      Usage("unknown option '" + pollstorm::cli::Shown(a) + "'");
    }
  }

  Platform platform;
  std::vector<TestResult> results;
  std::string error;
  if (!RunTests(opt, &platform, &results, &error)) {
    std::fprintf(stderr, "pollstorm-canary: internal error: %s\n", error.c_str());
    return 3;
  }
  std::fputs(FormatTable(platform, results).c_str(), stdout);
  std::fflush(stdout);
  if (!json_path.empty()) {
    if (std::string e = pollstorm::cli::WriteOutput(json_path, FormatJson(platform, opt, results));
        !e.empty()) {
      std::fprintf(stderr, "pollstorm-canary: internal error: %s\n", e.c_str());
      return 3;
    }
  }
  if (strict) {
    int bad = 0;
    for (const auto& r : results) {
      if (r.ForbiddenCount() == 0) continue;
      if (std::find(allow.begin(), allow.end(), r.name) != allow.end()) {
        std::printf("strict: %s forbidden outcome seen, allowed on this platform (--allow-forbidden)\n",
                    r.name.c_str());
        continue;
      }
      std::printf("strict: FAIL: %s forbidden outcome seen %llu times\n", r.name.c_str(),
                  static_cast<unsigned long long>(r.ForbiddenCount()));
      bad++;
    }
    if (bad) return 1;
    std::printf("strict: OK\n");
  }
  return 0;
}
