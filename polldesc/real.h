// polldesc/real.h: the RealEnv instantiations every driver uses, compiled once
// in real.cc.
#pragma once

#include "polldesc/epoll_poller.h"
#include "polldesc/fd.h"
#include "polldesc/poll_server.h"
#include "polldesc/real_env.h"
#include "polldesc/variants.h"

namespace pollstorm {

template <class V>
using RealServer = PollServer<RealEnv, V>;
template <class V>
using RealPollDesc = PollDesc<RealEnv, V>;
template <class V>
using RealPoller = EpollPoller<RealServer<V>>;
template <class V>
using RealFd = Fd<RealServer<V>>;

extern template class PollDesc<RealEnv, Legacy>;
extern template class PollDesc<RealEnv, Seed>;
extern template class PollDesc<RealEnv, Fixed>;
extern template class PollDesc<RealEnv, Tip>;
extern template class PollServer<RealEnv, Legacy>;
extern template class PollServer<RealEnv, Seed>;
extern template class PollServer<RealEnv, Fixed>;
extern template class PollServer<RealEnv, Tip>;

}  // namespace pollstorm
