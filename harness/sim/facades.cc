// The out-of-line parts of the facades: each forwards to rt::Current().
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "harness/sim/parker.h"
#include "harness/sim/rt/execution.h"
#include "harness/sim/sim_env.h"
#include "harness/sim/thread.h"

namespace pollstorm::sim {

namespace detail {
rt::Execution& Exec(const char* what) {
  rt::Execution* ex = rt::Current();
  if (ex == nullptr) {
    std::fprintf(stderr, "sim: %s called outside a simulated execution\n", what);
    std::abort();
  }
  return *ex;
}
}  // namespace detail

void Parker::Park(Site site) {
  detail::Exec("Parker::Park").Park(owner_, site);
}
void Parker::Unpark(Site site) {
  detail::Exec("Parker::Unpark").Unpark(owner_, site);
}

Parker* SimEnv::CurrentParker() {
  return detail::Exec("SimEnv::CurrentParker").CurrentParker();
}

int64_t SimEnv::Nanotime(Site site) {
  if (rt::Execution* ex = rt::Current()) return ex->Nanotime(site);
  return rt::kStartTime;
}

void SimEnv::Fatal(const char* msg) {
  if (rt::Execution* ex = rt::Current()) ex->Fatal(msg);
  std::fprintf(stderr, "fatal error: %s (outside a simulated execution)\n", msg);
  std::fflush(stderr);
  std::abort();
}

void SimEnv::FullBarrier(Site site) {
  if (rt::Execution* ex = rt::Current()) ex->Fence(std::memory_order_seq_cst, site);
}

}  // namespace pollstorm::sim
