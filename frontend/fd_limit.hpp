// Raises the process's open-file limit (RLIMIT_NOFILE) so --max-clients sockets fit.
#pragma once
#include <cstddef>

namespace clossyne::frontend {

// Raises the soft limit to `wanted` (at most the hard limit). Logs a warning when it cannot
// reach `wanted`; never fails the process.
void raise_fd_limit(std::size_t wanted);

}  // namespace clossyne::frontend
