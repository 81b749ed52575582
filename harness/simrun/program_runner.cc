#include "harness/simrun/program_runner.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <map>
#include <vector>

#include "harness/oracle/known_bugs.h"
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
constexpr uint32_t kClosingBit = 1u << 30;
constexpr uint32_t kClosedBit = 1u << 29;  // with kClosingBit: pollClose claimed

int Mi(int mode) { return mode == kModeRead ? 0 : 1; }

// POLLSTORM_SIM_WAITER_POLLS=1: a reader about to wait runs a netpoll pass
// itself (issue #17: the waiter becomes the poller), so readiness for it and
// for the other waiters is delivered from a waiter's thread, between its
// read and its pollWait, besides the drainer's passes. Off (unset or 0), the
// schedules are the drainer-only ones (tests/golden/sim_golden.txt). Any
// other value: a clear error, exit 2. Read once per process.
bool WaiterPolls() {
  static const bool on = [] {
    const char* e = std::getenv("POLLSTORM_SIM_WAITER_POLLS");
    if (e == nullptr || *e == '\0' || std::string_view(e) == "0") return false;
    if (std::string_view(e) == "1") return true;
    std::fprintf(stderr, "sim: bad value for POLLSTORM_SIM_WAITER_POLLS: '%.160s' (0 or 1)\n", e);
    std::exit(2);
  }();
  return on;
}

// ---- host-side oracle state (one per execution, owned by it) ----

struct ReadyCount {
  uint64_t started = 0, finished = 0;
};
struct Waiting {
  bool in_wait = false;
  int desc = 0, mode = 0;
  const void* pd = nullptr;
  uint64_t inc = 0;
  uint64_t obl_base = 0;  // ready starts on pd when its reset returned (read: its last read began)
  bool reader = false;    // inside a read op's pollWait (Fd's loop), not a wait op
  int fd = -1;            // the reader's (writer's) simulated fd
  bool writer = false;    // inside a write op's pollWait (Fd's write loop)
};
struct HostSlot {
  uint64_t inc = 0;
  int fd = -1;  // its pipe (host copy of Slot::fd, for the oracle: no scheduling point)
  bool closed = false;
  uint64_t unblock_started_inc = UINT64_MAX;
  uint64_t unblock_done_inc = UINT64_MAX;
  uint64_t deadline_set_inc[2] = {UINT64_MAX, UINT64_MAX};
  // The latest set, if it overlapped none, was past (of incarnation last_set_inc).
  bool last_set_past[2] = {false, false};
  // The latest set, if it overlapped none, was a future deadline of this
  // incarnation (last_set_inc) that expires by the clock at or before
  // last_set_due: the port adds the clock it reads inside SetDeadline, no
  // later than the clock when the set returned. What the user asked for,
  // whether or not the port ever marks the descriptor expired.
  bool last_set_future[2] = {false, false};
  int64_t last_set_due[2] = {0, 0};
  uint64_t last_set_inc[2] = {0, 0};
  uint64_t sets_started[2] = {0, 0}, sets_finished[2] = {0, 0};  // tickets
};
struct Oracle {
  std::map<const void*, ReadyCount> ready[2];  // per descriptor object and mode
  // everr(on) ops per descriptor object and the incarnation their event was
  // captured for (an event belongs to one incarnation: Go #59545).
  std::map<std::pair<const void*, uint64_t>, uint64_t> everr_on;
  // The epoll user data of each descriptor object's open incarnation (0 while
  // it is closed): an event with this key is for the current incarnation, and
  // the port may not drop it.
  std::map<const void*, uint64_t> current_key;
  std::vector<HostSlot> slots;
  // Which slot each descriptor object serves (for the incarnation a kernel
  // event is for).
  std::map<const void*, int> pd_slot;
  std::vector<Waiting> threads;
  std::vector<bool> done;
  std::string msg;  // the last assertion message (sim::Assert copies it)
};

