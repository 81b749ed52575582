#include "harness/sim/rt/execution.h"

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "harness/sim/choose/chooser.h"

namespace pollstorm::sim::rt {

thread_local Execution* tls_current = nullptr;

namespace {

// Names executions so a facade can tell whether its cached Location index
// belongs to the running one. Never influences a choice.
std::atomic<uint32_t> g_epochs{0};

uint32_t NextEpoch() {
  for (;;) {
    const uint32_t e = g_epochs.fetch_add(1, std::memory_order_relaxed) + 1;
    if (e != 0) return e;  // 0 means "no execution" in the headers
  }
}

bool IsAcquire(std::memory_order o) {
  return o == std::memory_order_acquire || o == std::memory_order_acq_rel ||
         o == std::memory_order_seq_cst || o == std::memory_order_consume;
}
bool IsRelease(std::memory_order o) {
  return o == std::memory_order_release || o == std::memory_order_acq_rel ||
         o == std::memory_order_seq_cst;
}

// kMaxRaceNotes: when races are not findings, how many are kept as notes on
// the execution's outcome (the first ones; later ones are only counted).
constexpr uint32_t kMaxRaceNotes = 2;

const char* OrderName(std::memory_order o) {
  switch (o) {
    case std::memory_order_relaxed:
      return "relaxed";
    case std::memory_order_consume:
      return "consume";
    case std::memory_order_acquire:
      return "acquire";
    case std::memory_order_release:
      return "release";
    case std::memory_order_acq_rel:
      return "acq_rel";
    case std::memory_order_seq_cst:
      return "seq_cst";
  }
  return "?";
}

const char* AccessName(Access a) {
  switch (a) {
    case Access::kAtomic:
      return "atomic";
    case Access::kPlain:
      return "plain";
    case Access::kSharedAtomic:
      return "Go-atomic";
  }
  return "?";
}

using ull = unsigned long long;

}  // namespace

Execution::Execution() {
  threads_.reserve(kMaxThreads);
  eligible_.reserve(16);
}

Execution::~Execution() = default;

// ---------------------------------------------------------------------------
// Running an execution
// ---------------------------------------------------------------------------

Execution::Outcome Execution::Run(Chooser& chooser, Schedule& schedule,
                                  const std::function<void()>& body, const Config& config,
                                  StackPool& stacks) {
  cfg_ = config;
  chooser_ = &chooser;
  schedule_ = &schedule;
  stacks_ = &stacks;
  epoch_ = NextEpoch();
  nthreads_ = 0;
  timer_thread_ = kNoThread;
  nlocs_ = 0;
  mutexes_.clear();
  timers_.clear();
  timer_serial_ = 0;
  now_ = kStartTime;
  steps_ = 0;
  sc_counter_ = 0;
  sc_fences_.Clear();
  outcome_ = Outcome{};
  races_seen_ = 0;
  trace_.clear();

  host_.InitHost();
  Thread& main = NewThread("main", false);
  main.fn = &body;
  tls_current = this;
  running_ = &main;
  Fiber::Switch(&host_, &main.fiber, false);
  // Back on the host: the execution completed or was abandoned. No fiber is
  // resumed from here on.
  tls_current = nullptr;
  running_ = nullptr;
  outcome_.steps = steps_;
  outcome_.threads = nthreads_;
  outcome_.trace.assign(trace_.begin(), trace_.end());
  trace_.clear();
  if (races_seen_ > kMaxRaceNotes) {
    outcome_.notes.push_back("(" + std::to_string(races_seen_ - kMaxRaceNotes) +
                             " more data races not shown)");
  }
  for (uint32_t i = 0; i < nthreads_; i++) {
    Thread& t = *threads_[i];
    t.fiber.Release();
    stacks_->Put(t.stack);
    t.fn = nullptr;
    t.owned_fn = nullptr;  // destroys the closure on the host, facades in direct mode
  }
  for (auto it = owned_.rbegin(); it != owned_.rend(); ++it) (*it)();
  owned_.clear();
  return outcome_;
}

Execution::Thread& Execution::NewThread(const char* name, bool is_timer) {
  if (threads_.size() <= nthreads_) threads_.push_back(std::make_unique<Thread>());
  Thread& t = *threads_[nthreads_];
  t.id = nthreads_++;
  t.state = State::kRunnable;
  t.is_timer = is_timer;
  t.name = name;
  t.fn = nullptr;
  t.owned_fn = nullptr;
  t.view.Clear();
  t.view.hb[t.id] = 1;
  t.fence_release.Clear();
  t.has_fence_release = false;
  t.pending_acquire.Clear();
  t.wait_index = 0;
  t.wait_site = Site{};
  t.wake_time = 0;
  t.parker.owner_ = t.id;
  t.park_token = false;
  t.park_view.Clear();
  t.stack = stacks_->Get();
  t.fiber.Prepare(t.stack, &Execution::ThreadEntry, &t);
  return t;
}

namespace {
// Runs the thread's function; on an escaping exception returns its
// description. Kept apart from ThreadEntry so that nothing that owns memory
// is alive on the fiber's stack when the execution is abandoned.
bool RunGuarded(const std::function<void()>& fn, std::string* what) {
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    *what = e.what();
  } catch (...) {
    *what = "(not a std::exception)";
  }
  return false;
}
}  // namespace

