#include "polldesc/real.h"

namespace pollstorm {

template class PollDesc<RealEnv, Legacy>;
template class PollDesc<RealEnv, Seed>;
template class PollDesc<RealEnv, Fixed>;
template class PollDesc<RealEnv, Tip>;
template class PollServer<RealEnv, Legacy>;
template class PollServer<RealEnv, Seed>;
template class PollServer<RealEnv, Fixed>;
template class PollServer<RealEnv, Tip>;

}  // namespace pollstorm
