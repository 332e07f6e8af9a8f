#include "worker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>
#include <zmq_addon.hpp>

#include "common/clock.hpp"

namespace clossyne {
namespace {

// stop() cannot wake zmq::poll, so the loop looks at the flag at least this often.
constexpr int64_t kStopCheckMs = 100;
// Messages handled per wake-up before housekeeping runs, so heartbeats go out under load.
constexpr int kMaxDrain = 1000;

}  // namespace

Worker::Worker(zmq::context_t& ctx, std::string broker, std::string id, WorkerTiming timing)
    : ctx_(ctx), broker_(std::move(broker)), id_(std::move(id)), timing_(timing), shards_(id_) {}

void Worker::run() {
  spdlog::info("worker {} starting: broker {}, in-memory shards", id_, broker_);
  connect();
  try {
    while (!stopping_.load()) {
      poll_once();
      housekeeping();
    }
  } catch (const zmq::error_t& e) {
    if (e.num() != ETERM) throw;
    spdlog::info("zmq context terminated");
  }
  socket_.close();
}

void Worker::connect() {
  socket_ = zmq::socket_t(ctx_, zmq::socket_type::dealer);
  socket_.set(zmq::sockopt::routing_id, id_);
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(proto::kMaxEnvelopeBytes));
  socket_.connect(broker_);
  const int64_t now = now_ms();
  last_heard_ms_ = now;
  next_heartbeat_ms_ = now + timing_.heartbeat_ms;
  send_register();
}

// The broker may have restarted: a fresh socket drops whatever was queued for the old one.
void Worker::reconnect() {
  spdlog::warn("no message from broker {} for {} ms; reconnecting", broker_, timing_.liveness_ms);
  socket_.close();
  connect();
}

void Worker::poll_once() {
  const int64_t now = now_ms();
  const int64_t wake =
      std::min({next_heartbeat_ms_, last_heard_ms_ + timing_.liveness_ms, now + kStopCheckMs});
  zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
  try {
    zmq::poll(items, 1, std::chrono::milliseconds(std::max<int64_t>(0, wake - now)));
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return;  // a signal: the loop checks stopping_
    throw;
  }
  if (items[0].revents & ZMQ_POLLIN) drain();
}

void Worker::housekeeping() {
  const int64_t now = now_ms();
  if (now - last_heard_ms_ >= timing_.liveness_ms) {
    reconnect();
    return;
  }
  if (now >= next_heartbeat_ms_) {
    Reply beat;
    beat.op = proto::op::kHeartbeat;
    beat.worker = id_;
    send(beat);
    next_heartbeat_ms_ = now + timing_.heartbeat_ms;
  }
}

// A broker message is [body] (ROUTER -> DEALER); an empty delimiter before it is tolerated, as
// are extra frames: the last frame is the body.
void Worker::drain() {
  for (int i = 0; i < kMaxDrain; ++i) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(socket_, std::back_inserter(frames), zmq::recv_flags::dontwait))
      return;
    last_heard_ms_ = now_ms();
    if (!frames.empty()) handle(frames.back().to_string_view());
  }
}

void Worker::handle(std::string_view body) {
  Op op;
  if (Status st = decode(body, op); !st.ok()) {
    spdlog::warn("ignoring undecodable message from broker ({} bytes): {}", body.size(),
                 st.message());
    return;
  }
  if (op.op == proto::op::kHeartbeat) return;  // receiving it was the point
  if (op.op == proto::op::kReregister) return send_register();
  if (op.op == proto::op::kAssign) {
    spdlog::info("assignment from broker: {} shards", op.shards.size());
    return shards_.assign(op.shards);
  }
  if (op.op == proto::op::kBatch) return send(shards_.execute_batch(op));
  send(shards_.execute(op));  // a single routed op, or an error naming what is wrong with it
}

// Never blocks the loop: when the broker is unreachable and the queue is full, the message is lost,
// as it would be anyway once the broker declares this worker dead.
void Worker::send(const Reply& reply) {
  const std::string body = encode(reply);
  try {
    if (!socket_.send(zmq::buffer(body), zmq::send_flags::dontwait))
      spdlog::warn("send queue to broker full; dropped a {} message",
                   reply.op.empty() ? "reply" : reply.op);
  } catch (const zmq::error_t& e) {
    spdlog::warn("send to broker failed: {}", e.what());
  }
}

void Worker::send_register() {
  Reply reg;
  reg.op = proto::op::kRegister;
  reg.worker = id_;
  reg.shards = shards_.describe();
  spdlog::info("registering with broker {} ({} shards)", broker_, reg.shards.size());
  send(reg);
}

}  // namespace clossyne