void Execution::ThreadEntry(void* arg) {
  auto* t = static_cast<Thread*>(arg);
  Execution* ex = Current();
  if (t->is_timer) ex->TimerLoop();
  std::string what;
  if (!RunGuarded(*t->fn, &what)) {
    ex->SetFinding(FindingKind::kException, "uncaught exception: " + what);
    what = std::string();  // release the heap buffer before leaving this stack for good
    ex->Abandon();
  }
  ex->ThreadExit();
}

void Execution::ThreadExit() {
  Thread& t = Cur();
  Tick(t);
  t.state = State::kFinished;
  for (uint32_t i = 0; i < nthreads_; i++) {
    Thread& j = *threads_[i];
    if (j.state == State::kJoin && j.wait_index == t.id) j.state = State::kRunnable;
  }
  BlockAndSwitch(/*exiting=*/true);
  std::abort();  // a finished thread is never picked
}

std::string Execution::ThreadName(ThreadId id) const {
  std::string s = "T" + std::to_string(id);
  if (id < nthreads_ && threads_[id]->name != nullptr) {
    s += " (";
    s += threads_[id]->name;
    s += ")";
  }
  return s;
}

ThreadId Execution::CurrentThread() const {
  return running_->id;
}

// ---------------------------------------------------------------------------
// Scheduling
// ---------------------------------------------------------------------------

void Execution::SchedulePoint(bool yielding) {
  if (++steps_ > cfg_.max_steps) {
    SetFinding(FindingKind::kStepBound,
               "more than " + std::to_string(cfg_.max_steps) +
                   " scheduling points: a livelock candidate (or raise RunConfig::max_steps)");
    Abandon();
  }
  CollectRunnable();
  if (nrunnable_ <= 1) return;  // only the current thread can run
  if (yielding) {
    // A yield lets another thread run (sched_yield on a fair scheduler): the
    // yielding thread is not offered. Without this, a chooser (fuzzer bytes
    // above all) could pick a spin-waiting thread forever, and an obligation
    // counted in its yields (the drainer's) would blame correct code for
    // the scheduler's unfairness.
    uint32_t n = 0;
    for (uint32_t i = 0; i < nrunnable_; i++) {
      if (runnable_[i] != running_->id) runnable_[n++] = runnable_[i];
    }
    nrunnable_ = n;
  }
  const ThreadId next = Choose(/*current_runnable=*/true, yielding);
  if (next != running_->id) SwitchTo(next, false);
}

void Execution::BlockAndSwitch(bool exiting) {
  CollectRunnable();
  if (nrunnable_ == 0) EndNoRunnable();
  SwitchTo(Choose(/*current_runnable=*/false, false), exiting);
}

bool Execution::TimeEventEligible(int64_t when) const {
  // Overdue events may fire at any time (a late timer); of the future ones
  // only the earliest, because firing it is what moves the clock.
  return when <= now_ || when == min_future_;
}

void Execution::CollectRunnable() {
  bool user_live = false;
  min_future_ = INT64_MAX;
  for (uint32_t i = 0; i < nthreads_; i++) {
    const Thread& t = *threads_[i];
    if (!t.is_timer && t.state != State::kFinished) user_live = true;
    if (t.state == State::kSleeping && t.wake_time > now_) {
      min_future_ = std::min(min_future_, t.wake_time);
    }
  }
  // Timers fire only while some program thread can still observe them: once
  // every thread has finished, pending timers are simply left.
  const bool timers_live = timer_thread_ != kNoThread &&
                           threads_[timer_thread_]->state == State::kTimerIdle && user_live;
  if (timers_live) {
    for (const TimerRec& r : timers_) {
      if (r.pending && r.when > now_) min_future_ = std::min(min_future_, r.when);
    }
  }
  if (cfg_.lazy_time) {
    // Lazy time: a future event is eligible only once no thread can run, so
    // the clock stands still while any thread has work (overdue events still
    // fire at any point: they do not move the clock).
    // A yielding thread still holds it: the sequential oracle yields inside
    // an op (waiting for a waiter to park) and that op must stay one instant.
    for (uint32_t i = 0; i < nthreads_; i++) {
      if (threads_[i]->state == State::kRunnable) {
        min_future_ = INT64_MAX;
        break;
      }
    }
  }
  nrunnable_ = 0;
  for (uint32_t i = 0; i < nthreads_; i++) {
    const Thread& t = *threads_[i];
    bool ok = false;
    switch (t.state) {
      case State::kRunnable:
        ok = true;
        break;
      case State::kSleeping:
        ok = TimeEventEligible(t.wake_time);
        break;
      case State::kTimerIdle:
        if (timers_live) {
          for (const TimerRec& r : timers_) ok |= r.pending && TimeEventEligible(r.when);
        }
        break;
      default:
        break;
    }
    if (ok) runnable_[nrunnable_++] = t.id;
  }
}

