// harness/history/history.h: a linearizability-style check of one descriptor
// object's history, as a storm recorded it on real threads.
//
// A history is every operation's invocation and response time (a monotonic
// clock read just before the call into the port and just after it returned)
// with its arguments and result. The check asks: is there an order of the
// operations, each taking effect at one point inside its own interval (two
// points for a wait that returned ok), in which every result is the one the
// specification below gives? If none exists, no interleaving of a correct
// pollDesc explains what the threads saw: a finding, whatever the online
// oracle said op by op.
//
// The specification is the concurrent reading of harness/model/model.h's
// rules (semantics reference §4, §6). Per incarnation: open, closing, the
// event-error bit, and per mode a latched READY and a deadline (none, expired,
// or due at T with its timer not yet fired).
//
//   checkerr   closing > timeout (mode's deadline expired) > event error (reads);
//              one point (tip's info word) or three, in that order (separate
//              fields: legacy, seed, fixed), so `ok` may come from a closing
//              read just before an unblock and an event-error read just after
//              an `everr off`
//   reset      result = checkerr; when 0, the latched READY is dropped
//   wait       a result X != ok: checkerr is X at one point of the interval
//              (pollWait's entry check, or its re-check after a wake);
//              ok: checkerr is 0 at one point (the entry), and a latched READY
//              is consumed at the same or a later point (netpollblock's CAS
//              or its swap after the park). A wait never "must" return ok:
//              that is liveness, the watchdog's.
//   ready      latches READY per mode (coalesced; `rw` is two steps, r then
//              w, as netpollready's two unblocks); on a closed descriptor,
//              nothing; tip first checks the key against the open
//              incarnation's (fdseq), a step of its own: a mismatch drops
//              the event, a match may still ready a later incarnation
//   everr      sets or clears the bit; on a closed descriptor, or (tip) for a
//              key not the open incarnation's, nothing (one step: tip's
//              setEventErr checks the seq inside its CAS on the info word)
//   deadline   (rw: two steps, r then w, as the port's two stores)
//              nothing once closing; past: expired; zero: none; d > 0: due at
//              inv + d (saturating; the port reads its clock inside the call,
//              so inv + d is the earliest its timer can fire)
//   fire       (no operation: the timer) a due deadline expires, at any point
//              at or after its due time; a later set or unblock cancels it
//   unblock    closing; timers deleted
//   close      pollClose: the descriptor is free
//   open       a new incarnation: nothing latched, no deadline, not closing
//
// The search is Lowe's just-in-time linearization: events are taken in time
// order, and at each response the set of reachable configurations (model
// state + which pending operations already took effect) is expanded until
// the responding operation has taken effect in each. Bounded: more than
// Options::max_pending operations in flight at once, or more configurations
// than Options::max_configs at one response, and the object is left
// unchecked (counted, never a finding).
//
// Limits: timeouts are judged only for order (a timer may be arbitrarily
// late; lateness is the watchdog's); two events with the same timestamp are
// taken as concurrent; an operation that never returned constrains nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pollstorm::history {

enum class Kind : uint8_t { kOpen, kClose, kUnblock, kReset, kWait, kReady, kEventErr, kDeadline };
const char* KindName(Kind k);

inline constexpr int64_t kNeverReturned = INT64_MAX;

struct Op {
  int64_t inv = 0;                // ns, just before the call
  int64_t resp = kNeverReturned;  // ns, just after it returned
  Kind kind = Kind::kOpen;
  int mode = 0;                   // 'r', 'w', or 'r'+'w' (ready, deadline)
  int result = 0;                 // reset/wait: the PollErr returned
  int64_t arg = 0;                // deadline: d; everr: 1 on, 0 off
  uint64_t key = 0;               // ready/everr: the event's key; open: the incarnation's
  int thread = 0;
};

struct Options {
  // tip: an event whose key is not the open incarnation's is dropped (fdseq).
  bool events_need_current_key = false;
  // tip: netpollcheckerr is one load of the packed info word. Otherwise
  // (closing, rd/wd, everr in fields of their own) it is three loads, each
  // at its own point, in that order.
  bool atomic_checkerr = false;
  size_t max_configs = 200000;
  int max_pending = 32;
};

struct Verdict {
  bool checked = true;      // false: a bound was hit (not a finding)
  bool ok = true;           // false: no order explains the history
  Op failed_op;             // the operation whose response no order explains
  std::string why;          // the failing operation, its window, the states it met
  size_t peak_configs = 0;  // the most configurations met at one response
};

// Checks one object's operations (any order; sorted here by invocation).
Verdict CheckObject(std::vector<Op> ops, const Options& opt);

// "reset r -> timeout": the operation, its arguments and result.
std::string What(const Op& op);
// "t2 reset r -> timeout [12.0us, 13.5us]" for reports; times relative to `origin`.
std::string Describe(const Op& op, int64_t origin);

}  // namespace pollstorm::history
