// harness/model/model.h: PollModel, the executable specification of pollDesc's
// observable behaviour (semantics reference §4, §6), per descriptor
// incarnation and mode. It is deliberately small and sequential: it takes the
// operations in the order their effects took place and says what each reset
// and wait must return, which parked waiters an operation must wake, and with
// which result. Fuzz targets and replays compare the port with it step by
// step; the storms' online oracle applies the same rules to real time.
//
// State per descriptor: open/closed, closing, event error, and per mode a
// pending READY, a deadline (none, at T, expired) and a parked waiter.
//
// Rules (each a line of the reference):
//   checkerr  closing > timeout (mode's deadline expired) > event error (reads)
//   reset     checkerr, else drop the pending READY; returns immediately
//   wait      checkerr; else consume a pending READY (ok); else park
//   ready     per mode: wake the parked waiter (ok) or latch READY (coalesced);
//             a parked reader woken with its pipe empty reads EAGAIN and parks
//             again (the wake is spent, nothing latched, nothing observed)
//   io        a byte arrives in the pipe, then its edge is a read `ready`
//   read      Fd's loop: checkerr (as reset); drop READY; a byte there is
//             taken (ok); else, after a hangup, end of file (kEof); else
//             park as a reader; when it wakes ok, it takes the byte that woke
//             it, or reads end of file
//   write     Fd's write loop: checkerr (as reset); drop READY; after
//             epollerr, EPIPE (kEpipe); room in the out-pipe (kPipeCapacity)
//             takes the byte (ok); else park as a writer
//   drain     the out-pipe is emptied; if it was full, a write edge (EPOLLOUT)
//   hangup    the in-pipe's writer is gone: an EPOLLHUP edge, which Go's
//             netpoll maps to both modes (netpoll_epoll.go)
//   epollerr  EPOLLERR alone: the event error is set (setEventErr(true)),
//             then an edge in both modes; later writes fail with EPIPE
//   With pipe events (a program with any of the four ops above: its kernel
//   has the write side), every kernel edge is a whole epoll event: it sets
//   the event error to (event == EPOLLERR), as netpoll's setEventErr does,
//   and a new pipe (the start, open) gets epoll_ctl ADD's EPOLLOUT: a write
//   edge.
//   deadline  no-op once closing; past = expired now (wakes a waiter: timeout),
//             zero = none, d > 0 = at now+d (saturating); replaces the last
//   advance   time passes; deadlines at or before now expire (wake: timeout)
//   unblock   closing; wakes both waiters (closing); never creates READY
//   everr     sets/clears the event-error bit; wakes nobody
//   close     pollClose: needs unblock first; the descriptor is free
//   open      a new incarnation: no READY, no deadline, not closing
// Spurious readiness cannot arise in a sequential execution, so the model is
// exact: a missed READY and a spurious one are both mismatches.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/ops/ops.h"

namespace pollstorm::model {

// Which ops the caller contract forbids (the runner skips them rather than
// letting the port throw): see Step::invalid.
struct Wake {
  int desc;
  int mode;  // 'r' or 'w'
  int err;   // PollErr
  bool operator==(const Wake&) const = default;
};

// Results beyond the PollErrs: a read that returned 0 (end of file), a write
// that failed with EPIPE.
inline constexpr int kEof = 100;
inline constexpr int kEpipe = 101;

struct Step {
  bool invalid = false;     // forbidden by the caller contract: do not run it
  std::string why_invalid;
  bool blocks = false;      // a wait that parks
  std::optional<int> result;  // reset/wait: the PollErr it returns at once
  std::vector<Wake> wakes;  // parked waiters this op must wake, in desc/mode order
  int edges = 0;            // the modes that got a readiness edge ('r', 'w', 'r'+'w'; 0 none)
};

class PollModel {
 public:
  // descs descriptors, all open (incarnation 0); the clock starts at `now`.
  // pipe_events: the kernel has its write side (see the rules above).
  PollModel(int descs, int64_t now, bool pipe_events = false);

  Step Apply(const ops::Op& op);

  int64_t now() const { return now_; }
  bool parked(int desc, int mode) const { return d_[desc].m[Mi(mode)].parked; }
  bool open(int desc) const { return d_[desc].open; }
  // The mode's deadline has expired (and the descriptor is open, not closing).
  bool expired(int desc, int mode) const {
    return d_[desc].open && !d_[desc].closing && d_[desc].m[Mi(mode)].deadline < 0;
  }
  int incarnation(int desc) const { return d_[desc].incarnation; }
  // The mode's deadline: 0 none, > 0 the virtual time it expires at, < 0 expired.
  int64_t deadline(int desc, int mode) const { return d_[desc].m[Mi(mode)].deadline; }
  // One line per descriptor, for mismatch reports.
  std::string Describe() const;

 private:
  static int Mi(int mode) { return mode == 'r' ? 0 : 1; }
  struct Mode {
    bool ready = false;
    bool parked = false;
    int64_t deadline = 0;  // 0 none, > 0 at, < 0 expired
    bool reader = false;   // the parked waiter is a read or write loop, not a wait
  };
  struct Desc {
    bool open = true;
    bool closing = false;
    bool everr = false;
    int incarnation = 0;
    int64_t bytes = 0;  // in the descriptor's pipe
    int64_t out = 0;    // in its out-pipe (the program's writes not drained)
    bool hup = false;   // the in-pipe's writer hung up
    bool err = false;   // the out-pipe's reader is gone (EPOLLERR)
    Mode m[2];
  };
  int CheckErr(const Desc& d, int mode) const;
  void Expire(int64_t now, Step* s);
  void WakeWith(int desc, int mode, int err, Step* s);
  void Edge(int desc, int mode, Step* s);
  // A kernel event (an epoll mask's modes): with pipe events, setEventErr first.
  void Event(int desc, bool read, bool write, bool err_alone, Step* s);

  std::vector<Desc> d_;
  int64_t now_;
  bool pipe_events_;
};

}  // namespace pollstorm::model