template <class V>
struct World {
  using Server = PollServer<SimEnv, V>;
  using PD = typename Server::PD;
  // One incarnation's registration, host memory, immutable once published:
  // the descriptor, the epoll user data netpollopen registered for it (the
  // key an event for this incarnation carries) and the incarnation number.
  struct Reg {
    PD* pd;
    uint64_t key;
    uint64_t inc;
  };
  struct Slot {
    sim::Atomic<Reg*> reg{nullptr};
    sim::Atomic<uint32_t> refs{0};
    sim::Atomic<bool> token[2] = {false, false};
    sim::Atomic<int> fd{-1};  // its pipe in the simulated kernel (programs with io/read)
  };
  Server* server = nullptr;
  sim::Kernel* kernel = nullptr;  // nullptr: in-memory descriptors
  bool pipe_events = false;       // the kernel has its write side (full epoll events)
  std::vector<Slot>* slots = nullptr;
  Oracle* o = nullptr;

  void Fail(const std::string& m) {
    o->msg = m;
    sim::Assert(false, o->msg.c_str());
  }

  // internal/poll's incref: acquire pairs with the opener's release.
  bool Acquire(Slot& s) {
    uint32_t r = s.refs.load(std::memory_order_relaxed);
    for (;;) {
      if (r & kClosingBit) return false;
      if (s.refs.compare_exchange_strong(r, r + 1, std::memory_order_acquire)) return true;
    }
  }
  // decref: release pairs with the closer's acquire check.
  void Release(Slot& s) { s.refs.fetch_sub(1, std::memory_order_release); }

  void Check(int t, int d, int mode, int err, const void* pd, uint64_t inc, uint64_t r_base) {
    const HostSlot& hs = o->slots[d];
    const std::string where = " on d" + std::to_string(d) + " " + ops::ModeName(mode) +
                              " (thread " + std::to_string(t) + ")";
    switch (err) {
      case kPollNoError:
        if (o->ready[Mi(mode)][pd].started <= r_base) {
          Fail("unexplained ready: wait returned ok with no ready since its reset" + where);
        }
        break;
      case kPollErrClosing:
        if (hs.unblock_started_inc != inc) Fail("closing before unblock began" + where);
        break;
      case kPollErrTimeout:
        if (hs.deadline_set_inc[Mi(mode)] != inc) {
          Fail("timeout with no deadline set on this incarnation" + where);
        }
        break;
      case kPollErrNotPollable:
        if (mode != kModeRead) Fail("event error on a write" + where);
        // The incarnation's own pipe reported EPOLLERR (the event may reach
        // the port before the runner knows the new incarnation's key: an
        // epollerr on a reused fd number lands between pipe() and
        // epoll_ctl ADD, which then reports it).
        if (pipe_events && kernel->ErroredForOracle(hs.fd)) break;
        if (o->everr_on[{pd, inc}] == 0) {
          for (const auto& [k, n] : o->everr_on) {
            if (k.first == pd && k.second != inc && n > 0) {
              // Known on the historical variants (harness/oracle/known_bugs.h).
              if (!oracle::StaleEventsChecked(V::kName)) return;
              Fail("stale event error: an event error delivered for incarnation " +
                   std::to_string(k.second) + " was observed by incarnation " +
                   std::to_string(inc) + where + " (Go #59545)");
            }
          }
          Fail("event error without everr" + where);
        }
        break;
      default:
        Fail("unknown result" + where);
    }
  }

  void WaitOrReset(int t, const Op& op) {
    Slot& s = (*slots)[op.desc];
    if (!Acquire(s)) return;
    bool free_token = false;
    // acquire/release: the waiter token is fdMutex's read/write lock.
    if (!s.token[Mi(op.mode)].compare_exchange_strong(free_token, true,
                                                       std::memory_order_acquire)) {
      Release(s);
      return;
    }
    PD* pd = s.reg.load(std::memory_order_relaxed)->pd;  // stable while we hold a reference
    const uint64_t inc = o->slots[op.desc].inc;
    ReadyCount& rc = o->ready[Mi(op.mode)][pd];
    const uint64_t r_base = rc.finished;
    int err = pd->Reset(op.mode);
    if (err == kPollNoError && op.kind == OpKind::kWait) {
      Waiting& w = o->threads[t];
      w = {true, op.desc, op.mode, pd, inc, rc.started};
      err = pd->Wait(op.mode);
      o->threads[t].in_wait = false;
    }
    // A reset that returns ok needs no explanation; every other result does.
    if (op.kind == OpKind::kWait || err != kPollNoError) {
      Check(t, op.desc, op.mode, err, pd, inc, r_base);
    }
    s.token[Mi(op.mode)].store(false, std::memory_order_release);
    Release(s);
  }