ThreadId Execution::Choose(bool current_runnable, bool yielding) {
  if (nrunnable_ == 1) return runnable_[0];
  std::optional<ThreadId> current;
  if (current_runnable) current = running_->id;
  const std::optional<ThreadId> pick = chooser_->PickThread(
      std::span<const ThreadId>(runnable_.data(), nrunnable_), current, yielding);
  if (!pick.has_value()) {
    SetFinding(FindingKind::kReplayMismatch,
               chooser_->Error().empty() ? std::string("the chooser abandoned the execution")
                                         : chooser_->Error());
    Abandon();
  }
  bool member = false;
  for (uint32_t i = 0; i < nrunnable_; i++) member |= runnable_[i] == *pick;
  if (!member) {
    SetFinding(FindingKind::kMisuse,
               "the chooser picked T" + std::to_string(*pick) + ", which is not runnable");
    Abandon();
  }
  schedule_->choices.push_back({Choice::Kind::kThread, *pick});
  return *pick;
}

uint64_t Execution::PickValue(uint64_t bound) {
  if (bound <= 1) return 0;
  uint64_t v = chooser_->PickValue(bound);
  if (!chooser_->Error().empty()) {
    SetFinding(FindingKind::kReplayMismatch, chooser_->Error());
    Abandon();
  }
  if (v >= bound) v %= bound;
  schedule_->choices.push_back({Choice::Kind::kValue, v});
  return v;
}

void Execution::SwitchTo(ThreadId next, bool exiting) {
  Thread& to = *threads_[next];
  if (to.state == State::kSleeping) {
    // Waking a sleeper is a time event: the clock jumps to its wake time.
    now_ = std::max(now_, to.wake_time);
    to.state = State::kRunnable;
  } else if (to.state == State::kTimerIdle) {
    to.state = State::kRunnable;  // FireOneTimer moves the clock
  }
  Thread* from = running_;
  // A thread that just went to sleep (or the timer fiber that just went
  // idle) may itself be the event the scheduler picked: it simply goes on.
  if (from == &to) return;
  running_ = &to;
  Fiber::Switch(&from->fiber, &to.fiber, exiting);
}

void Execution::EndNoRunnable() {
  bool live = false;
  for (uint32_t i = 0; i < nthreads_; i++) {
    const State s = threads_[i]->state;
    live |= s != State::kFinished && s != State::kTimerIdle;
  }
  if (!live) {
    outcome_.finished = true;
    Fiber::Switch(&running_->fiber, &host_, /*from_exits=*/true);
    std::abort();
  }
  SetFinding(FindingKind::kDeadlock,
             "every thread is blocked and no timer is pending: a lost wakeup candidate");
  for (uint32_t i = 0; i < nthreads_; i++) {
    const Thread& t = *threads_[i];
    std::string d = ThreadName(t.id);
    switch (t.state) {
      case State::kParked:
        d += " parked at " + t.wait_site.ToString();
        break;
      case State::kMutex: {
        const MutexRec& m = mutexes_[t.wait_index];
        d += " waits at " + t.wait_site.ToString() + " for a mutex held by " + ThreadName(m.owner) +
             " (locked at " + m.owner_site.ToString() + ")";
        break;
      }
      case State::kJoin:
        d += " joins " + ThreadName(t.wait_index) + " at " + t.wait_site.ToString();
        break;
      case State::kWaitIdle:
        d += " waits for a timer callback to finish at " + t.wait_site.ToString();
        break;
      default:
        continue;  // finished, or an idle timer fiber
    }
    outcome_.details.push_back(std::move(d));
  }
  Abandon();
}

void Execution::SetFinding(FindingKind kind, std::string message) {
  outcome_.finished = false;
  outcome_.kind = kind;
  outcome_.message = std::move(message);
  outcome_.thread = running_ != nullptr ? ThreadName(running_->id) : std::string("host");
}

void Execution::Trace(Site site, const char* fmt, ...) {
  char buf[256];
  int n = std::snprintf(buf, sizeof buf, "#%llu %s: ", static_cast<ull>(steps_),
                        ThreadName(running_->id).c_str());
  if (n < 0 || n >= static_cast<int>(sizeof buf)) n = 0;
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf + n, sizeof buf - n, fmt, ap);
  va_end(ap);
  if (trace_.size() == kMaxTraceEvents) trace_.pop_front();
  trace_.push_back(std::string(buf) + "  [" + site.ToString() + "]");
}

void Execution::Abandon() {
  Fiber::Switch(&running_->fiber, &host_, /*from_exits=*/true);
  std::abort();  // an abandoned fiber is never resumed
}

// ---------------------------------------------------------------------------
// Memory: cells, the weak-memory model, the race detector
// ---------------------------------------------------------------------------

void Execution::OnConstruct(CellHeader& h) {
  Thread& t = Cur();
  Tick(t);  // the initialising write is an event of its own
  h.exec = 0;
  h.ctor_exec = epoch_;
  h.ctor_tid = t.id;
  h.ctor_time = t.view.hb[t.id];
}

