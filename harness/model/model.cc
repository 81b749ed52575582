#include "harness/model/model.h"

#include "polldesc/env.h"

namespace pollstorm::model {

PollModel::PollModel(int descs, int64_t now, bool pipe_events)
    : d_(descs), now_(now), pipe_events_(pipe_events) {
  // epoll_ctl ADD reports a new pipe's room: a write edge for every one.
  if (pipe_events_) {
    for (Desc& d : d_) d.m[1].ready = true;
  }
}

int PollModel::CheckErr(const Desc& d, int mode) const {
  if (d.closing) return kPollErrClosing;
  if (d.m[Mi(mode)].deadline < 0) return kPollErrTimeout;
  if (mode == 'r' && d.everr) return kPollErrNotPollable;
  return kPollNoError;
}

void PollModel::WakeWith(int desc, int mode, int err, Step* s) {
  Mode& m = d_[desc].m[Mi(mode)];
  if (!m.parked) return;
  m.parked = false;
  m.reader = false;
  s->wakes.push_back({desc, mode, err});
}

// A readiness edge in one mode: wakes the parked waiter, or latches READY.
// A parked reader wakes only if its pipe has a byte for it (then takes it);
// with an empty pipe it reads EAGAIN and waits again, the READY spent: that
// pollWait's checkerr returns an event error set while it was parked (which
// woke nobody), else it parks again. (fuzz_ops found the model missing that.)
void PollModel::Edge(int desc, int mode, Step* s) {
  if (s->edges != mode) s->edges += mode;
  Desc& d = d_[desc];
  Mode& m = d.m[Mi(mode)];
  if (!m.parked) {
    m.ready = true;
  } else if (!m.reader) {
    WakeWith(desc, mode, kPollNoError, s);
  } else if (mode == 'r' && d.bytes > 0) {
    d.bytes--;
    WakeWith(desc, mode, kPollNoError, s);
  } else if (mode == 'r' && d.hup) {
    WakeWith(desc, mode, kEof, s);
  } else if (mode == 'w' && d.err) {
    WakeWith(desc, mode, kEpipe, s);
  } else if (mode == 'w' && d.out < ops::kPipeCapacity) {
    d.out++;
    WakeWith(desc, mode, kPollNoError, s);
  } else if (const int e = CheckErr(d, mode); e != kPollNoError) {
    WakeWith(desc, mode, e, s);
  }
}

void PollModel::Event(int desc, bool read, bool write, bool err_alone, Step* s) {
  if (pipe_events_) d_[desc].everr = err_alone;
  if (read) Edge(desc, 'r', s);
  if (write) Edge(desc, 'w', s);
}

// Deadlines at or before `now` expire; a parked waiter of that mode wakes
// with timeout (pollWait re-checks and finds the deadline expired).
void PollModel::Expire(int64_t now, Step* s) {
  for (int i = 0; i < static_cast<int>(d_.size()); i++) {
    for (int mode : {'r', 'w'}) {
      Mode& m = d_[i].m[Mi(mode)];
      // After unblock the timers are deleted: the deadline never fires.
      if (d_[i].open && !d_[i].closing && m.deadline > 0 && m.deadline <= now) {
        m.deadline = -1;
        WakeWith(i, mode, kPollErrTimeout, s);
      }
    }
  }
}

Step PollModel::Apply(const ops::Op& op) {
  Step s;
  auto invalid = [&](std::string why) {
    s.invalid = true;
    s.why_invalid = std::move(why);
    return s;
  };
  using ops::OpKind;
  if (op.kind == OpKind::kAdvance) {
    if (__builtin_add_overflow(now_, op.arg, &now_)) now_ = INT64_MAX;
    Expire(now_, &s);
    return s;
  }
  if (op.desc >= d_.size()) return invalid("no such descriptor");
  Desc& d = d_[op.desc];
  if (op.kind == OpKind::kOpen) {
    if (d.open) return invalid("open: already open");
    const int inc = d.incarnation + 1;
    d = Desc{};
    d.incarnation = inc;
    if (pipe_events_) d.m[1].ready = true;  // ADD's EPOLLOUT (see the constructor)
    return s;
  }
  if (!d.open) return invalid(std::string(ops::KindName(op.kind)) + ": descriptor is closed");
  switch (op.kind) {
    case OpKind::kReset: {
      Mode& m = d.m[Mi(op.mode)];
      if (m.parked) return invalid("reset: the mode's waiter is parked (only it may reset)");
      const int e = CheckErr(d, op.mode);
      if (e == kPollNoError) m.ready = false;
      s.result = e;
      return s;
    }
    case OpKind::kWait: {
      Mode& m = d.m[Mi(op.mode)];
      if (m.parked) return invalid("wait: a second waiter in one mode (double wait)");
      const int e = CheckErr(d, op.mode);
      if (e != kPollNoError) {
        s.result = e;
      } else if (m.ready) {
        m.ready = false;
        s.result = kPollNoError;
      } else {
        m.parked = true;
        s.blocks = true;
      }
      return s;
    }
    case OpKind::kReady:
      for (int mode : {'r', 'w'}) {
        if (op.mode == mode || op.mode == 'r' + 'w') Edge(op.desc, mode, &s);
      }
      return s;
    case OpKind::kIo:
      if (d.hup) return s;  // the writer closed its end: EPIPE for it, nothing arrives
      d.bytes++;
      Event(op.desc, true, false, false, &s);
      return s;
    case OpKind::kWrite: {
      Mode& m = d.m[1];
      if (m.parked) return invalid("write: a second waiter in mode w (double wait)");
      const int e = CheckErr(d, 'w');
      if (e != kPollNoError) {
        s.result = e;
      } else if (m.ready = false; d.err) {
        s.result = kEpipe;
      } else if (d.out < ops::kPipeCapacity) {
        d.out++;
        s.result = kPollNoError;
      } else {
        m.parked = true;
        m.reader = true;
        s.blocks = true;
      }
      return s;
    }
    case OpKind::kDrain: {
      const bool was_full = d.out >= ops::kPipeCapacity;
      d.out = 0;
      if (was_full) Event(op.desc, false, true, false, &s);
      return s;
    }
    case OpKind::kHangup:
      if (d.hup) return s;
      d.hup = true;
      Event(op.desc, true, true, false, &s);  // EPOLLHUP: both modes in Go's mapping
      return s;
    case OpKind::kEpollErr:
      if (d.err) return s;
      d.err = true;
      Event(op.desc, true, true, true, &s);  // EPOLLERR alone: both modes, and the event error
      return s;
    case OpKind::kRead: {
      Mode& m = d.m[0];
      if (m.parked) return invalid("read: a second waiter in mode r (double wait)");
      const int e = CheckErr(d, 'r');
      if (e != kPollNoError) {
        s.result = e;
      } else if (m.ready = false; d.bytes > 0) {
        d.bytes--;
        s.result = kPollNoError;
      } else if (d.hup) {
        s.result = kEof;
      } else {
        m.parked = true;
        m.reader = true;
        s.blocks = true;
      }
      return s;
    }
    case OpKind::kEventErr:
      d.everr = op.arg != 0;
      return s;
    case OpKind::kDeadline: {
      if (d.closing) return s;  // pollSetDeadline after unblock is a no-op
      int64_t v = op.arg;
      if (v > 0 && (__builtin_add_overflow(v, now_, &v) || v <= 0)) v = INT64_MAX;
      for (int mode : {'r', 'w'}) {
        if (op.mode != mode && op.mode != 'r' + 'w') continue;
        d.m[Mi(mode)].deadline = v;
        if (v < 0) WakeWith(op.desc, mode, kPollErrTimeout, &s);
      }
      // A future deadline expires only when time reaches it (`advance`, or
      // the runner bringing the model to the simulator's clock). But a
      // positive deadline can already be due when set: at the end of time
      // (now == INT64_MAX), now + d saturates to INT64_MAX == now. Go arms
      // the timer anyway (pollSetDeadline: `d += nanotime(); if d <= 0 { d =
      // 1<<63 - 1 }`, then modtimer at d), and a timer whose `when` is not
      // after now fires at once, so the deadline expires here too. Before
      // this the model kept it pending forever and the sequential runner
      // reported the port's correct timeout as a finding on `fixed`
      // (corpus/regressions/deadline-at-end-of-time.txt).
      Expire(now_, &s);
      return s;
    }
    case OpKind::kUnblock:
      if (d.closing) return invalid("unblock: twice (unblock on closing polldesc)");
      d.closing = true;
      WakeWith(op.desc, 'r', kPollErrClosing, &s);
      WakeWith(op.desc, 'w', kPollErrClosing, &s);
      return s;
    case OpKind::kClose:
      if (!d.closing) return invalid("close: without unblock");
      d.open = false;
      return s;
    default:
      return invalid("unknown op");
  }
}

std::string PollModel::Describe() const {
  std::string o;
  for (size_t i = 0; i < d_.size(); i++) {
    const Desc& d = d_[i];
    o += "d" + std::to_string(i) + ": " + (d.open ? "open" : "closed") +
         " inc=" + std::to_string(d.incarnation) + (d.closing ? " closing" : "") +
         (d.everr ? " everr" : "") + (d.bytes ? " bytes=" + std::to_string(d.bytes) : "") +
         (d.out ? " out=" + std::to_string(d.out) : "") + (d.hup ? " hup" : "") +
         (d.err ? " epollerr" : "");
    for (int mode : {'r', 'w'}) {
      const Mode& m = d.m[Mi(mode)];
      o += std::string(" ") + static_cast<char>(mode) + "[" + (m.ready ? "READY" : "-") +
           (m.parked ? m.reader ? " reader parked" : " parked" : "") + " dl=" +
           (m.deadline == 0 ? "none" : m.deadline < 0 ? "expired" : std::to_string(m.deadline)) +
           "]";
    }
    o += "\n";
  }
  return o;
}

}  // namespace pollstorm::model