  // read: the Fd facade's loop (polldesc/fd.h ReadLoop) under the read lock.
  void ReadOp(int t, const Op& op) {
    Slot& s = (*slots)[op.desc];
    if (!Acquire(s)) return;
    bool free_token = false;
    // acquire/release: as WaitOrReset, the read lock.
    if (!s.token[0].compare_exchange_strong(free_token, true, std::memory_order_acquire)) {
      Release(s);
      return;
    }
    PD* pd = s.reg.load(std::memory_order_relaxed)->pd;  // stable while we hold a reference
    const int fd = s.fd.load(std::memory_order_relaxed);
    const uint64_t inc = o->slots[op.desc].inc;
    // Where the reader is, for the obligations: a ready that begins after a
    // read found the pipe empty must wake the pollWait that follows.
    struct Hooks {
      World* w;
      int t, desc, fd;
      PD* pd;
      uint64_t inc, base = 0;
      void BeforeRead() {
        base = w->o->ready[0][pd].started;
      }
      void BeforeWait() {
        // The waiter polls before it parks (real_env.h: RealParker polls
        // while parked; here the pass comes just before pollWait, so
        // pollDesc sees netpollready run on the waiter's own thread).
        if (WaiterPolls()) w->Netpoll();
        w->o->threads[t] = {true, desc, kModeRead, pd, inc, base, true, fd};
      }
    };
    const uint64_t r_base = o->ready[0][pd].finished;
    char byte;
    const IoResult r = ReadLoop<SimEnv>(pd, fd, &byte, 1, Hooks{this, t, op.desc, fd, pd, inc});
    o->threads[t].in_wait = false;
    if (r.sys_errno != 0) {
      Fail("read d" + std::to_string(op.desc) + " (thread " + std::to_string(t) +
           "): the simulated kernel failed it with errno " + std::to_string(r.sys_errno));
    }
    if (r.poll_err != kPollNoError) Check(t, op.desc, kModeRead, r.poll_err, pd, inc, r_base);
    if (r.ok() && r.n == 0 && !kernel->HungUpForOracle(fd)) {
      Fail("read d" + std::to_string(op.desc) + " (thread " + std::to_string(t) +
           ") returned 0 (end of file) although the writer never hung up");
    }
    s.token[0].store(false, std::memory_order_release);
    Release(s);
  }

  // write: the Fd facade's write loop (polldesc/fd.h WriteLoop) of one byte
  // under the write lock.
  void WriteOp(int t, const Op& op) {
    Slot& s = (*slots)[op.desc];
    if (!Acquire(s)) return;
    bool free_token = false;
    // acquire/release: as WaitOrReset, the write lock.
    if (!s.token[1].compare_exchange_strong(free_token, true, std::memory_order_acquire)) {
      Release(s);
      return;
    }
    PD* pd = s.reg.load(std::memory_order_relaxed)->pd;  // stable while we hold a reference
    const int fd = s.fd.load(std::memory_order_relaxed);
    const uint64_t inc = o->slots[op.desc].inc;
    // A write ready that begins after a write found the pipe full must wake
    // the pollWait that follows.
    struct Hooks {
      World* w;
      int t, desc, fd;
      PD* pd;
      uint64_t inc, base = 0;
      void BeforeWrite() { base = w->o->ready[1][pd].started; }
      void BeforeWait() {
        w->o->threads[t] = {true, desc, kModeWrite, pd, inc, base, false, fd, true};
      }
    };
    const uint64_t r_base = o->ready[1][pd].finished;
    const char byte = 'x';
    const IoResult r = WriteLoop<SimEnv>(pd, fd, &byte, 1, Hooks{this, t, op.desc, fd, pd, inc});
    o->threads[t].in_wait = false;
    if (r.sys_errno != 0 && !(r.sys_errno == EPIPE && kernel->ErroredForOracle(fd))) {
      Fail("write d" + std::to_string(op.desc) + " (thread " + std::to_string(t) +
           "): the simulated kernel failed it with errno " + std::to_string(r.sys_errno));
    }
    if (r.poll_err != kPollNoError) Check(t, op.desc, kModeWrite, r.poll_err, pd, inc, r_base);
    s.token[1].store(false, std::memory_order_release);
    Release(s);
  }