Location& Execution::Loc(CellHeader& h, uint64_t& mirror, bool shared) {
  if (h.exec == epoch_) return *locs_[h.index];
  if (nlocs_ == locs_.size()) locs_.push_back(std::make_unique<Location>());
  const uint32_t idx = nlocs_++;
  Location& l = *locs_[idx];
  l.n = 1;
  l.next_serial = 1;
  l.shared = shared;
  l.mirror = &mirror;
  StoreRecord& s = l.hist[0];
  s.value = mirror;
  s.serial = 0;
  s.rmw = false;
  s.has_release = false;
  s.sc_seen = kNeverSc;
  if (h.ctor_exec == epoch_) {
    s.tid = h.ctor_tid;
    s.time = h.ctor_time;
    s.first_seen.Fill(VectorClock::kNever);
    s.first_seen[s.tid] = s.time;
  } else {
    // Built before this execution: every thread has seen it.
    s.tid = kNoThread;
    s.time = 0;
    s.first_seen.Clear();
  }
  if (shared) {
    l.race.Clear();
    if (s.tid != kNoThread) l.race.plain_write[s.tid] = {s.time, Site{"?", "constructor", 0}};
  }
  h.exec = epoch_;
  h.index = idx;
  return l;
}

uint32_t Execution::Floor(const Location& l, const Thread& t, bool sc) const {
  for (uint32_t p = l.n - 1; p > 0; p--) {
    const StoreRecord& s = l.hist[p];
    if (s.sc_seen <= t.view.fence_sc) return p;
    if (sc && s.sc_seen != kNeverSc) return p;
    for (ThreadId u = 0; u < nthreads_; u++) {
      const uint32_t fs = s.first_seen[u];
      if (fs == VectorClock::kNever) continue;
      if (fs <= t.view.hb[u] || fs <= t.view.fence[u] || (sc && fs <= sc_fences_[u])) return p;
    }
  }
  return 0;
}

void Execution::Observe(StoreRecord& s, Thread& t, bool sc) {
  if (s.first_seen[t.id] == VectorClock::kNever) s.first_seen[t.id] = t.view.hb[t.id];
  if (sc && s.sc_seen == kNeverSc) s.sc_seen = sc_counter_;
}

void Execution::Acquire(Thread& t, const StoreRecord& s, bool acquire) {
  if (!s.has_release) return;
  if (acquire) {
    t.view.Join(s.release);
  } else {
    t.pending_acquire.Join(s.release);  // for a later acquire fence
  }
}

void Execution::ReleaseInto(const Thread& t, bool release, StoreRecord& s) {
  if (release) {
    s.release = t.view;
    s.has_release = true;
  } else if (t.has_fence_release) {
    s.release = t.fence_release;  // a release fence earlier in this thread
    s.has_release = true;
  } else {
    s.has_release = false;
  }
}

void Execution::Append(Location& l, const StoreRecord& s) {
  if (l.n == kMaxStoreHistory) {
    std::move(l.hist.begin() + 1, l.hist.begin() + l.n, l.hist.begin());
    l.n--;
  }
  l.hist[l.n++] = s;
  *l.mirror = s.value;
}

void Execution::InsertAt(Location& l, uint32_t pos, const StoreRecord& s) {
  if (l.n == kMaxStoreHistory) {
    std::move(l.hist.begin() + 1, l.hist.begin() + l.n, l.hist.begin());
    l.n--;
    pos--;
  }
  std::move_backward(l.hist.begin() + pos, l.hist.begin() + l.n, l.hist.begin() + l.n + 1);
  l.hist[pos] = s;
  l.n++;
  *l.mirror = l.hist[l.n - 1].value;
}

void Execution::RaceCheck(Location& l, Thread& t, bool write, bool atomic, Site site) {
  if (!cfg_.detect_races) return;
  RaceState& r = l.race;
  // Which earlier accesses conflict with this one (C++: two accesses, at
  // least one a write, at least one non-atomic).
  struct Kind {
    const std::array<RaceState::Access, kMaxThreads>* arr;
    const char* name;
  };
  Kind kinds[4];
  int nk = 0;
  if (!atomic) {
    kinds[nk++] = {&r.plain_write, "plain write"};
    kinds[nk++] = {&r.atomic_write, "atomic write"};
    if (write) {
      kinds[nk++] = {&r.plain_read, "plain read"};
      kinds[nk++] = {&r.atomic_read, "atomic read"};
    }
  } else {
    kinds[nk++] = {&r.plain_write, "plain write"};
    if (write) kinds[nk++] = {&r.plain_read, "plain read"};
  }
  for (int k = 0; k < nk; k++) {
    for (ThreadId u = 0; u < nthreads_; u++) {
      if (u == t.id) continue;
      const RaceState::Access& a = (*kinds[k].arr)[u];
      if (a.time == 0 || a.time <= t.view.hb[u]) continue;
      races_seen_++;
      if (!cfg_.races_are_findings && races_seen_ > kMaxRaceNotes) break;
      const char* mine = atomic ? (write ? "atomic write" : "atomic read")
                                : (write ? "plain write" : "plain read");
      std::string msg = std::string("data race on a Shared cell: ") + mine + " by " +
                        ThreadName(t.id) + " at " + site.ToString() + " and " + kinds[k].name +
                        " by " + ThreadName(u) + " at " + a.site.ToString() +
                        " are not ordered by happens-before";
      if (cfg_.races_are_findings) {
        SetFinding(FindingKind::kDataRace, std::move(msg));
        Abandon();
      }
      outcome_.notes.push_back(std::move(msg));
      break;
    }
  }
  const RaceState::Access mine{t.view.hb[t.id], site};
  if (atomic) {
    (write ? r.atomic_write : r.atomic_read)[t.id] = mine;
  } else {
    (write ? r.plain_write : r.plain_read)[t.id] = mine;
  }
}

