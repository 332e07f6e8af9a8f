#include "broker_client.hpp"

#include "common/clock.hpp"

namespace clossyne::admin {

BrokerClient::BrokerClient(const std::string& endpoint, std::chrono::milliseconds timeout,
                           const CurveClientKeys* curve)
    : ctx_(1), sock_(ctx_, zmq::socket_type::dealer), timeout_(timeout) {
  sock_.set(zmq::sockopt::linger, 0);
  if (curve != nullptr) set_curve_client(sock_, *curve);
  sock_.connect(endpoint);
}

Status BrokerClient::call(Op op, Reply& reply) {
  op.id = next_id_++;
  std::string body = encode(op);
  sock_.send(zmq::buffer(body), zmq::send_flags::none);
  int64_t deadline = now_ms() + timeout_.count();
  while (true) {
    int64_t left = deadline - now_ms();
    if (left <= 0)
      return Status::Error("no reply from the broker within " + std::to_string(timeout_.count()) +
                           " ms");
    zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(left));
    if (!(item.revents & ZMQ_POLLIN)) continue;
    zmq::message_t msg;
    if (!sock_.recv(msg, zmq::recv_flags::dontwait)) continue;
    reply = Reply();
    Status st = decode(msg.to_string_view(), reply);
    if (!st.ok()) return st;
    if (reply.id == op.id) return Status::Ok();  // replies to earlier, timed-out calls are skipped
  }
}

}  // namespace clossyne::admin