  // An in-memory event carries the key of the incarnation the op saw (a
  // stale one if the descriptor was reused meanwhile), as epoll's would.
  void Ready(const Op& op) { Deliver((*slots)[op.desc].reg.load(std::memory_order_acquire)->key, op.mode); }

  // netpollready's effect on the key's descriptor, counted for the ready
  // obligations (per descriptor object: a stale readiness is a legal
  // spurious wake).
  void Deliver(uint64_t key, int mode) {
    PD* pd = Server::KeyPd(key);
    for (int m : {0, 1}) {
      if ((m == 0 && mode == kModeWrite) || (m == 1 && mode == kModeRead)) continue;
      o->ready[m][pd].started++;
    }
    // An event the poll loop dropped owes no wake only if it was stale (tip:
    // another incarnation's tag). A dropped event for the open incarnation
    // is counted as delivered, so its waiter's obligation stands.
    if (!server->ReadyEvent(key, mode) && o->current_key[pd] != key) return;
    for (int m : {0, 1}) {
      if ((m == 0 && mode == kModeWrite) || (m == 1 && mode == kModeRead)) continue;
      o->ready[m][pd].finished++;
    }
  }

  void Unblock(int d) {
    Slot& s = (*slots)[d];
    // acq_rel, as increfAndClose: later references fail; earlier ones are seen.
    // Like increfAndClose, the unblocker also takes a reference, so pollClose
    // (which needs no reference left) cannot run before pollUnblock is done.
    // The current value comes from the CAS, never from a plain load: a load
    // may read the previous incarnation's closing bit (weak memory, for as
    // long as the chooser likes), and returning on it left the drainer
    // spinning forever beside a parked waiter it never unblocked (fuzz_sched
    // on fixed, 2026-11-25). A failed CAS reads the latest value.
    uint32_t r = 0;
    while (!s.refs.compare_exchange_strong(r, (r | kClosingBit) + 1, std::memory_order_acq_rel)) {
      if (r & kClosingBit) return;
    }
    HostSlot& hs = o->slots[d];
    hs.unblock_started_inc = hs.inc;
    s.reg.load(std::memory_order_relaxed)->pd->Unblock();
    hs.unblock_done_inc = hs.inc;
    Release(s);
  }