uint64_t Execution::Load(CellHeader& h, uint64_t& mirror, Access a, std::memory_order o,
                         Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  Location& l = Loc(h, mirror, a != Access::kAtomic);
  if (l.shared) RaceCheck(l, t, /*write=*/false, a == Access::kSharedAtomic, site);
  const bool atomic = a != Access::kPlain;
  const bool sc = atomic && o == std::memory_order_seq_cst;
  if (sc) ++sc_counter_;
  uint32_t pos = l.n - 1;
  if (cfg_.weak_memory && pos > 0) {
    // Choice 0 is the mo-latest store; choice i the i-th older one.
    const uint32_t floor = Floor(l, t, sc);
    if (floor < pos) pos -= static_cast<uint32_t>(PickValue(pos - floor + 1));
  }
  StoreRecord& s = l.hist[pos];
  Observe(s, t, sc);
  if (atomic) Acquire(t, s, IsAcquire(o));
  if (cfg_.trace) {
    const char* stale = pos + 1 == l.n ? "" : " (STALE: an older store)";
    if (a == Access::kPlain) {
      Trace(site, "plain read -> %#llx%s", static_cast<ull>(s.value), stale);
    } else {
      Trace(site, "%s load(%s) -> %#llx%s", AccessName(a), OrderName(o), static_cast<ull>(s.value),
            stale);
    }
  }
  return s.value;
}

void Execution::Store(CellHeader& h, uint64_t& mirror, Access a, uint64_t v, std::memory_order o,
                      Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  Location& l = Loc(h, mirror, a != Access::kAtomic);
  if (l.shared) RaceCheck(l, t, /*write=*/true, a == Access::kSharedAtomic, site);
  const bool atomic = a != Access::kPlain;
  const bool sc = atomic && o == std::memory_order_seq_cst;
  StoreRecord s;
  s.value = v;
  s.serial = l.next_serial++;
  s.tid = t.id;
  s.time = t.view.hb[t.id];
  s.rmw = false;
  s.sc_seen = sc ? ++sc_counter_ : kNeverSc;
  s.first_seen.Fill(VectorClock::kNever);
  s.first_seen[t.id] = s.time;
  // A release fence does not make a later non-atomic store a release.
  if (atomic) {
    ReleaseInto(t, IsRelease(o), s);
  } else {
    s.has_release = false;
  }
  if (cfg_.weak_memory && a == Access::kAtomic && !sc) {
    // A relaxed/release store may go before later stores this thread is not
    // obliged to see, but never between an RMW and the store it read.
    // Choice 0 appends; choice i is the i-th legal slot counting back.
    const uint32_t floor = Floor(l, t, false);
    uint32_t legal = 0;
    for (uint32_t p = l.n; p > floor; p--) legal += (p == l.n || !l.hist[p].rmw) ? 1 : 0;
    uint64_t c = PickValue(legal);
    uint32_t pos = l.n;
    for (uint32_t p = l.n; p > floor; p--) {
      if (p != l.n && l.hist[p].rmw) continue;
      if (c == 0) {
        pos = p;
        break;
      }
      c--;
    }
    InsertAt(l, pos, s);
    if (cfg_.trace) {
      Trace(site, "atomic store(%s) %#llx%s", OrderName(o), static_cast<ull>(v),
            pos + 1 == l.n ? "" : " (placed before later stores in mo)");
    }
  } else {
    Append(l, s);
    if (cfg_.trace) {
      if (a == Access::kPlain) {
        Trace(site, "plain write %#llx", static_cast<ull>(v));
      } else {
        Trace(site, "%s store(%s) %#llx", AccessName(a), OrderName(o), static_cast<ull>(v));
      }
    }
  }
}

