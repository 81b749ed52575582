// stress/storm_history.h: the storm's history check, beside the online
// oracle. Every thread records, in its own buffer, each operation's
// invocation and response (a clock read just before the call into the port
// and just after it returned), its arguments, its result, and the descriptor
// OBJECT it reached (events reach objects through their keys, so a history is
// an object's, across the slots and incarnations the LIFO cache gives it).
// After the run, each object's history goes through harness/history's
// linearizability-style search against the specification there: is there an
// order of the operations, each inside its own interval, that gives every
// result the threads saw? The online oracle judges each result alone, against
// counters; this judges them together, so a result that is allowed by itself
// but not after what returned before it (a timeout reported although closing
// had been set first, an event error lost by a deadline change) is caught.
//
// Limits: not for the io profile (readiness there comes from the epoll
// poller, which records nothing); each thread records at most --history ops,
// and a run that fills a buffer is checked up to the first moment any full
// buffer stopped (later operations are not checked, and operations still in
// flight then constrain nothing); an object whose search meets its bounds is
// left unchecked and counted.
#pragma once

#include "harness/history/history.h"
#include "stress/storm_state.h"

namespace pollstorm::storm {
// Unnamed: these headers are parts of storm_worker.cc, its one translation
// unit; nothing here has external linkage.
namespace {

template <class V>
void Storm<V>::Hist(int self, const PD* pd, history::Kind kind, int mode, int64_t inv,
                    int64_t resp, int result, int64_t arg, uint64_t key) {
  if (!HistoryOn()) return;
  auto& h = hist_[self];
  if (h.size() >= cfg_.history_ops) return;
  history::Op op{inv, resp, kind, mode, result, arg, key, self};
  h.push_back(HistRec{static_cast<int>(&StateOf(pd) - pd_states_), op});
}

// After the run, every thread joined. Returns the summary's "history" object.
template <class V>
std::string Storm<V>::CheckHistory() {
  if (!HistoryOn()) return "null";
  const int64_t t0 = Now();
  // The cut: the earliest moment a full buffer stopped recording.
  int64_t cut = INT64_MAX;
  uint64_t recorded = 0;
  for (const auto& h : hist_) {
    recorded += h.size();
    if (h.size() >= cfg_.history_ops && !h.empty()) {
      const history::Op& last = h.back().op;
      cut = std::min(cut, last.resp == history::kNeverReturned ? last.inv : last.resp);
    }
  }
  const int nobj = num_pds_.load(kRelaxed);
  std::vector<std::vector<history::Op>> per(nobj);
  uint64_t checked_ops = 0;
  for (const auto& h : hist_) {
    for (const HistRec& r : h) {
      if (r.op.inv >= cut) continue;
      history::Op op = r.op;
      if (op.resp != history::kNeverReturned && op.resp > cut) op.resp = history::kNeverReturned;
      per[r.obj].push_back(op);
      checked_ops++;
    }
  }
  history::Options opt;
  opt.events_need_current_key = V::kName == std::string_view("tip");
  opt.atomic_checkerr = opt.events_need_current_key;  // tip's atomicInfo
  int unchecked = 0;
  size_t peak = 0;
  for (int o = 0; o < nobj; o++) {
    if (per[o].empty()) continue;
    const history::Verdict v = history::CheckObject(std::move(per[o]), opt);
    peak = std::max(peak, v.peak_configs);
    if (!v.checked) {
      unchecked++;
      continue;
    }
    if (!v.ok) {
      // The signature: the operation no order explains, without its times.
      const std::string first = v.why.substr(0, v.why.find('\n'));
      Finding f = MakeFinding("non-linearizable",
                              "descriptor object " + std::to_string(o) + ": " + first,
                              "non-linearizable:" + history::What(v.failed_op) + ":" +
                                  std::string(V::kName));
      f.detail = v.why;
      Report(std::move(f), -1, 0);
    }
  }
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "{\"recorded\":%" PRIu64 ",\"checked_ops\":%" PRIu64
                ",\"objects\":%d,\"unchecked_objects\":%d,\"truncated\":%s,\"peak_configs\":%zu,"
                "\"check_s\":%.3f}",
                recorded, checked_ops, nobj, unchecked, cut == INT64_MAX ? "false" : "true", peak,
                (Now() - t0) / 1e9);
  return buf;
}

}  // namespace
}  // namespace pollstorm::storm
