// stress/storm_dump.h: what a storm finding carries. Dump prints the
// descriptor's state (rg/wg as nil/READY/WAIT/G, closing, everr, deadlines,
// seqs, armed timers, from PollDesc::DebugSnapshot) and every thread's last
// events, oldest first, in the operation language; Repro the one-line command;
// Report sends the finding (harness/findings' shape) to stdout for the
// supervisor.
//
// Limits: the dump is read while the storm runs (relaxed loads of the rings,
// and DebugSnapshot's relaxed, unlocked reads that TSan is told to ignore),
// so it is a picture of about that moment, not an atomic one; the repro fixes
// the operations' seeds, not the interleaving.
#pragma once

#include "stress/storm_state.h"

namespace pollstorm::storm {
// Unnamed: these headers are parts of storm_worker.cc, its one translation
// unit; nothing here has external linkage.
namespace {

template <class V>
std::string Storm<V>::Dump(int si) const {
  std::string o;
  char buf[256];
  if (si >= 0) {
    const Slot<V>& s = slots_[si];
    const auto st = s.pd.load(kRelaxed)->DebugSnapshot();
    auto slot_name = [](uintptr_t v) {
      return v == kPdNil ? std::string("nil") : v == kPdReady ? std::string("READY")
             : v == kPdWait ? std::string("WAIT") : std::string("G");
    };
    std::snprintf(buf, sizeof buf,
                  "descriptor d%d (incarnation %" PRIu64 "): rg=%s wg=%s closing=%d everr=%d "
                  "rd=%" PRId64 " wd=%" PRId64 " rseq=%" PRIuPTR " wseq=%" PRIuPTR
                  " rt_armed=%d wt_armed=%d",
                  si, s.inc.load(kRelaxed), slot_name(st.rg).c_str(), slot_name(st.wg).c_str(),
                  st.closing, st.everr, st.rd, st.wd, st.rseq, st.wseq, st.rt_armed,
                  st.wt_armed);
    o += buf;
    o += "\n";
  }
  o += "recent events per thread (oldest first; times relative to the dump):\n";
  const int64_t now = Now();
  for (size_t t = 0; t < logs_.size(); t++) {
    const ThreadLog& l = logs_[t];
    const uint64_t n = l.next.load(kRelaxed);
    if (n == 0) continue;
    o += "thread " + std::to_string(t) + " (" + l.role + "):\n";
    for (uint64_t i = n > kRingSize ? n - kRingSize : 0; i < n; i++) {
      const Event& e = l.ring[i % kRingSize];
      const uint64_t p = e.packed.load(kRelaxed);
      if (!(p >> 40 & 1)) continue;
      ops::Op op;
      op.kind = static_cast<ops::OpKind>(p & 0xff);
      op.desc = static_cast<uint8_t>(p >> 8 & 0xff);
      op.mode = static_cast<int>(p >> 16 & 0xffff);
      if (op.mode == 0) op.mode = 'r';
      op.arg = e.arg.load(kRelaxed);
      std::snprintf(buf, sizeof buf, "  %10.3f ms  %-26s %s\n",
                    -(now - e.t.load(kRelaxed)) / 1e6, ops::FormatOp(op).c_str(),
                    ResultName(static_cast<int>(p >> 32 & 0xff)).c_str());
      o += buf;
    }
  }
  return o;
}

template <class V>
std::string Storm<V>::Repro() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "scripts/pollstorm storm --variant %s --seed %" PRIu64
                " --threads %d --descriptors %d --profile %s --duration %g",
                std::string(V::kName).c_str(), cfg_.seed, cfg_.threads, cfg_.descriptors,
                cfg_.profile->name, cfg_.duration_s);
  return buf;
}

template <class V>
void Storm<V>::Report(Finding f, int si, int mode) {
  (void)mode;
  f.variant = std::string(V::kName);
  f.seed = cfg_.seed;
  f.after_s = (Now() - start_) / 1e9;
  f.repro = Repro();
  if (f.detail.empty()) f.detail = Dump(si);
  findings_.fetch_add(1, kRelaxed);
  std::lock_guard<std::mutex> l(report_mu_);
  std::printf("FINDING\t%s\n", FindingToJson(f).c_str());
  std::fflush(stdout);
  if (cfg_.stop_on_first) stop_.store(true, kRelaxed);
}

}  // namespace
}  // namespace pollstorm::storm
