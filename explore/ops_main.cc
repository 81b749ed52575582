// explore/ops_main.cc: `pollstorm-ops`, conversions of the operation language.
//   pollstorm-ops encode-seed fuzz_ops|fuzz_sched IN.txt OUT.bin
//   pollstorm-ops decode-seed fuzz_ops|fuzz_sched IN.bin      (a crash file -> text)
// Exit: 0 ok, 2 bad usage or input (named), 3 internal error.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "harness/ops/ops.h"

namespace {

[[noreturn]] void Usage(const std::string& m) {
  std::fprintf(stderr,
               "pollstorm-ops: %s\nUsage: pollstorm-ops encode-seed|decode-seed "
               "fuzz_ops|fuzz_sched IN [OUT]\n",
               m.c_str());
  std::exit(2);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Usage("cannot read '" + path + "'");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pollstorm;
  if (argc < 4) Usage("missing arguments");
  const std::string cmd = argv[1], target = argv[2], in = argv[3];
  if (target != "fuzz_ops" && target != "fuzz_sched") Usage("unknown target '" + target + "'");
  const bool sched = target == "fuzz_sched";
  if (cmd == "encode-seed") {
    if (argc != 5) Usage("encode-seed needs IN.txt OUT.bin");
    ops::ParseError err;
    auto p = ops::ParseProgram(Slurp(in), &err);
    if (!p) Usage(in + ": " + err.ToString());
    std::vector<uint8_t> b = ops::EncodeBinary(*p);
    b.erase(b.begin(), b.begin() + 3);  // targets take op triples without the header
    if (sched) {
      const size_t n = b.size() / 3;
      if (n == 0 || n > 24) Usage(in + ": fuzz_sched seeds have 1..24 ops");
      b.insert(b.begin(), static_cast<uint8_t>(n - 1));
    }
    std::ofstream out(argv[4], std::ios::binary);
    if (!out) Usage("cannot write '" + std::string(argv[4]) + "'");
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return 0;
  }
  if (cmd == "decode-seed") {
    std::string raw = Slurp(in);
    size_t off = 0, len = raw.size();
    if (sched) {
      if (raw.empty()) Usage(in + ": empty");
      len = 3 * (static_cast<uint8_t>(raw[0]) % 24 + 1);
      off = 1;
      if (raw.size() < off + len) Usage(in + ": shorter than its op count");
    }
    const std::string ops_part = raw.substr(off, len);
    const ops::Program p =
        ops::DecodeOpTriples(reinterpret_cast<const uint8_t*>(ops_part.data()), ops_part.size());
    std::fputs(ops::FormatProgram(p).c_str(), stdout);
    if (sched) std::printf("# %zu schedule bytes follow the ops\n", raw.size() - off - len);
    return 0;
  }
  Usage("unknown command '" + cmd + "'");
}
