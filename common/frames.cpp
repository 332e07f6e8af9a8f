#include "frames.hpp"

namespace clossyne {

std::optional<RoutedMessage> recv_routed(zmq::socket_t& router) {
  zmq::message_t first;
  if (!router.recv(first, zmq::recv_flags::dontwait)) return std::nullopt;
  RoutedMessage m;
  m.identity.assign(static_cast<const char*>(first.data()), first.size());
  int frames = 0;
  while (router.get(zmq::sockopt::rcvmore)) {
    zmq::message_t part;
    (void)router.recv(part);
    ++frames;
    if (frames == 1 && part.size() == 0 && router.get(zmq::sockopt::rcvmore)) {
      m.delimiter = true;
      continue;
    }
    m.body = std::move(part);
  }
  return m;
}

zmq::message_t owned_message(std::string body) {
  // Small bodies are copied into the message itself by ZeroMQ anyway.
  if (body.size() < 256) return zmq::message_t(body.data(), body.size());
  auto* owned = new std::string(std::move(body));
  return zmq::message_t(
      owned->data(), owned->size(),
      [](void*, void* hint) { delete static_cast<std::string*>(hint); }, owned);
}

bool send_routed(zmq::socket_t& router, const std::string& identity, bool delimiter,
                 std::string body) {
  try {
    router.send(zmq::buffer(identity), zmq::send_flags::sndmore);
    if (delimiter) router.send(zmq::message_t(), zmq::send_flags::sndmore);
    router.send(owned_message(std::move(body)), zmq::send_flags::none);
    return true;
  } catch (const zmq::error_t&) {
    return false;
  }
}

}  // namespace clossyne