uint64_t Execution::Rmw(CellHeader& h, uint64_t& mirror, Access a, RmwOp op, uint64_t arg,
                        uint64_t mask, std::memory_order o, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  Location& l = Loc(h, mirror, a != Access::kAtomic);
  if (l.shared) RaceCheck(l, t, /*write=*/true, /*atomic=*/true, site);
  const bool sc = o == std::memory_order_seq_cst;
  if (sc) ++sc_counter_;
  // An RMW reads the mo-latest store (it must read its immediate mo
  // predecessor, and RMW stores always go last).
  StoreRecord& prev = l.hist[l.n - 1];
  Observe(prev, t, sc);
  Acquire(t, prev, IsAcquire(o));
  const uint64_t old = prev.value;
  StoreRecord s;
  s.value = op == RmwOp::kExchange ? (arg & mask) : ((old + arg) & mask);
  s.serial = l.next_serial++;
  s.tid = t.id;
  s.time = t.view.hb[t.id];
  s.rmw = true;
  s.sc_seen = sc ? sc_counter_ : kNeverSc;
  s.first_seen.Fill(VectorClock::kNever);
  s.first_seen[t.id] = s.time;
  // Release sequence: an RMW carries on the release of the store it read.
  s.has_release = prev.has_release;
  if (prev.has_release) s.release = prev.release;
  if (IsRelease(o) || t.has_fence_release) {
    const View& mine = IsRelease(o) ? t.view : t.fence_release;
    if (s.has_release) {
      s.release.Join(mine);
    } else {
      s.release = mine;
      s.has_release = true;
    }
  }
  Append(l, s);
  if (cfg_.trace) {
    Trace(site, "%s %s(%s) %#llx, read %#llx", AccessName(a),
          op == RmwOp::kExchange ? "exchange" : "fetch_add", OrderName(o),
          static_cast<ull>(arg & mask), static_cast<ull>(old));
  }
  return old;
}

bool Execution::CompareExchange(CellHeader& h, uint64_t& mirror, Access a, uint64_t& expected,
                                uint64_t desired, std::memory_order success,
                                std::memory_order failure, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  Location& l = Loc(h, mirror, a != Access::kAtomic);
  // A CAS reads the mo-latest store (a failed one too, as hardware does; C++
  // would let it read an older one, so this only removes behaviours).
  const bool ok = l.Latest().value == expected;
  if (l.shared) RaceCheck(l, t, /*write=*/ok, /*atomic=*/true, site);
  if (!ok) {
    const bool sc = failure == std::memory_order_seq_cst;
    if (sc) ++sc_counter_;
    StoreRecord& prev = l.hist[l.n - 1];
    Observe(prev, t, sc);
    Acquire(t, prev, IsAcquire(failure));
    expected = prev.value;
    if (cfg_.trace) {
      Trace(site, "%s CAS(%s) %#llx -> %#llx failed, read %#llx", AccessName(a), OrderName(failure),
            static_cast<ull>(expected), static_cast<ull>(desired), static_cast<ull>(prev.value));
    }
    return false;
  }
  // Success: exactly an exchange (the facade passes the value's width mask
  // implicitly: desired already has it).
  const bool sc = success == std::memory_order_seq_cst;
  if (sc) ++sc_counter_;
  StoreRecord& prev = l.hist[l.n - 1];
  Observe(prev, t, sc);
  Acquire(t, prev, IsAcquire(success));
  StoreRecord s;
  s.value = desired;
  s.serial = l.next_serial++;
  s.tid = t.id;
  s.time = t.view.hb[t.id];
  s.rmw = true;
  s.sc_seen = sc ? sc_counter_ : kNeverSc;
  s.first_seen.Fill(VectorClock::kNever);
  s.first_seen[t.id] = s.time;
  s.has_release = prev.has_release;
  if (prev.has_release) s.release = prev.release;
  if (IsRelease(success) || t.has_fence_release) {
    const View& mine = IsRelease(success) ? t.view : t.fence_release;
    if (s.has_release) {
      s.release.Join(mine);
    } else {
      s.release = mine;
      s.has_release = true;
    }
  }
  Append(l, s);
  if (cfg_.trace) {
    Trace(site, "%s CAS(%s) %#llx -> %#llx ok", AccessName(a), OrderName(success),
          static_cast<ull>(expected), static_cast<ull>(desired));
  }
  return true;
}

void Execution::Fence(std::memory_order o, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  if (IsAcquire(o)) t.view.Join(t.pending_acquire);
  if (o == std::memory_order_seq_cst) {
    // The fences' total order is the order they execute in. Everything seen
    // before an earlier fence must be seen after this one (C++20
    // [atomics.order] p4.4), and every seq_cst op before it (p4.3).
    ++sc_counter_;
    sc_fences_.Join(t.view.hb);
    t.view.fence.Join(sc_fences_);
    t.view.fence_sc = sc_counter_;
  }
  if (IsRelease(o)) {
    t.fence_release = t.view;
    t.has_fence_release = true;
  }
  if (cfg_.trace) Trace(site, "fence(%s)", OrderName(o));
}

// ---------------------------------------------------------------------------
// Mutex and Parker
// ---------------------------------------------------------------------------

Execution::MutexRec& Execution::MutexOf(ObjHeader& h) {
  if (h.exec != epoch_) {
    h.exec = epoch_;
    h.index = static_cast<uint32_t>(mutexes_.size());
    mutexes_.emplace_back();
  }
  return mutexes_[h.index];
}

