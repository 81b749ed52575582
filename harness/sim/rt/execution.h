// harness/sim/rt/execution.h: Execution, one run of a program under the
// simulator, and rt::Current(), the only way facades reach it.
//
// Threads run one at a time on fibers. Every facade operation first calls a
// scheduling point (the Chooser may switch to another runnable thread; each
// real choice is recorded in the Schedule), then performs the operation
// atomically. Blocking operations (mutex, park, join, timer WaitIdle) take
// the thread out of the runnable set. Virtual time moves only when the
// scheduler picks a time event: the timer fiber firing a timer, or a sleeping
// thread waking; the clock jumps to that event's time.
//
// A finding (Fatal, deadlock, step bound, data race, failed assert, ...)
// records what happened and abandons the execution: control returns to the
// host and no simulated thread is ever resumed.
//
// Facades (harness/sim/*.h) are the only callers of the public members below.
//
// One class, because every operation needs the loop's private parts (its
// scheduling point, blocking, the thread table, findings); its members are
// defined by concern, one file each, and each section below names its file:
// execution.cc (the loop), memory.cc, race.cc, mutex.cc, parker.cc, timer.cc,
// thread.cc. Each of those files opens with what it models and its limits.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "harness/sim/finding.h"
#include "harness/sim/parker.h"
#include "harness/sim/rt/fiber.h"
#include "harness/sim/rt/location.h"
#include "harness/sim/rt/rt.h"
#include "harness/sim/rt/vector_clock.h"
#include "harness/sim/schedule.h"
#include "harness/sim/site.h"
#include "polldesc/env.h"

namespace pollstorm::sim {
class Chooser;
}

namespace pollstorm::sim::rt {

class Execution;

// The running execution, or nullptr outside one (facades then act directly
// on their own storage, so objects can be built and torn down on the host).
extern thread_local Execution* tls_current;
inline Execution* Current() {
  return tls_current;
}

// The facade side of a memory cell (Atomic<T>, Shared<T>): which Location it
// is in the current execution (registered lazily on first access) and who
// constructed it (the constructor is the cell's initialising write).
struct CellHeader {
  uint32_t exec = 0;  // epoch of the execution `index` belongs to; 0 = none
  uint32_t index = 0;
  uint32_t ctor_exec = 0;  // epoch of the execution that ran the constructor
  ThreadId ctor_tid = kNoThread;
  uint32_t ctor_time = 0;
};

// The facade side of a Mutex or Timer: its record in the current execution.
struct ObjHeader {
  uint32_t exec = 0;
  uint32_t index = 0;
};

// How a cell is accessed: an Atomic<T> operation, a plain Shared<T>
// Read/Write, or Go's atomic.* on a Shared<T> (seq_cst, race-checked against
// the plain accesses).
enum class Access : uint8_t { kAtomic, kPlain, kSharedAtomic };

enum class RmwOp : uint8_t { kExchange, kAdd };

class Execution {
 public:
  struct Config {
    bool weak_memory = false;
    uint64_t max_steps = kDefaultMaxSteps;
    bool races_are_findings = true;
    bool detect_races = true;  // false: skip the race detector entirely
    bool lazy_time = false;    // true: the clock moves only when no thread can run
    bool trace = false;  // keep the last kMaxTraceEvents operations in Outcome::trace
  };
  struct Outcome {
    bool finished = false;  // ran to completion with no finding
    FindingKind kind = FindingKind::kFatal;
    std::string message;
    std::string thread;
    std::vector<std::string> details;
    std::vector<std::string> notes;
    std::vector<std::string> trace;  // Config::trace: the last operations, oldest first
    uint64_t steps = 0;
    uint32_t threads = 0;  // simulated threads the execution started (main included)
  };

  Execution();
  ~Execution();
  Execution(const Execution&) = delete;
  Execution& operator=(const Execution&) = delete;

  // Execution::Run(chooser, schedule, body, config, stacks): runs body as
  // thread T0 until every thread finished or a finding; appends every choice
  // to `schedule`. Reusable: each Run starts from a clean state.
  Outcome Run(Chooser& chooser, Schedule& schedule, const std::function<void()>& body,
              const Config& config, StackPool& stacks);

