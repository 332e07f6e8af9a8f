// Opens the frontend's listening TCP socket: non-blocking, close-on-exec, SO_REUSEADDR.
#pragma once
#include <cstdint>
#include <string>

#include "common/status.hpp"

namespace clossyne::frontend {

// Binds host:port (port 0: any free port) and listens. On success `fd` is the socket and
// `bound_port` the port actually bound; the caller owns the fd.
Status listen_tcp(const std::string& host, uint16_t port, int& fd, uint16_t& bound_port);

}  // namespace clossyne::frontend