void Execution::Lock(ObjHeader& h, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  for (;;) {
    MutexRec& m = MutexOf(h);  // re-fetched: the table may grow while we block
    if (m.owner == kNoThread) {
      m.owner = t.id;
      m.owner_site = site;
      t.view.Join(m.view);
      if (cfg_.trace) Trace(site, "lock");
      return;
    }
    if (m.owner == t.id) {
      SetFinding(FindingKind::kMisuse, "lock at " + site.ToString() +
                                           " of a mutex this thread already holds (locked at " +
                                           m.owner_site.ToString() + "): self-deadlock");
      Abandon();
    }
    t.state = State::kMutex;
    t.wait_index = h.index;
    t.wait_site = site;
    if (cfg_.trace) Trace(site, "lock blocks (held by %s)", ThreadName(m.owner).c_str());
    BlockAndSwitch();
  }
}

void Execution::Unlock(ObjHeader& h, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  MutexRec& m = MutexOf(h);
  if (m.owner != t.id) {
    SetFinding(FindingKind::kMisuse,
               "unlock at " + site.ToString() + " of a mutex this thread does not hold");
    Abandon();
  }
  m.view = t.view;
  m.owner = kNoThread;
  // Every waiter retries; the scheduler decides who gets the lock.
  for (uint32_t i = 0; i < nthreads_; i++) {
    Thread& w = *threads_[i];
    if (w.state == State::kMutex && w.wait_index == h.index) w.state = State::kRunnable;
  }
  if (cfg_.trace) Trace(site, "unlock");
}

Parker* Execution::CurrentParker() {
  return &Cur().parker;
}

void Execution::Park(ThreadId owner, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  if (owner != t.id) {
    SetFinding(FindingKind::kMisuse, "Park at " + site.ToString() + " on " + ThreadName(owner) +
                                         "'s parker, not the caller's own");
    Abandon();
  }
  if (!t.park_token) {
    t.state = State::kParked;
    t.wait_site = site;
    if (cfg_.trace) Trace(site, "park: blocks");
    BlockAndSwitch();
    if (cfg_.trace) Trace(site, "park: woken");
  } else if (cfg_.trace) {
    Trace(site, "park: an earlier unpark is kept, returns at once");
  }
  t.park_token = false;
  t.view.Join(t.park_view);
}

void Execution::Unpark(ThreadId owner, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  if (owner >= nthreads_) {
    SetFinding(FindingKind::kMisuse, "Unpark at " + site.ToString() + " of a stale parker");
    Abandon();
  }
  Thread& p = *threads_[owner];
  p.park_view.Join(t.view);
  p.park_token = true;
  if (p.state == State::kParked) p.state = State::kRunnable;
  if (cfg_.trace) Trace(site, "unpark %s", ThreadName(owner).c_str());
}

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

int64_t Execution::Nanotime(Site site) {
  SchedulePoint();
  Tick(Cur());
  if (cfg_.trace) Trace(site, "nanotime -> %lld", static_cast<long long>(now_));
  return now_;
}

Execution::TimerRec& Execution::TimerOf(ObjHeader& h) {
  if (h.exec != epoch_) {
    h.exec = epoch_;
    h.index = static_cast<uint32_t>(timers_.size());
    timers_.emplace_back();
  }
  return timers_[h.index];
}

void Execution::TimerModify(ObjHeader& h, int64_t when, TimerFunc f, void* arg, uintptr_t seq,
                            Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  if (timer_thread_ == kNoThread) {
    if (nthreads_ == kMaxThreads) {
      SetFinding(FindingKind::kLimit, "the timer fiber would exceed rt::kMaxThreads (" +
                                          std::to_string(kMaxThreads) + ")");
      Abandon();
    }
    Thread& tf = NewThread("timer", true);
    tf.state = State::kTimerIdle;
    timer_thread_ = tf.id;
  }
  TimerRec& r = TimerOf(h);
  // Go's modtimer updates the timer's status word with an RMW: acquire and
  // release on the timer, not on a global lock.
  t.view.Join(r.view);
  r.view = t.view;
  r.pending = true;
  r.when = when;
  r.f = f;
  r.arg = arg;
  r.seq = seq;
  r.arm_serial = ++timer_serial_;
  if (cfg_.trace) {
    Trace(site, "timer %u modify: when=%lld seq=%llu", h.index, static_cast<long long>(when),
          static_cast<ull>(seq));
  }
}

bool Execution::TimerDelete(ObjHeader& h, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  TimerRec& r = TimerOf(h);
  t.view.Join(r.view);
  r.view = t.view;
  const bool was = r.pending;
  r.pending = false;  // a callback already running is not waited for
  if (cfg_.trace)
    Trace(site, "timer %u delete -> %s", h.index, was ? "was pending" : "not pending");
  return was;
}

void Execution::TimerWaitIdle(ObjHeader& h, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  for (;;) {
    TimerRec& r = TimerOf(h);
    if (!r.running) {
      t.view.Join(r.idle_view);
      return;
    }
    t.state = State::kWaitIdle;
    t.wait_index = h.index;
    t.wait_site = site;
    BlockAndSwitch();
  }
}

