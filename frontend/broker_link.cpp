#include "broker_link.hpp"

#include <spdlog/spdlog.h>

#include "common/frames.hpp"
#include "common/protocol.hpp"

namespace clossyne::frontend {
namespace {

// One envelope stays well inside what the broker accepts (proto::kMaxBatchOps, kMaxEnvelopeBytes)
// and small enough that a huge turn does not become one huge message. A thousand ops keep the
// broker's per-envelope arrays (an Op is ~480 bytes, a Reply ~600) below the 4 MiB mmap threshold
// (common/malloc_tuning.cpp): at 10,000 each envelope's arrays were fresh mmaps whose pages
// faulted in and were zeroed, and a redis-cli --pipe bulk load cost the broker ~45% more CPU.
constexpr std::size_t kMaxOpsPerEnvelope = 1000;
constexpr std::size_t kMaxEnvelopeBytes = 64u * 1024 * 1024;
constexpr std::size_t kMaxOpBytes = proto::kMaxEnvelopeBytes - 64 * 1024;

constexpr const char* kUnavailable = "cluster unavailable: no broker connection";
constexpr const char* kTimeout = "timeout waiting for the cluster";

// Roughly the encoded size of an op: its payload plus a little framing per field.
std::size_t op_bytes(const Op& op) {
  std::size_t n = 64 + op.key.value_or("").size() + op.value.value_or("").size();
  n += op.end.value_or("").size();
  for (const auto& k : op.keys) n += k.size() + 8;
  for (const auto& [k, v] : op.pairs) n += k.size() + v.size() + 16;
  return n;
}

// The broker answers operator ops (status) only outside a batch.
bool must_go_alone(const Op& op) {
  return op.op == proto::op::kStatus;
}

}  // namespace

BrokerLink::BrokerLink(zmq::context_t& ctx, const std::string& endpoint, int timeout_ms,
                       CompletionFn done, const CurveClientKeys* curve)
    : dealer_(ctx, zmq::socket_type::dealer), timeout_ms_(timeout_ms), done_(std::move(done)) {
  if (curve != nullptr) set_curve_client(dealer_, *curve);
  dealer_.set(zmq::sockopt::linger, 0);
  dealer_.set(zmq::sockopt::immediate, 1);  // fail fast instead of queueing for an absent broker
  dealer_.set(zmq::sockopt::sndhwm, 100000);
  dealer_.set(zmq::sockopt::rcvhwm, 100000);
  dealer_.connect(endpoint);
}

int BrokerLink::fd() const {
  return static_cast<int>(dealer_.get(zmq::sockopt::fd));
}

void BrokerLink::submit(Op op, Ticket ticket) {
  op.id = pending_.add(ticket);
  queued_.push_back(std::move(op));
}

void BrokerLink::flush(int64_t now) {
  // Completions run below may submit again (a Job's next step): those wait for the next flush.
  std::vector<Op> queued;
  queued.swap(queued_);
  std::vector<Op> ops;
  std::size_t bytes = 0;
  for (Op& op : queued) {
    const std::size_t b = op_bytes(op);
    if (b > kMaxOpBytes) {
      fail(op.id, "request too large for the cluster");
      continue;
    }
    if (must_go_alone(op)) {
      std::vector<Op> one;
      one.push_back(std::move(op));
      send_envelope(one, now);
      continue;
    }
    if (!ops.empty() && (ops.size() >= kMaxOpsPerEnvelope || bytes + b > kMaxEnvelopeBytes)) {
      send_envelope(ops, now);
      bytes = 0;
    }
    ops.push_back(std::move(op));
    bytes += b;
  }
  if (!ops.empty()) send_envelope(ops, now);
  queued.clear();
  if (queued_.empty()) queued_.swap(queued);  // keeps the capacity for the next turn
}

void BrokerLink::send_envelope(std::vector<Op>& ops, int64_t now) {
  std::vector<uint64_t> members;
  members.reserve(ops.size());
  for (const Op& op : ops) members.push_back(op.id);
  Op env;
  if (ops.size() == 1) {
    env = std::move(ops[0]);  // a lone op: its id is the group's
  } else {
    env.op = std::string(proto::op::kBatch);
    env.id = (uint64_t{1} << 63) | next_group_++;  // op ids never have bit 63
    env.batch = std::move(ops);
    env.stream = true;  // each op's reply as soon as it is ready: a slow shard holds back no one
  }
  ops.clear();
  bool sent = false;
  try {
    sent = dealer_.send(owned_message(encode(env)), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t& e) {
    spdlog::warn("send to broker failed: {}", e.what());
  }
  if (!sent) {
    for (uint64_t id : members) fail(id, kUnavailable);
    return;
  }
  pending_.add_group(env.id, std::move(members), now + timeout_ms_);
}

void BrokerLink::poll() {
  while (true) {
    zmq::message_t msg;
    try {
      if (!dealer_.recv(msg, zmq::recv_flags::dontwait)) return;
      while (dealer_.get(zmq::sockopt::rcvmore)) (void)dealer_.recv(msg);  // the body is last
    } catch (const zmq::error_t& e) {
      spdlog::warn("receive from broker failed: {}", e.what());
      return;
    }
    Reply reply;
    const Status st = decode(std::string_view(msg.data<char>(), msg.size()), reply);
    if (!st.ok()) {
      spdlog::warn("dropping undecodable reply from broker: {}", st.message());
      continue;
    }
    on_reply(reply);
  }
}

void BrokerLink::on_reply(Reply& reply) {
  if (reply.is_batch) return on_batch_reply(reply);
  const std::vector<uint64_t> members = pending_.take_group(reply.id);
  if (members.size() <= 1) return complete(reply.id, reply);  // a lone op, or unknown: dropped
  // The broker refused the whole batch with one error: every op in it gets that error.
  const std::string msg = reply.ok ? "unexpected reply to a batch" : reply.error;
  for (uint64_t id : members) fail(id, msg);
}

void BrokerLink::on_batch_reply(Reply& reply) {
  if (reply.partial) {  // more of this batch follows; sub-replies always carry their ids
    for (const Reply& sub : reply.replies) complete(sub.id, sub);
    return;
  }
  const std::vector<uint64_t> members = pending_.take_group(reply.id);
  for (std::size_t i = 0; i < reply.replies.size(); ++i) {
    const Reply& sub = reply.replies[i];
    const uint64_t id = sub.id != 0 ? sub.id : (i < members.size() ? members[i] : 0);
    complete(id, sub);
  }
  // Ops the broker left out would otherwise wait for their deadline.
  for (uint64_t id : members) fail(id, "incomplete batch reply from the cluster");
}

void BrokerLink::expire(int64_t now) {
  for (uint64_t group : pending_.expired_groups(now)) {
    for (uint64_t id : pending_.take_group(group)) fail(id, kTimeout);
  }
}

void BrokerLink::complete(uint64_t id, const Reply& reply) {
  if (auto ticket = pending_.take(id)) done_(*ticket, reply);
}

void BrokerLink::fail(uint64_t id, const std::string& msg) {
  complete(id, Reply::Error(id, msg));
}

}  // namespace clossyne::frontend