  void Exec(int t, const Op& op) {
    Slot& s = (*slots)[op.desc];
    HostSlot& hs = o->slots[op.desc];
    switch (op.kind) {
      case OpKind::kReset:
      case OpKind::kWait:
        if (!hs.closed) WaitOrReset(t, op);
        break;
      case OpKind::kReady:
        Ready(op);
        break;
      case OpKind::kIo:
        // Another process writes a byte into the pipe: no reference to the
        // descriptor, so it may hit a closed fd (EBADF, ignored) or a reused
        // number (a new incarnation's pipe), as a real writer may.
        kernel->PeerWrite(s.fd.load(std::memory_order_acquire), 1);
        break;
      case OpKind::kRead:
        if (!hs.closed) ReadOp(t, op);
        break;
      case OpKind::kWrite:
        if (!hs.closed) WriteOp(t, op);
        break;
      // The other process's side of the pipe: no reference to the descriptor
      // (a closed fd fails with EBADF, ignored; a reused number reaches the
      // new incarnation's pipe), as io.
      case OpKind::kDrain:
        kernel->Drain(s.fd.load(std::memory_order_acquire));
        break;
      case OpKind::kHangup:
        kernel->Hangup(s.fd.load(std::memory_order_acquire));
        break;
      case OpKind::kEpollErr:
        kernel->RaiseErr(s.fd.load(std::memory_order_acquire));
        break;
      case OpKind::kEventErr: {
        const Reg* r = s.reg.load(std::memory_order_acquire);
        if (op.arg) o->everr_on[{r->pd, r->inc}]++;
        server->ErrEvent(r->key, op.arg != 0);
        break;
      }
      case OpKind::kDeadline:
        if (hs.closed || !Acquire(s)) break;
        {
          uint64_t ticket[2] = {0, 0};
          bool alone[2] = {false, false};  // no other set in flight when this one began
          for (int m : {0, 1}) {
            if ((m == 0 && op.mode == kModeWrite) || (m == 1 && op.mode == kModeRead)) continue;
            if (op.arg != 0) hs.deadline_set_inc[m] = hs.inc;
            alone[m] = hs.sets_finished[m] == hs.sets_started[m];
            ticket[m] = hs.sets_started[m]++;
          }
          s.reg.load(std::memory_order_relaxed)->pd->SetDeadline(op.arg, op.mode);
          for (int m : {0, 1}) {
            if ((m == 0 && op.mode == kModeWrite) || (m == 1 && op.mode == kModeRead)) continue;
            // Sets that overlapped were applied in an order the host did not
            // see: then no set is known to be the last, and none obliges.
            // Overlap is checked at both ends: none in flight when this one
            // began, none begun before it finished. Checking only the finish
            // (all earlier tickets done by now) missed an earlier set that
            // began first but took the descriptor's lock last: a "zero" that
            // cleared rd after this "past" set it, so the waiter rightly
            // parked again and the oracle cried lost wakeup (fuzz_sched on
            // fixed after 7.1 M execs, corpus/regressions/
            // harness-fuzz_sched-overlapping-deadline-sets.txt).
            const bool clean = alone[m] && hs.sets_started[m] == ticket[m] + 1;
            hs.last_set_past[m] = clean && op.arg < 0;
            hs.last_set_future[m] = clean && op.arg > 0;
            // The clock is read only for future sets (a scheduling point:
            // programs without them keep their recorded schedules).
            int64_t due = 0;
            if (op.arg > 0 && __builtin_add_overflow(sim::Now(), op.arg, &due)) due = INT64_MAX;
            hs.last_set_due[m] = due;
            hs.last_set_inc[m] = hs.inc;
            hs.sets_finished[m]++;
          }
        }
        Release(s);
        break;
      case OpKind::kUnblock:
        if (!hs.closed) Unblock(op.desc);
        break;
      case OpKind::kClose:
        // pollClose needs unblock first and no operation in flight (destroy
        // runs when fdMutex's count drops to zero): acquire pairs with the
        // references' release.
        // The claim is an RMW: a plain load could read the previous
        // incarnation's closing bit (weak memory) and close an open one.
        if (hs.closed) break;
        {
          uint32_t expect = kClosingBit;
          if (!s.refs.compare_exchange_strong(expect, kClosingBit | kClosedBit,
                                              std::memory_order_acq_rel)) {
            break;
          }
        }
        {
          PD* pd = s.reg.load(std::memory_order_relaxed)->pd;
          o->current_key[pd] = 0;  // before pollClose: its fdseq bump makes old keys stale
          server->Close(pd);
        }
        if (kernel != nullptr) kernel->Close(s.fd.load(std::memory_order_relaxed));
        hs.closed = true;
        break;
      case OpKind::kOpen: {
        if (!hs.closed) break;
        // Claim the slot before the first scheduling point (host memory: no
        // other fiber runs in between). Claiming after server->Open let two
        // threads both see it closed and open it twice, so a waiter on the
        // first incarnation was stranded (fuzz_sched on fixed, 2026-11-25).
        // Until refs is reset below, its closing|closed bits keep every
        // other op off the slot.
        hs.closed = false;
        const int fd = kernel != nullptr ? kernel->Pipe() : -1;
        PD* pd = server->Open(static_cast<uintptr_t>(fd)).first;
        hs.inc++;
        Reg* reg = sim::Make<Reg>(Reg{pd, server->EventKey(pd), hs.inc});
        o->current_key[pd] = reg->key;
        o->pd_slot[pd] = op.desc;
        // release: pairs with the writer's acquire load (io ops).
        if (kernel != nullptr) s.fd.store(fd, std::memory_order_release);
        hs.fd = fd;
        s.reg.store(reg, std::memory_order_release);
        s.refs.store(0, std::memory_order_release);  // pairs with Acquire
        break;
      }
      case OpKind::kAdvance:
        sim::Sleep(op.arg);
        break;
    }
  }

  // The drainer: see the header. A waiter woken by its unblock may go on
  // with more ops (even reopen and wait again), so it works in rounds until
  // every program thread is done.
  void Drain(int nthreads) {
    auto settled = [&] {
      for (int t = 0; t < nthreads; t++) {
        if (!o->done[t] && !o->threads[t].in_wait) return false;
      }
      return true;
    };
    auto all_done = [&] {
      for (int t = 0; t < nthreads; t++) {
        if (!o->done[t]) return false;
      }
      return true;
    };
    for (int round = 0; !all_done(); round++) {
      // Yield: a yield always lets another runnable thread run (the engine
      // does not offer the yielder), so the others make progress.
      while (!settled()) {
        Netpoll();
        sim::Yield();
      }
      LetDeadlinesPass(nthreads);
      CheckObligations(nthreads);
      for (int d = 0; d < static_cast<int>(slots->size()); d++) {
        if (!o->slots[d].closed) Unblock(d);
      }
      if (round == kDrainYields) Fail("the drainer is stuck: " + DescribeWaiters(nthreads));
      sim::Yield();
    }
  }