void Execution::TimerLoop() {
  for (;;) {
    FireOneTimer();
    Cur().state = State::kTimerIdle;
    BlockAndSwitch();
  }
}

void Execution::FireOneTimer() {
  Thread& me = Cur();
  // The scheduler picked "a timer fires now". Which one: overdue timers or the
  // earliest future one, by (when, arming order); choice 0 is the earliest.
  eligible_.clear();
  for (uint32_t i = 0; i < timers_.size(); i++) {
    if (timers_[i].pending && TimeEventEligible(timers_[i].when)) eligible_.push_back(i);
  }
  if (eligible_.empty()) return;
  std::sort(eligible_.begin(), eligible_.end(), [&](uint32_t a, uint32_t b) {
    const TimerRec& x = timers_[a];
    const TimerRec& y = timers_[b];
    return x.when != y.when ? x.when < y.when : x.arm_serial < y.arm_serial;
  });
  const uint32_t idx = eligible_[PickValue(eligible_.size())];
  TimerRec& r = timers_[idx];
  now_ = std::max(now_, r.when);
  r.pending = false;
  r.running = true;
  // Each firing starts from the timer's view, as if on a fresh M: callbacks
  // of different timers are not ordered by the fiber they share. Only the
  // fiber's own clock slot carries over (so epochs stay monotonic), which
  // over-approximates happens-before for third parties that sync with a
  // later callback (fewer races reported, never false ones).
  const uint32_t own = me.view.hb[me.id];
  me.view = r.view;
  me.view.hb[me.id] = std::max(own, r.view.hb[me.id]) + 1;
  me.has_fence_release = false;
  me.pending_acquire.Clear();
  r.view = me.view;
  if (cfg_.trace) {
    Trace(Site{"timer", "fire", 0}, "timer %u fires: now=%lld seq=%llu", idx,
          static_cast<long long>(now_), static_cast<ull>(r.seq));
  }
  const TimerFunc f = r.f;
  void* const arg = r.arg;
  const uintptr_t seq = r.seq;
  // GO: the callback runs without the timer lock; Delete does not wait for it.
  f(arg, seq);
  Tick(me);
  TimerRec& done = timers_[idx];
  done.running = false;
  done.idle_view = me.view;
  for (uint32_t i = 0; i < nthreads_; i++) {
    Thread& w = *threads_[i];
    if (w.state == State::kWaitIdle && w.wait_index == idx) w.state = State::kRunnable;
  }
}

void Execution::Sleep(int64_t ns, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  if (ns <= 0) return;
  if (__builtin_add_overflow(now_, ns, &t.wake_time)) t.wake_time = INT64_MAX;
  t.state = State::kSleeping;
  t.wait_site = site;
  if (cfg_.trace) Trace(site, "sleep until %lld", static_cast<long long>(t.wake_time));
  BlockAndSwitch();
  if (cfg_.trace) Trace(site, "wakes: now=%lld", static_cast<long long>(now_));
}

// ---------------------------------------------------------------------------
// Threads and checks
// ---------------------------------------------------------------------------

ThreadId Execution::Spawn(std::function<void()> fn, const char* name, Site site) {
  Thread& t = Cur();
  Tick(t);
  if (nthreads_ == kMaxThreads) {
    fn = nullptr;  // nothing that owns memory may stay on an abandoned stack
    SetFinding(FindingKind::kLimit, "spawn at " + site.ToString() + " exceeds rt::kMaxThreads (" +
                                        std::to_string(kMaxThreads) + ")");
    Abandon();
  }
  Thread& c = NewThread(name, false);
  c.owned_fn = std::move(fn);
  c.fn = &c.owned_fn;
  c.view.Join(t.view);  // the spawn happens-before the child's first step
  const ThreadId id = c.id;
  if (cfg_.trace) Trace(site, "spawn %s", ThreadName(id).c_str());
  // The spawn is a scheduling point like every other operation; the child
  // may run first.
  SchedulePoint();
  return id;
}

void Execution::Join(ThreadId id, Site site) {
  SchedulePoint();
  Thread& t = Cur();
  Tick(t);
  if (id >= nthreads_ || id == t.id || threads_[id]->is_timer) {
    SetFinding(FindingKind::kMisuse, "join at " + site.ToString() + " of an invalid thread");
    Abandon();
  }
  if (threads_[id]->state != State::kFinished) {
    t.state = State::kJoin;
    t.wait_index = id;
    t.wait_site = site;
    BlockAndSwitch();
  }
  t.view.Join(threads_[id]->view);
  if (cfg_.trace) Trace(site, "joined %s", ThreadName(id).c_str());
}

void Execution::Yield(Site) {
  SchedulePoint(/*yielding=*/true);
}

void Execution::Fatal(const char* msg) {
  SetFinding(FindingKind::kFatal, msg);
  Abandon();
}

void Execution::Assert(bool ok, const char* msg, Site site) {
  if (ok) return;
  SetFinding(FindingKind::kAssert, std::string(msg) + " (at " + site.ToString() + ")");
  Abandon();
}

}  // namespace pollstorm::sim::rt