  // ---- cells, memory.cc (each a scheduling point, except OnConstruct) ----
  void OnConstruct(CellHeader& h);
  uint64_t Load(CellHeader& h, uint64_t& mirror, Access a, std::memory_order o, Site site);
  void Store(CellHeader& h, uint64_t& mirror, Access a, uint64_t v, std::memory_order o, Site site);
  // mask: the value's width (all ones for 64 bits), so kAdd wraps like T.
  uint64_t Rmw(CellHeader& h, uint64_t& mirror, Access a, RmwOp op, uint64_t arg, uint64_t mask,
               std::memory_order o, Site site);
  bool CompareExchange(CellHeader& h, uint64_t& mirror, Access a, uint64_t& expected,
                       uint64_t desired, std::memory_order success, std::memory_order failure,
                       Site site);
  // seq_cst is SimEnv::FullBarrier; acquire/release fences work too.
  void Fence(std::memory_order o, Site site);

  // ---- mutex.cc ----
  void Lock(ObjHeader& m, Site site);
  void Unlock(ObjHeader& m, Site site);
  // ---- parker.cc ----
  Parker* CurrentParker();
  void Park(ThreadId owner, Site site);
  void Unpark(ThreadId owner, Site site);

  // ---- time, timer.cc ----
  int64_t Nanotime(Site site);
  void TimerModify(ObjHeader& t, int64_t when, TimerFunc f, void* arg, uintptr_t seq, Site site);
  bool TimerDelete(ObjHeader& t, Site site);
  void TimerWaitIdle(ObjHeader& t, Site site);
  void Sleep(int64_t ns, Site site);

  // ---- threads, thread.cc ----
  ThreadId Spawn(std::function<void()> fn, const char* name, Site site);
  void Join(ThreadId t, Site site);
  void Yield(Site site);
  ThreadId CurrentThread() const;
  // ---- checks, execution.cc ----
  [[noreturn]] void Fatal(const char* msg);
  void Assert(bool ok, const char* msg, Site site);
  // The execution owns `deleter` and calls it after the run (sim::Make).
  void Own(std::function<void()> deleter) { owned_.push_back(std::move(deleter)); }

 private:
  enum class State : uint8_t {
    kRunnable,
    kMutex,  // wait_index: the mutex
    kParked,
    kJoin,       // wait_index: the thread
    kTimerIdle,  // the timer fiber, waiting for a timer to fire
    kWaitIdle,   // wait_index: the timer whose callback must finish
    kSleeping,   // wake_time
    kFinished,
  };
  // A simulated thread: the loop's part (state, fiber, what it waits on), the
  // memory model's (its views) and the parker's (token, unparkers' views).
  struct Thread {
    ThreadId id = 0;
    State state = State::kFinished;
    bool is_timer = false;
    const char* name = nullptr;
    const std::function<void()>* fn = nullptr;
    std::function<void()> owned_fn;
    Fiber fiber;
    StackPool::Stack stack;
    View view;
    View fence_release;  // the view at the last release fence
    bool has_fence_release = false;
    View pending_acquire;  // releases read by relaxed loads, for an acquire fence
    uint32_t wait_index = 0;
    Site wait_site;
    int64_t wake_time = 0;
    Parker parker;
    bool park_token = false;
    View park_view;  // the unparkers' views
  };
  // mutex.cc's object.
  struct MutexRec {
    ThreadId owner = kNoThread;
    Site owner_site;
    View view;
  };
  // timer.cc's object.
  struct TimerRec {
    bool pending = false;
    bool running = false;
    int64_t when = 0;
    uint64_t arm_serial = 0;
    TimerFunc f = nullptr;
    void* arg = nullptr;
    uintptr_t seq = 0;
    View view;       // Modify/Delete/fire synchronise here (Go: the timer's status word)
    View idle_view;  // the end of the last callback, for WaitIdle
  };

  // Threads (thread.cc).
  static void ThreadEntry(void* arg);
  [[noreturn]] void ThreadExit();
  Thread& NewThread(const char* name, bool is_timer);
  std::string ThreadName(ThreadId t) const;
  Thread& Cur() { return *running_; }
  void Tick(Thread& t) { t.view.hb[t.id]++; }
  // Every change of a thread's state goes through here: it invalidates the
  // cached runnable set (CollectRunnable).
  void SetState(Thread& t, State s) {
    t.state = s;
    runnable_valid_ = false;
  }

