// Explicit ZeroMQ frames (Majordomo style): a ROUTER message is [routing id, optional empty
// delimiter (REQ peers), body]. We remember whether the delimiter was there to answer in kind.
#pragma once
#include <optional>
#include <string>
#include <zmq.hpp>

namespace clossyne {

struct RoutedMessage {
  std::string identity;
  bool delimiter = false;
  zmq::message_t body;
};

// Receives one routed message without blocking; nullopt when none is waiting. Extra or missing
// frames are tolerated: the last frame is the body.
std::optional<RoutedMessage> recv_routed(zmq::socket_t& router);

// Sends `body` to `identity` (with the empty delimiter when `delimiter`). Drops silently when the
// peer is gone (ROUTER semantics); returns false then.
bool send_routed(zmq::socket_t& router, const std::string& identity, bool delimiter,
                 std::string body);

// A message that takes `body` over instead of copying it (ZeroMQ frees it once sent); bodies under
// 256 bytes are copied, as ZeroMQ would copy them anyway.
zmq::message_t owned_message(std::string body);

}  // namespace clossyne
