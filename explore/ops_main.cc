// explore/ops_main.cc: `pollstorm-ops`, conversions of the operation language.
//   pollstorm-ops encode-seed fuzz_ops|fuzz_sched IN.txt OUT.bin
//   pollstorm-ops decode-seed fuzz_ops|fuzz_sched IN.bin [OUT.txt]  (a crash file -> text)
// Exit: 0 ok, 2 bad usage or input (named), 3 internal error.
#include <cstdio>
#include <string>
#include <vector>

#include "harness/cli/cli.h"
#include "harness/ops/ops.h"

namespace {

constexpr const char* kUsage = R"(Usage: pollstorm-ops encode-seed fuzz_ops|fuzz_sched IN.txt OUT.bin [--force]
       pollstorm-ops decode-seed fuzz_ops|fuzz_sched IN.bin [OUT.txt] [--force]

encode-seed  a text program (harness/ops/ops.h) -> the target's binary seed;
             refuses a program the binary form cannot hold exactly (more than
             4 threads, durations that are not whole multiples of 10us or out
             of the form's range) instead of changing it
decode-seed  a seed or crash file -> its text program, on stdout or in OUT.txt

  --force    replace an existing OUT (without it an existing OUT is refused)
  --help     this text

Exit status: 0 ok, 2 bad usage or input, 3 internal error.
)";

// Seeds and crash files are small; fuzz_ops takes at most 4 KiB (.options).
constexpr size_t kMaxInput = 16u << 20;

[[noreturn]] void Usage(const std::string& m) {
  std::fprintf(stderr, "pollstorm-ops: %s\nTry 'pollstorm-ops --help'.\n", m.c_str());
  std::exit(2);
}

std::string Slurp(const std::string& path) {
  std::string data;
  if (std::string e = pollstorm::cli::ReadInput(path, kMaxInput, &data); !e.empty()) Usage(e);
  return data;
}

// The output must be writable, must not be the input, and must not exist
// unless --force says so.
void CheckOut(const std::string& in, const std::string& out, bool force) {
  using namespace pollstorm;
  if (std::string e = cli::CheckOutput("OUT", out); !e.empty()) Usage(e);
  if (cli::SameFile(in, out)) Usage("OUT '" + cli::Shown(out) + "' is the input file");
  if (cli::Exists(out) && !force) Usage("OUT '" + cli::Shown(out) + "' exists (--force replaces it)");
}

void Write(const std::string& out, const std::string& data) {
  if (std::string e = pollstorm::cli::WriteOutput(out, data); !e.empty()) {
    std::fprintf(stderr, "pollstorm-ops: internal error: %s\n", e.c_str());
    std::exit(3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pollstorm;
  std::vector<std::string> pos;
  bool force = false;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--force") {
      force = true;
    } else if (a.size() > 1 && a[0] == '-') {
      Usage("unknown option '" + cli::Shown(a) + "'");
    } else {
      pos.push_back(a);
    }
  }
  if (pos.empty()) Usage("expected a command: encode-seed or decode-seed");
  const std::string cmd = pos[0];
  if (cmd != "encode-seed" && cmd != "decode-seed") Usage("unknown command '" + cli::Shown(cmd) + "'");
  if (pos.size() < 2) Usage(cmd + ": expected a target: fuzz_ops or fuzz_sched");
  const std::string target = pos[1];
  if (target != "fuzz_ops" && target != "fuzz_sched") {
    Usage("unknown target '" + cli::Shown(target) + "' (fuzz_ops, fuzz_sched)");
  }
  const bool sched = target == "fuzz_sched";
  if (pos.size() < 3) Usage(cmd + ": expected an input file");
  const std::string in = pos[2];
  if (cmd == "encode-seed") {
    if (pos.size() != 4) {
      Usage(pos.size() < 4 ? "encode-seed: expected OUT.bin after IN.txt"
                           : "unexpected argument '" + cli::Shown(pos[4]) + "'");
    }
    const std::string out = pos[3];
    CheckOut(in, out, force);
    ops::ParseError err;
    auto p = ops::ParseProgram(Slurp(in), &err);
    if (!p) Usage(cli::Shown(in) + ": " + err.ToString());
    if (std::string loss = ops::BinaryLoss(*p); !loss.empty()) Usage(cli::Shown(in) + ": " + loss);
    std::vector<uint8_t> b = ops::EncodeBinary(*p);
    b.erase(b.begin(), b.begin() + 3);  // targets take op triples without the header
    if (sched) {
      const size_t n = b.size() / 3;
      if (n == 0 || n > 24) Usage(cli::Shown(in) + ": fuzz_sched seeds have 1..24 ops, not " + std::to_string(n));
      b.insert(b.begin(), static_cast<uint8_t>(n - 1));
    }
    Write(out, std::string(b.begin(), b.end()));
    return 0;
  }
  // decode-seed
  if (pos.size() > 4) Usage("unexpected argument '" + cli::Shown(pos[4]) + "'");
  const std::string out = pos.size() == 4 ? pos[3] : "";
  if (!out.empty()) CheckOut(in, out, force);
  std::string raw = Slurp(in);
  size_t off = 0, len = raw.size();
  if (sched) {
    if (raw.empty()) Usage(cli::Shown(in) + ": empty (a fuzz_sched input starts with its op count)");
    len = 3 * (static_cast<uint8_t>(raw[0]) % 24 + 1);
    off = 1;
    if (raw.size() < off + len) {
      Usage(cli::Shown(in) + ": shorter than its op count (" + std::to_string(len / 3) + " ops need " +
            std::to_string(off + len) + " bytes, it has " + std::to_string(raw.size()) + ")");
    }
  }
  const std::string ops_part = raw.substr(off, len);
  const ops::Program p =
      ops::DecodeOpTriples(reinterpret_cast<const uint8_t*>(ops_part.data()), ops_part.size());
  std::string text = ops::FormatProgram(p);
  if (sched) text += "# " + std::to_string(raw.size() - off - len) + " schedule bytes follow the ops\n";
  if (out.empty()) {
    std::fputs(text.c_str(), stdout);
  } else {
    Write(out, text);
  }
  return 0;
}