  // The loop (execution.cc).
  void SchedulePoint(bool yielding = false);
  void BlockAndSwitch(bool exiting = false);
  void CollectRunnable();
  bool TimeEventEligible(int64_t when) const;
  ThreadId Choose(bool current_runnable, bool yielding);
  uint64_t PickValue(uint64_t bound);
  void SwitchTo(ThreadId next, bool exiting);
  [[noreturn]] void EndNoRunnable();
  void SetFinding(FindingKind kind, std::string message);
  void Trace(Site site, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  // The memory operations' trace lines (memory.cc), the same text on either path.
  void TraceLoad(Access a, std::memory_order o, uint64_t v, bool stale, Site site);
  void TracePlainOrAtomicStore(Access a, std::memory_order o, uint64_t v, Site site);
  void TraceRmw(Access a, RmwOp op, std::memory_order o, uint64_t arg, uint64_t old, Site site);
  void TraceCas(Access a, std::memory_order o, uint64_t expected, uint64_t desired, bool ok,
                uint64_t read, Site site);
  [[noreturn]] void Abandon();

  // Memory (memory.cc; RaceCheck in race.cc).
  Location& Loc(CellHeader& h, uint64_t& mirror, bool shared);
  uint32_t Floor(const Location& l, const Thread& t, bool sc) const;
  void Observe(StoreRecord& s, Thread& t, bool sc);
  void Acquire(Thread& t, const StoreRecord& s, bool acquire);
  void Append(Location& l, const StoreRecord& s);
  void InsertAt(Location& l, uint32_t pos, const StoreRecord& s);
  void RaceCheck(Location& l, Thread& t, bool write, bool atomic, Site site);
  void ReleaseInto(const Thread& t, bool release, StoreRecord& s);
  // The store an RMW or a successful CAS appends after reading `prev`.
  StoreRecord RmwStore(Location& l, const Thread& t, const StoreRecord& prev, uint64_t value,
                       bool sc, std::memory_order o);

  MutexRec& MutexOf(ObjHeader& h);  // mutex.cc
  // Timers (timer.cc).
  TimerRec& TimerOf(ObjHeader& h);
  void TimerLoop();
  void FireOneTimer();

  // Per run. Reset by Run; each group is read and written by the file named.
  // The loop (execution.cc).
  Config cfg_;
  Chooser* chooser_ = nullptr;
  Schedule* schedule_ = nullptr;
  StackPool* stacks_ = nullptr;
  uint32_t epoch_ = 0;
  Fiber host_;
  Thread* running_ = nullptr;
  std::vector<std::unique_ptr<Thread>> threads_;  // pooled; [0, nthreads_) live
  uint32_t nthreads_ = 0;
  int64_t now_ = kStartTime;        // moved by SwitchTo (a sleeper) and FireOneTimer
  int64_t min_future_ = INT64_MAX;  // earliest future time event (CollectRunnable)
  uint64_t steps_ = 0;
  std::array<ThreadId, kMaxThreads> runnable_{};
  uint32_t nrunnable_ = 0;
  bool runnable_valid_ = false;  // runnable_/min_future_ still hold CollectRunnable's result
  std::vector<std::function<void()>> owned_;
  Outcome outcome_;
  std::deque<std::string> trace_;  // Config::trace only
  // The memory model (memory.cc) and the race detector (race.cc).
  std::vector<std::unique_ptr<Location>> locs_;  // pooled; [0, nlocs_) live
  uint32_t nlocs_ = 0;
  // Values only: with weak memory and the race detector both off, a load can
  // read nothing but the mo-latest store, which the facade's mirror holds, and
  // no happens-before clock is ever consulted, so memory operations keep no
  // Location at all (no store records, no views): the same values, the same
  // scheduling points and choices, the same trace. fuzz_ops's configuration
  // (its profile was a third Location bookkeeping).
  bool values_only_ = false;
  uint64_t sc_counter_ = 0;  // numbers seq_cst operations and fences
  VectorClock sc_fences_;    // join of the hb clocks at every seq_cst fence so far
  uint32_t races_seen_ = 0;
  // Mutexes (mutex.cc).
  std::vector<MutexRec> mutexes_;
  // Timers (timer.cc; CollectRunnable reads them to decide whether the timer
  // fiber may run).
  ThreadId timer_thread_ = kNoThread;
  std::vector<TimerRec> timers_;
  uint64_t timer_serial_ = 0;
  std::vector<uint32_t> eligible_;  // scratch for FireOneTimer (a member: no heap on fiber stacks)
};

}  // namespace pollstorm::sim::rt
