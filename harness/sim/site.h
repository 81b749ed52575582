// harness/sim/site.h: Site, where in the source an operation was made, for
// findings ("plain write at poll_desc.h:431 (NetpollBlock)").
//
// Facade methods take `Site site = Site::Here()` as their last parameter; the
// builtins in Here()'s default arguments are evaluated at the facade's call
// site, so PollDesc needs no change to name its accesses.
#pragma once

#include <string>

namespace pollstorm::sim {

struct Site {
  const char* file = "?";
  const char* func = "?";
  unsigned line = 0;

  static constexpr Site Here(const char* file = __builtin_FILE(),
                             const char* func = __builtin_FUNCTION(),
                             unsigned line = __builtin_LINE()) {
    return Site{file, func, line};
  }

  // "poll_desc.h:431 (NetpollBlock)": the file's base name only, so reports
  // do not depend on where the tree was checked out.
  std::string ToString() const {
    std::string f = file;
    if (auto slash = f.rfind('/'); slash != std::string::npos) f.erase(0, slash + 1);
    return f + ":" + std::to_string(line) + " (" + func + ")";
  }
};

}  // namespace pollstorm::sim