  // The future deadline that a parked waiter is owed (its last set on its
  // incarnation and mode, overlapping none), or nullopt.
  std::optional<int64_t> OwedDeadline(const Waiting& w) const {
    const HostSlot& hs = o->slots[w.desc];
    const int m = Mi(w.mode);
    if (!hs.last_set_future[m] || hs.last_set_inc[m] != w.inc) return std::nullopt;
    return hs.last_set_due[m];
  }

  // Cleanup never rescues: before the drainer unblocks anything, every
  // future deadline a parked waiter is owed must have had its chance to
  // fire, so virtual time runs up to the latest of them (a far deadline is
  // one time event, not an hour of steps). Timers due earlier fire first
  // (only the earliest future time event is eligible).
  void LetDeadlinesPass(int nthreads) {
    int64_t latest = 0;
    for (int t = 0; t < nthreads; t++) {
      const Waiting& w = o->threads[t];
      if (!w.in_wait) continue;
      if (auto due = OwedDeadline(w)) latest = std::max(latest, *due);
    }
    if (latest == 0) return;  // no clock read (a scheduling point): schedules keep replaying
    const int64_t now = sim::Now();
    if (latest >= now) sim::Sleep(latest - now + 1);
  }

  std::string DescribeWaiters(int nthreads) {
    std::string out;
    for (int t = 0; t < nthreads; t++) {
      const Waiting& w = o->threads[t];
      if (!w.in_wait) continue;
      const HostSlot& hs = o->slots[w.desc];
      out += "thread " + std::to_string(t) + " inside wait d" + std::to_string(w.desc) + " " +
             ops::ModeName(w.mode) + " (incarnation " + std::to_string(w.inc) + ", slot at " +
             std::to_string(hs.inc) + (hs.closed ? ", closed" : "") + ", unblocked inc " +
             (hs.unblock_done_inc == UINT64_MAX ? std::string("none")
                                                : std::to_string(hs.unblock_done_inc)) +
             "); ";
    }
    return out;
  }

  // The drainer is also the netpoller: Go's findrunnable polls the network
  // when it looks for work; here every drainer step is a netpoll(0) pass.
  void Netpoll() {
    if (kernel == nullptr) return;
    kernel->Poll([](void* w, uint64_t key, uint32_t events) { static_cast<World*>(w)->PollEvent(key, events); },
                 this);
  }

  // One epoll event, as the port's netpoll handles it (PollServer::PollEvent:
  // the mode from polldesc's EpollEventMode, the event error recorded, then
  // netpollready), with the oracle's counts. GO-DIFF: the read-only kernel
  // (programs without pipe events) delivers netpollready alone, as before,
  // so its recorded schedules replay; its events are EPOLLIN only, for which
  // Go's setEventErr(false) changes nothing the oracle judges.
  void PollEvent(uint64_t key, uint32_t events) {
    const int mode = EpollEventMode(events);
    if (mode == 0) return;
    if (pipe_events) {
      const void* pd = Server::KeyPd(key);
      if (events == EPOLLERR) {
        // The incarnation it is for: the open one if the key is current,
        // else none known (a stale event, Go's #59545 on the old variants).
        const auto it = o->pd_slot.find(pd);
        const uint64_t inc = it != o->pd_slot.end() && o->current_key[pd] == key
                                 ? o->slots[it->second].inc
                                 : UINT64_MAX - 1;
        o->everr_on[{pd, inc}]++;
      }
      server->ErrEvent(key, events == EPOLLERR);
    }
    Deliver(key, mode);
  }

