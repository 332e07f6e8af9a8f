#include "fd_limit.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

namespace clossyne::frontend {

void raise_fd_limit(std::size_t wanted) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    spdlog::warn("cannot read the open-file limit; clients may be refused early");
    return;
  }
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur >= wanted) return;
  if (lim.rlim_cur == RLIM_INFINITY) return;
  rlimit next = lim;
  next.rlim_cur = (lim.rlim_max == RLIM_INFINITY || lim.rlim_max >= wanted) ? wanted : lim.rlim_max;
  // Raising the hard limit too works only with privileges; try, then settle for the hard limit.
  if (next.rlim_cur < wanted) {
    rlimit both{wanted, wanted};
    if (::setrlimit(RLIMIT_NOFILE, &both) == 0) return;
  }
  if (::setrlimit(RLIMIT_NOFILE, &next) != 0 || next.rlim_cur < wanted) {
    spdlog::warn("open-file limit is {}, wanted {}: fewer clients than --max-clients may connect",
                 next.rlim_cur, wanted);
  }
}

}  // namespace clossyne::frontend
