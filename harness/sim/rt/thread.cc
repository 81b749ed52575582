// harness/sim/rt/thread.cc: simulated threads. Spawn, Join and Yield (the
// Thread facade, harness/sim/thread.h), and how a thread starts on its fiber
// and exits.
//
// Models: Spawn is a scheduling point after the child exists, so the child
// may run first; the spawn happens-before the child's first step, and the
// child's exit happens-before the return of a Join on it. Thread ids are
// given in creation order (main = T0), so they are the same in every replay.
// An exception escaping a thread's function is an `exception` finding.
//
// Limits: at most rt::kMaxThreads threads, the main thread and the timer
// fiber included (a `limit` finding beyond); each runs on a stack of
// rt::kFiberStackSize bytes from the StackPool; joining oneself, the timer
// fiber or a thread that does not exist is `misuse`.
#include "harness/sim/rt/execution.h"

#include <cstdlib>
#include <exception>

namespace pollstorm::sim::rt {

Execution::Thread& Execution::NewThread(const char* name, bool is_timer) {
  if (threads_.size() <= nthreads_) threads_.push_back(std::make_unique<Thread>());
  Thread& t = *threads_[nthreads_];
  t.id = nthreads_++;
  SetState(t, State::kRunnable);
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
  SetState(t, State::kFinished);
  for (uint32_t i = 0; i < nthreads_; i++) {
    Thread& j = *threads_[i];
    if (j.state == State::kJoin && j.wait_index == t.id) SetState(j, State::kRunnable);
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
    SetState(t, State::kJoin);
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

}  // namespace pollstorm::sim::rt