  void CheckObligations(int nthreads) {
    for (int i = 0; i < kDrainYields; i++) {
      Netpoll();
      bool obligated = false;
      // The clock (a scheduling point) only when some waiter is owed a deadline.
      std::optional<int64_t> now;
      for (int t = 0; t < nthreads; t++) {
        if (o->threads[t].in_wait && OwedDeadline(o->threads[t]) && !now) now = sim::Now();
      }
      for (int t = 0; t < nthreads; t++) {
        const Waiting& w = o->threads[t];
        if (!w.in_wait) continue;
        const HostSlot& hs = o->slots[w.desc];
        // A later set may un-expire the deadline: the waiter then rightly
        // parks again (pollWait's retry), so only a still-past one obliges.
        // A still-past deadline of its incarnation obliges whenever it was
        // set: before or after the waiter's reset, rd/wd < 0 stays until
        // another set, and pollWait returns timeout on it (the waiter's
        // re-check, or the setter's wake). Counting only sets after the
        // reset missed one that landed between Reset and Wait.
        const bool past = hs.last_set_past[Mi(w.mode)] && hs.last_set_inc[Mi(w.mode)] == w.inc;
        // A future deadline whose time has come obliges exactly as a past
        // set does (its timer fired, or should have): the drainer's final
        // unblock must not turn the stranded waiter into a quiet `closing`.
        const auto due = OwedDeadline(w);
        const bool fired = due && now && *now >= *due;
        // What the pipe says, as its user sees it (the drainer's netpoll
        // passes deliver every edge): a reader parked while its writer has
        // hung up is owed a wake (its read returns 0); a writer parked while
        // its pipe has room again (drained after it found it full), or while
        // its reader is gone (EPIPE), is owed one. Stated from the kernel's
        // state, not from the port's readiness, so a port that maps the
        // hang-up or the drain to no wake is caught.
        const bool hup = w.reader && pipe_events && kernel->HungUpForOracle(w.fd);
        const bool drained = w.writer && (kernel->OutBytesForOracle(w.fd) < ops::kPipeCapacity ||
                                          kernel->ErroredForOracle(w.fd));
        if (o->ready[Mi(w.mode)][w.pd].finished > w.obl_base || hs.unblock_done_inc == w.inc ||
            past || fired || hup || drained) {
          obligated = true;
          if (i == kDrainYields - 1 && (hup || drained) && !past && !fired &&
              hs.unblock_done_inc != w.inc) {
            Fail("lost wakeup: thread " + std::to_string(t) + " is still parked in " +
                 (hup ? "read d" + std::to_string(w.desc) +
                            " although its writer hung up (the read would return 0, end of file)"
                  : kernel->ErroredForOracle(w.fd)
                      ? "write d" + std::to_string(w.desc) +
                            " although the kernel reported EPOLLERR (its reader is gone: EPIPE)"
                      : "write d" + std::to_string(w.desc) + " although its pipe was drained (" +
                            std::to_string(ops::kPipeCapacity - kernel->OutBytesForOracle(w.fd)) +
                            " of " + std::to_string(ops::kPipeCapacity) +
                            " bytes free) after it found it full"));
          }
          if (i == kDrainYields - 1 && w.reader && !past && !fired &&
              hs.unblock_done_inc != w.inc) {
            // The wake owed to a reader, said as its user sees it.
            const int64_t bytes = kernel->BytesForOracle(w.fd);
            Fail("lost wakeup: thread " + std::to_string(t) + " is still parked in read d" +
                 std::to_string(w.desc) + " although " +
                 (bytes > 0 ? std::to_string(bytes) + " byte(s) are readable and a ready was "
                                                       "delivered after they arrived"
                            : std::string("a ready was delivered after its read found the "
                                          "pipe empty")));
          }
          if (i == kDrainYields - 1) {
            Fail("lost wakeup: thread " + std::to_string(t) + " is still inside " +
                 (w.reader ? "read" : w.writer ? "write" : "wait") + " d" +
                 std::to_string(w.desc) + " " + ops::ModeName(w.mode) + " although " +
                 (hs.unblock_done_inc == w.inc ? std::string("its incarnation was unblocked")
                  : past  ? std::string("its deadline was set in the past")
                  : fired ? "its deadline passed " + std::to_string(*now - *due) +
                                " ns ago (due at " + std::to_string(*due) + " ns)"
                          : std::string("a ready finished after its reset")));
          }
        }
      }
      if (!obligated) return;
      sim::Yield();
    }
  }
};

