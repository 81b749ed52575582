// harness/sim/rt/execution.cc: the execution loop. What Execution::Run does
// around the modelled objects: it starts T0 on a fiber, and at every
// scheduling point asks the Chooser which runnable thread goes next (every
// real choice, thread or value, is appended to the Schedule); it decides which
// threads can run (blocked ones cannot; a sleeper or the timer fiber can when
// its time event is eligible); and it ends the execution, clean when every
// program thread finished, or with a finding that abandons it.
//
// Models: a uniprocessor scheduler that may preempt at every Env operation
// and nowhere else (code between two facade calls is atomic), with virtual
// time that moves only when the scheduler picks a time event (a sleeper
// waking, the timer fiber firing): overdue events may run at any point, of the
// future ones only the earliest, because running it is what moves the clock.
//
// Limits (rt/rt.h): rt::kDefaultMaxSteps scheduling points before a
// `step-bound` finding, so a livelock is reported, not explored; a deadlock is
// "no thread can run and no time event is pending", so a thread spinning on
// Yield forever is a step bound, never a deadlock; an abandoned execution is
// never resumed and its fibers' frames are not unwound (rt/fiber.h).
//
// The objects the operations act on live in their own files: memory.cc (cells
// and the weak-memory model), race.cc (the race detector), mutex.cc, parker.cc,
// timer.cc (the clock, Sleep and the timer service) and thread.cc (spawn, join,
// thread start and exit). They reach the loop through SchedulePoint,
// BlockAndSwitch, PickValue, SetFinding, Trace and Abandon, all defined here.
#include "harness/sim/rt/execution.h"

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

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
  values_only_ = !config.weak_memory && !config.detect_races;
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
  runnable_valid_ = false;
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
    runnable_valid_ = false;  // runnable_ no longer holds the rules' result
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
  // Called at every scheduling point (fuzz_ops: 8% of its profile), so one
  // pass gathers what the rules below need; the rules are unchanged.
  // The result depends only on the threads' states and wake times, the
  // timers, the clock and the thread count: a state changes only through
  // SetState, and the other places clear runnable_valid_ themselves, so
  // between two such changes (a run of loads and stores) the last result
  // stands.
  if (runnable_valid_) return;
  runnable_valid_ = true;
  bool user_live = false;
  bool any_runnable = false;
  min_future_ = INT64_MAX;
  for (uint32_t i = 0; i < nthreads_; i++) {
    const Thread& t = *threads_[i];
    if (!t.is_timer && t.state != State::kFinished) user_live = true;
    if (t.state == State::kRunnable) any_runnable = true;
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
  // Lazy time: a future event is eligible only once no thread can run, so
  // the clock stands still while any thread has work (overdue events still
  // fire at any point: they do not move the clock).
  // A yielding thread still holds it: the sequential oracle yields inside
  // an op (waiting for a waiter to park) and that op must stay one instant.
  if (cfg_.lazy_time && any_runnable) min_future_ = INT64_MAX;
  // Whether the timer thread may run: the same for every kTimerIdle thread.
  bool timer_ok = false;
  if (timers_live) {
    for (const TimerRec& r : timers_) {
      if (r.pending && TimeEventEligible(r.when)) {
        timer_ok = true;
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
        ok = timer_ok;
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
    SetState(to, State::kRunnable);
  } else if (to.state == State::kTimerIdle) {
    SetState(to, State::kRunnable);  // FireOneTimer moves the clock
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
// Checks
// ---------------------------------------------------------------------------

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
