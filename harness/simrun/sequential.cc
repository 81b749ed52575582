#include "harness/simrun/sequential.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "harness/model/model.h"
#include "harness/oracle/known_bugs.h"
#include "harness/simrun/program_runner.h"
#include "harness/sim/kernel.h"
#include "harness/sim/sim_env.h"
#include "harness/sim/thread.h"
#include "polldesc/fd.h"
#include "polldesc/poll_server.h"
#include "polldesc/variants.h"

namespace pollstorm::simrun {
namespace {

using ops::Op;
using ops::OpKind;

// Waits the model says park each take a simulated thread (main and the timer
// fiber take two of rt::kMaxThreads); later parking waits are skipped.
constexpr int kMaxParkedWaiters = 5;

// Where a check happens, formatted only when it fails (fuzz_ops runs tens of
// thousands of programs a second; building these strings per op cost more
// than the simulation).
struct Where {
  const Op* op = nullptr;  // the op being applied, or none: the final unblock
  size_t index = 0;        // its 1-based position, or the descriptor unblocked
  const char* suffix = "";
  static constexpr size_t kEnd = SIZE_MAX;  // index: after the last op, before any unblock

  std::string Str() const {
    std::string s = op != nullptr ? "op " + std::to_string(index) + " '" + ops::FormatOp(*op) + "'"
                    : index == kEnd ? std::string("the end of the program")
                                    : "the final unblock of d" + std::to_string(index);
    return s + suffix;
  }
  Where With(const char* sfx) const {
    Where w = *this;
    w.suffix = sfx;
    return w;
  }
};

// The Fd facade's read loop (polldesc/fd.h) for one byte: the PollErr it
// ends with. A syscall error other than EAGAIN is a harness bug here.
// *waits (host memory) counts the pollWaits the loop has entered.
template <class PD>
int Read(PD* pd, int fd, int* waits) {
  struct Hooks {
    int* waits;
    void BeforeRead() {}
    void BeforeWait() { ++*waits; }
  };
  char byte;
  const IoResult r = ReadLoop<SimEnv>(pd, fd, &byte, 1, Hooks{waits});
  if (r.sys_errno != 0) {
    sim::Assert(false, r.sys_errno == EBADF ? "read: EBADF from the simulated kernel"
                                            : "read: a syscall error from the simulated kernel");
  }
  if (r.ok() && r.n == 0) return model::kEof;
  return r.poll_err;
}

// The Fd facade's write loop (polldesc/fd.h WriteLoop) for one byte: the
// PollErr it ends with, or model::kEpipe.
template <class PD>
int Write(PD* pd, int fd, int* waits) {
  struct Hooks {
    int* waits;
    void BeforeWrite() {}
    void BeforeWait() { ++*waits; }
  };
  const char byte = 'x';
  const IoResult r = WriteLoop<SimEnv>(pd, fd, &byte, 1, Hooks{waits});
  if (r.sys_errno == EPIPE) return model::kEpipe;
  if (r.sys_errno != 0) sim::Assert(false, "write: a syscall error from the simulated kernel");
  if (r.ok() && r.n != 1) sim::Assert(false, "write: ok without the byte written");
  return r.poll_err;
}

std::string ResultName(int r) {
  if (r == model::kEof) return "0 (end of file)";
  if (r == model::kEpipe) return "EPIPE";
  return PollErrName(r);
}

struct Parked {
  sim::JoinHandle h{0};
  int* result = nullptr;  // host memory, set by the waiter when Wait returns
  int* waits = nullptr;   // a reader's pollWaits so far (host memory); nullptr: a wait op
};

template <class V>
void Body(const ops::Program& prog) {
  using Server = PollServer<SimEnv, V>;
  using PD = typename Server::PD;
  int ndesc = 1;
  std::vector<Op> all;
  for (const auto& t : prog.threads) {
    for (const Op& op : t) {
      all.push_back(op);
      ndesc = std::max(ndesc, op.desc + 1);
    }
  }
  // Programs with io or read ops get a simulated kernel: a pipe per
  // descriptor, registered with the poll server as epoll would register it.
  // The others keep in-memory descriptors (no kernel: fewer scheduling points).
  const bool uses_fds =
      std::any_of(all.begin(), all.end(), [](const Op& op) { return ops::UsesFds(op.kind); });
  const bool pipe_events = std::any_of(all.begin(), all.end(),
                                       [](const Op& op) { return ops::UsesPipeEvents(op.kind); });
  sim::Kernel* kernel =
      uses_fds ? sim::Make<sim::Kernel>(pipe_events ? ops::kPipeCapacity : 0) : nullptr;
  auto* server = sim::Make<Server>(
      kernel, CounterOrigin{prog.counters.fdseq, prog.counters.rseq, prog.counters.wseq});
  auto* pds = sim::Make<std::vector<PD*>>(ndesc);
  // The epoll user data each incarnation was registered with: in-memory
  // events carry it, as epoll's would.
  auto* keys = sim::Make<std::vector<uint64_t>>(ndesc, 0);
  auto* fds = sim::Make<std::vector<int>>(ndesc, -1);
  auto open = [&](int d) {
    if (kernel != nullptr) (*fds)[d] = kernel->Pipe();
    (*pds)[d] = server->Open(static_cast<uintptr_t>((*fds)[d])).first;
    (*keys)[d] = server->EventKey((*pds)[d]);
  };
  for (int d = 0; d < ndesc; d++) open(d);
  // One netpoll pass: what the kernel's ops just made ready reaches the port
  // before the next op (each op runs to quiescence: Go's findrunnable polls).
  // With pipe events, each is a whole epoll event (PollServer::PollEvent's
  // event error, then netpollready); the read-only kernel's EPOLLIN events
  // are netpollready alone, as before (their schedules replay).
  struct PollCtx {
    Server* server;
    bool pipe_events;
  };
  auto* poll_ctx = sim::Make<PollCtx>(PollCtx{server, pipe_events});
  auto netpoll = [&] {
    kernel->Poll(
        [](void* c, uint64_t key, uint32_t events) {
          auto* pc = static_cast<PollCtx*>(c);
          const int mode = EpollEventMode(events);
          if (mode == 0) return;
          if (pc->pipe_events) pc->server->ErrEvent(key, events == EPOLLERR);
          pc->server->ReadyEvent(key, mode);
        },
        poll_ctx);
  };
  if (pipe_events) netpoll();  // ADD's EPOLLOUT for every new pipe
  auto* model = sim::Make<model::PollModel>(ndesc, sim::Now(), pipe_events);
  auto* parked = sim::Make<std::map<std::pair<int, int>, Parked>>();
  auto* msg = sim::Make<std::string>();
  auto fail = [&](std::string m) {
    *msg = m + "\n  model: " + model->Describe();
    sim::Assert(false, msg->c_str());
  };
  auto expect = [&](const Where& what, int got, int want) {
    if (got != want) {
      fail(what.Str() + ": port returned " + ResultName(got) + ", model says " +
           ResultName(want));
    }
  };
  auto expect_wake = [&](const model::Wake& w, const Where& after, int got) {
    if (got != w.err) {
      fail("wake of wait d" + std::to_string(w.desc) + " " + ops::ModeName(w.mode) + " after " +
           after.Str() + ": port returned " + ResultName(got) + ", model says " +
           ResultName(w.err));
    }
  };
  auto apply_wakes = [&](const model::Step& s, const Where& after) {
    for (const model::Wake& w : s.wakes) {
      auto it = parked->find({w.desc, w.mode});
      if (it == parked->end()) continue;
      it->second.h.Join();  // a wake the port never delivers: deadlock
      expect_wake(w, after, *it->second.result);
      parked->erase(it);
    }
  };
  // Time moves on its own (a timer firing is a time event): bring the model
  // to the simulator's clock and join what expired.
  // An expiry the model applied may still be pending in the port (its timer
  // callback has not run yet): wait for it to land, so the next op sees the
  // same state in both. Bounded: a deadline that never fires is a finding.
  auto sync = [&](const Where& where) {
    const int64_t now = sim::Now();
    if (now > model->now()) {
      Op adv;
      adv.kind = OpKind::kAdvance;
      adv.arg = now - model->now();
      apply_wakes(model->Apply(adv), where.With(" (time passed)"));
    }
    for (int d = 0; d < ndesc; d++) {
      for (int mode : {kModeRead, kModeWrite}) {
        for (int spins = 0; model->expired(d, mode); spins++) {
          const auto snap = (*pds)[d]->DebugSnapshot();
          if ((mode == kModeRead ? snap.rd : snap.wd) < 0) break;
          if (spins == 100000) {
            fail("the port never expired d" + std::to_string(d) + " " + ops::ModeName(mode) +
                 " although its deadline passed (" + where.Str() + ")");
          }
          sim::Yield();
        }
      }
    }
  };
  // A waiter that returned although the model has it parked is early or
  // spurious, unless time passed meanwhile (the checks themselves are
  // scheduling points): re-sync, then judge.
  auto no_early_wakes = [&](const Where& after) {
    sync(after);
    std::vector<std::pair<int, int>> woke;
    for (auto& [key, p] : *parked) {
      if (*p.result >= 0) woke.push_back(key);
    }
    if (woke.empty()) return;
    sync(after);
    for (const auto& key : woke) {
      auto it = parked->find(key);
      if (it == parked->end()) continue;  // the model woke it too: fine
      fail("wait d" + std::to_string(key.first) + " " + ops::ModeName(key.second) +
           " returned " + ResultName(*it->second.result) + " after " + after.Str() +
           ", but the model has it still parked");
    }
  };
  // An edge in the modes the model gave the op (st.edges) on desc,
  // delivered by deliver(): a
  // parked reader or writer the model keeps parked (its pipe has nothing for
  // it) is still woken by the port; it finds EAGAIN and waits again. Let it
  // get back into pollWait before the next op, which could otherwise land in
  // between (an `everr on` its re-wait would see).
  auto rewaits = [&](int desc, const model::Step& st, const auto& deliver, const Where& where) {
    const int modes = st.edges;
    struct Watch {
      Parked* p;
      int mode, before;
    };
    std::vector<Watch> watch;
    for (int mode : {kModeRead, kModeWrite}) {
      if (modes != mode && modes != kModeRead + kModeWrite) continue;
      auto it = parked->find({desc, mode});
      if (it != parked->end() && it->second.waits != nullptr && model->parked(desc, mode)) {
        watch.push_back({&it->second, mode, *it->second.waits});
      }
    }
    deliver();
    for (const Watch& w : watch) {
      for (int spins = 0; *w.p->result < 0; spins++) {
        const auto snap = (*pds)[desc]->DebugSnapshot();
        if (*w.p->waits > w.before && (w.mode == kModeRead ? snap.rg : snap.wg) > kPdWait) break;
        if (spins == 100000) fail(where.Str() + ": the woken reader or writer never waited again");
        sim::Yield();
      }
    }
  };
  int spawned = 0;
  for (size_t i = 0; i < all.size(); i++) {
    const Op& op = all[i];
    const Where where{&op, i + 1};
    sync(where);
    const bool io_loop = op.kind == OpKind::kRead || op.kind == OpKind::kWrite;
    if ((op.kind == OpKind::kWait || io_loop) && spawned == kMaxParkedWaiters) {
      model::PollModel peek = *model;
      if (peek.Apply(op).blocks) continue;  // out of simulated threads: skip it
    }
    const model::Step s = model->Apply(op);
    if (s.invalid) continue;
    PD*& pd = (*pds)[op.desc];
    switch (op.kind) {
      case OpKind::kReset:
        expect(where, pd->Reset(op.mode), *s.result);
        break;
      case OpKind::kWait:
      case OpKind::kRead:
      case OpKind::kWrite:
        if (s.blocks) {
          spawned++;
          int* result = sim::Make<int>(-1);
          PD* p = pd;
          const int mode = op.kind == OpKind::kRead    ? kModeRead
                           : op.kind == OpKind::kWrite ? kModeWrite
                                                       : op.mode;
          const int fd = (*fds)[op.desc];
          int* waits = io_loop ? sim::Make<int>(0) : nullptr;
          auto body =
              op.kind == OpKind::kRead
                  ? std::function<void()>([p, fd, result, waits] { *result = Read(p, fd, waits); })
              : op.kind == OpKind::kWrite
                  ? std::function<void()>([p, fd, result, waits] { *result = Write(p, fd, waits); })
                  : std::function<void()>([p, mode, result] { *result = p->Wait(mode); });
          (*parked)[{op.desc, mode}] = {sim::Spawn(std::move(body), "waiter"), result, waits};
          // The model has it parked now: let it get there (its G in the slot)
          // before the next op, or report that it returned instead.
          for (int spins = 0;; spins++) {
            const auto snap = p->DebugSnapshot();
            if ((mode == kModeRead ? snap.rg : snap.wg) > kPdWait) break;
            if (*result >= 0) {
              // Time may have passed meanwhile (a timer firing is a time
              // event): if the model, brought to the clock, woke it with
              // this result, all is well.
              sync(where);
              if (parked->count({op.desc, mode}) == 0) break;
              fail(where.Str() + ": port returned " + ResultName(*result) +
                   ", the model says the wait parks");
            }
            if (spins == 100000) fail(where.Str() + ": the waiter never parked");
            sim::Yield();
          }
        } else {
          int waits = 0;
          expect(where,
                 op.kind == OpKind::kRead    ? Read(pd, (*fds)[op.desc], &waits)
                 : op.kind == OpKind::kWrite ? Write(pd, (*fds)[op.desc], &waits)
                                             : pd->Wait(op.mode),
                 *s.result);
        }
        break;
      case OpKind::kReady:
        rewaits(op.desc, s, [&] { server->ReadyEvent((*keys)[op.desc], op.mode); }, where);
        break;
      case OpKind::kIo:
        // A byte arrives; the poller's pass delivers its edge before the
        // next op (each op runs to quiescence: Go's findrunnable polls).
        rewaits(op.desc, s, [&] {
          kernel->PeerWrite((*fds)[op.desc], 1);
          netpoll();
        }, where);
        break;
      case OpKind::kDrain:
        rewaits(op.desc, s, [&] {
          kernel->Drain((*fds)[op.desc]);
          netpoll();
        }, where);
        break;
      case OpKind::kHangup:
        rewaits(op.desc, s, [&] {
          kernel->Hangup((*fds)[op.desc]);
          netpoll();
        }, where);
        break;
      case OpKind::kEpollErr:
        rewaits(op.desc, s, [&] {
          kernel->RaiseErr((*fds)[op.desc]);
          netpoll();
        }, where);
        break;
      case OpKind::kEventErr:
        server->ErrEvent((*keys)[op.desc], op.arg != 0);
        break;
      case OpKind::kDeadline:
        pd->SetDeadline(op.arg, op.mode);
        break;
      case OpKind::kUnblock:
        pd->Unblock();
        break;
      case OpKind::kClose:
        server->Close(pd);
        if (kernel != nullptr) kernel->Close((*fds)[op.desc]);
        break;
      case OpKind::kOpen:
        open(op.desc);
        if (pipe_events) netpoll();  // ADD's EPOLLOUT
        break;
      case OpKind::kAdvance:
        sim::Sleep(op.arg);
        break;
    }
    apply_wakes(s, where);
    no_early_wakes(where);
    if (oracle::AccountingChecked(V::kName) && server->Waiters() < 0) {
      fail(where.Str() + ": waiter accounting: netpollWaiters is " +
           std::to_string(server->Waiters()) + " (negative)");
    }
  }
  // Cleanup never rescues: before the final unblock, time runs up to the
  // latest future deadline a parked waiter has, so every timer owed to a
  // waiter fires first and sync() joins the wakes the model says it owes (one
  // the port never delivers is a deadlock). Without this a waiter stranded by
  // a lost deadline wake left with `closing`, which the model accepts.
  {
    int64_t latest = 0;
    for (const auto& [key, p] : *parked) {
      if (model->open(key.first)) latest = std::max(latest, model->deadline(key.first, key.second));
    }
    const int64_t now = latest > 0 ? sim::Now() : 0;  // the clock read is a scheduling point
    if (latest > now) {
      sim::Sleep(latest - now);
      sync(Where{nullptr, Where::kEnd, " (every parked waiter's deadline passed)"});
    }
  }
  // Drain: unblock every open descriptor; every parked waiter must leave with
  // closing (or what the model says).
  for (int d = 0; d < ndesc; d++) {
    const Where where{nullptr, static_cast<size_t>(d)};
    sync(where);
    Op ub;
    ub.kind = OpKind::kUnblock;
    ub.desc = static_cast<uint8_t>(d);
    const model::Step s = model->Apply(ub);
    if (s.invalid) continue;
    (*pds)[d]->Unblock();
    apply_wakes(s, where);
  }
  if (!parked->empty()) fail("a waiter the model says parked survived the final unblock");
  // Quiescent, nobody parked: netpollWaiters must be 0 (see program_runner.h).
  if (oracle::AccountingChecked(V::kName) && oracle::AccountingWaitsForCallbacks()) {
    server->WaitCallbacksIdle();
  }
  if (oracle::AccountingChecked(V::kName) && server->Waiters() != 0) {
    fail("waiter accounting: netpollWaiters is " + std::to_string(server->Waiters()) +
         " after the final unblock, with no waiter parked" +
         (server->Waiters() > 0 ? " (a wake that never subtracted its waiter: the shape of Go #33624)" : " (negative)"));
  }
}

}  // namespace

std::optional<sim::Finding> RunSequential(const ops::Program& prog, std::string_view variant,
                                          uint64_t seed, uint64_t max_steps) {
  sim::RunConfig cfg;
  cfg.seed = seed;
  cfg.max_steps = max_steps != 0 ? max_steps : DefaultMaxSteps(prog);
  cfg.iterations = 1;
  cfg.weak_memory = false;
  // fuzz_ops judges results against the model under one coarse schedule;
  // races are fuzz_sched's question, where the schedule varies.
  cfg.detect_races = false;
  // The model applies each op at one instant: time passes only in `advance`
  // ops, or while every thread waits.
  cfg.lazy_time = true;
  cfg.label = std::string(variant);
  std::optional<sim::Finding> f;
  ForVariant(variant, [&](auto v) {
    using V = typename decltype(v)::type;
    f = sim::Check(cfg, [&prog] { Body<V>(prog); });
  });
  return f;
}

}  // namespace pollstorm::simrun