template <class V>
void Body(const ops::Program& prog) {
  using W = World<V>;
  int ndesc = 1;
  for (const auto& th : prog.threads) {
    for (const Op& op : th) ndesc = std::max(ndesc, op.desc + 1);
  }
  const int nthreads = static_cast<int>(prog.threads.size());
  auto* o = sim::Make<Oracle>();
  o->slots.resize(ndesc);
  o->threads.resize(nthreads);
  o->done.assign(nthreads, false);
  auto* world = sim::Make<W>();
  world->o = o;
  // Programs with io or read ops get a simulated kernel (a pipe per
  // descriptor, registered with the server); the others stay in memory, with
  // no extra scheduling points (recorded schedules keep replaying).
  bool uses_fds = false, pipe_events = false;
  for (const auto& th : prog.threads) {
    for (const Op& op : th) {
      uses_fds |= ops::UsesFds(op.kind);
      pipe_events |= ops::UsesPipeEvents(op.kind);
    }
  }
  // Only programs with write, drain, hangup or epollerr get the kernel's
  // write side (the others keep the read-only kernel and their schedules).
  if (uses_fds) world->kernel = sim::Make<sim::Kernel>(pipe_events ? ops::kPipeCapacity : 0);
  world->pipe_events = pipe_events;
  world->server = sim::Make<typename W::Server>(
      world->kernel, CounterOrigin{prog.counters.fdseq, prog.counters.rseq, prog.counters.wseq});
  world->slots = sim::Make<std::vector<typename W::Slot>>(ndesc);
  for (int d = 0; d < ndesc; d++) {
    const int fd = uses_fds ? world->kernel->Pipe() : -1;
    if (uses_fds) (*world->slots)[d].fd.store(fd, std::memory_order_release);
    o->slots[d].fd = fd;
    auto* pd = world->server->Open(static_cast<uintptr_t>(fd)).first;
    auto* reg = sim::Make<typename W::Reg>(typename W::Reg{pd, world->server->EventKey(pd), 0});
    o->current_key[pd] = reg->key;
    o->pd_slot[pd] = d;
    (*world->slots)[d].reg.store(reg, std::memory_order_release);
  }
  std::vector<sim::JoinHandle> hs;
  for (int t = 0; t < nthreads; t++) {
    hs.push_back(sim::Spawn(
        [world, o, &prog, t] {
          for (const Op& op : prog.threads[t]) world->Exec(t, op);
          o->done[t] = true;
        },
        "program"));
  }
  auto drainer = sim::Spawn([world, nthreads] { world->Drain(nthreads); }, "drainer");
  for (auto& h : hs) h.Join();
  drainer.Join();
  // Every thread is done, none is parked: netpollWaiters must be back at 0
  // (DESIGN.md §4, accounting). Before tip the poller path never decrements
  // it (#33624): checked there only when asked (AccountingChecked).
  if (oracle::AccountingChecked(V::kName)) {
    if (oracle::AccountingWaitsForCallbacks()) world->server->WaitCallbacksIdle();
    const int32_t n = world->server->Waiters();
    if (n != 0) {
      world->Fail("waiter accounting: netpollWaiters is " + std::to_string(n) +
                  " after every thread finished, with no waiter parked" +
                  (n > 0 ? " (a wake that never subtracted its waiter: the shape of Go #33624)" : " (negative)"));
    }
  }
}

}  // namespace

std::string CheckProgram(const ops::Program& prog) {
  if (prog.threads.empty()) return "the program has no thread";
  if (static_cast<int>(prog.threads.size()) > kMaxProgramThreads) {
    return "the simulator runs at most " + std::to_string(kMaxProgramThreads) +
           " program threads, not " + std::to_string(prog.threads.size());
  }
  return "";
}

uint64_t DefaultMaxSteps(const ops::Program& prog) {
  constexpr uint64_t kStepsPerOp = 100;
  return std::max<uint64_t>(sim::rt::kDefaultMaxSteps, kStepsPerOp * prog.NumOps());
}

std::optional<sim::Finding> RunProgram(const ops::Program& prog, std::string_view variant,
                                       const sim::RunConfig& cfg, sim::CheckStats* stats) {
  std::optional<sim::Finding> f;
  (void)WaiterPolls();  // a bad value is an error before any execution
  ForVariant(variant, [&](auto v) {
    using V = typename decltype(v)::type;
    f = sim::Check(cfg, [&prog] { Body<V>(prog); }, stats);
  });
  return f;
}

}  // namespace pollstorm::simrun
