#include "broker.hpp"

#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "common/protocol.hpp"

namespace clossyne::broker {
namespace op = proto::op;

Broker::Broker(zmq::context_t& ctx, BrokerConfig config)
    : config_(std::move(config)),
      clients_(ctx, zmq::socket_type::router),
      workers_(ctx, zmq::socket_type::router) {
  clients_.set(zmq::sockopt::linger, 0);
  clients_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(proto::kMaxEnvelopeBytes));
  clients_.set(zmq::sockopt::sndhwm, 100000);
  clients_.set(zmq::sockopt::rcvhwm, 100000);
  workers_.set(zmq::sockopt::linger, 0);
  workers_.set(zmq::sockopt::router_handover, 1);  // a restarted worker takes over its id
  workers_.set(zmq::sockopt::sndhwm, 100000);
  workers_.set(zmq::sockopt::rcvhwm, 100000);
  clients_.bind(config_.clients_endpoint);
  workers_.bind(config_.workers_endpoint);
  spdlog::info("broker: clients on {}, workers on {}, waiting for {} worker(s)",
               config_.clients_endpoint, config_.workers_endpoint, config_.min_workers);
}

void Broker::run(const std::atomic<bool>& stop) {
  while (!stop.load()) poll_once();
  spdlog::info("broker: stopping ({} requests in flight)", requests_.size());
}

void Broker::poll_once() {
  zmq::pollitem_t items[] = {{clients_.handle(), 0, ZMQ_POLLIN, 0},
                             {workers_.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 2, std::chrono::milliseconds(100));
  // Workers first: their replies release barriers and free queue space.
  for (int i = 0; i < 10000; ++i) {
    auto m = recv_routed(workers_);
    if (!m) break;
    on_worker_message(std::move(*m));
  }
  for (int i = 0; i < 10000; ++i) {
    auto m = recv_routed(clients_);
    if (!m) break;
    on_client_message(std::move(*m));
  }
  flush_worker_batches();
  housekeeping();
}

// ---- client side ------------------------------------------------------------------------------

void Broker::on_client_message(RoutedMessage m) {
  Op op;
  std::string_view body(static_cast<const char*>(m.body.data()), m.body.size());
  if (Status st = decode(body, op); !st.ok()) {
    spdlog::debug("broker: bad envelope from a client: {}", st.message());
    reply_to_client(m.identity, m.delimiter, Reply::Error(op.id, "ERR bad envelope: " + st.message()));
    return;
  }
  if (!ready_) {
    auto msg = fmt::format("ERR cluster not ready: {} of {} workers registered",
                           registry_.alive_ids().size(), config_.min_workers);
    reply_to_client(m.identity, m.delimiter, Reply::Error(op.id, msg));
    return;
  }
  start_request(m, op);
}

void Broker::start_request(RoutedMessage& m, Op& op) {
  uint64_t req_id = next_request_++;
  ClientRequest& req = requests_[req_id];
  req.identity = std::move(m.identity);
  req.delimiter = m.delimiter;
  req.id = op.id;
  req.is_batch = op.op == op::kBatch;
  std::vector<Op> ops;
  if (req.is_batch) {
    ops = std::move(op.batch);
  } else {
    ops.push_back(std::move(op));
  }
  req.outstanding = ops.size() + 1;  // +1 guards against finishing while still planning
  req.replies.resize(ops.size());
  std::vector<std::vector<Part>> all_parts(ops.size());
  for (uint32_t i = 0; i < ops.size(); ++i) {
    Plan p = plan(ops[i], map_);
    req.op_ids.push_back(ops[i].id);
    req.merges.emplace_back(ops[i], p.parts.size());
    req.remaining.push_back(p.parts.size());
    if (p.immediate) {
      req.replies[i] = std::move(*p.immediate);
      req.remaining[i] = 0;
      --req.outstanding;
    }
    all_parts[i] = std::move(p.parts);
  }
  // `req` may be erased once parts complete, so only ids are used from here on.
  for (uint32_t i = 0; i < all_parts.size(); ++i) {
    for (uint32_t j = 0; j < all_parts[i].size(); ++j) {
      submit_part(req_id, i, j, std::move(all_parts[i][j]));
    }
  }
  --requests_[req_id].outstanding;
  finish_if_done(req_id);
}

std::string Broker::unavailable(const ShardEntry& shard) const {
  return fmt::format("ERR shard unavailable: shard {} [{}, {}) owner {} is down", shard.info.id,
                     escape_key(shard.info.lo), shard.info.hi ? escape_key(*shard.info.hi) : "+inf",
                     shard.owner.empty() ? "(none)" : shard.owner);
}

void Broker::submit_part(uint64_t req, uint32_t op_index, uint32_t part_index, Part part) {
  ShardEntry& shard = map_.at(part.shard);
  if (shard.owner.empty() || !registry_.alive(shard.owner)) {
    complete_op_part(req, op_index, part_index, Reply::Error(0, unavailable(shard)));
    return;
  }
  if (parts_.size() >= config_.max_pending) {
    complete_op_part(req, op_index, part_index,
                     Reply::Error(0, "ERR busy: too many operations in flight, retry later"));
    return;
  }
  uint64_t sub_id = next_sub_++;
  PartRef ref{req, op_index, part_index, shard.info.id, {}, 0, part.op.op == op::kDel};
  parts_.emplace(sub_id, std::move(ref));
  if (shard.barrier) {
    shard.held.push_back(HeldOp{sub_id, std::move(part.op)});
  } else {
    dispatch(shard, sub_id, std::move(part.op));
  }
}

void Broker::dispatch(ShardEntry& shard, uint64_t sub_id, Op op) {
  auto it = parts_.find(sub_id);
  if (it == parts_.end()) return;
  it->second.worker = shard.owner;
  it->second.deadline_ms = now_ms() + config_.op_timeout_ms;
  op.id = sub_id;
  op.shard = shard.info.id;
  op.epoch = shard.info.epoch;
  // A delete restructures its shard: later ops on the shard wait until it is answered.
  if (op.op == op::kDel) shard.barrier = true;
  Op& batch = outgoing_[shard.owner];
  batch.op = std::string(op::kBatch);
  batch.batch.push_back(std::move(op));
}

void Broker::release_barrier(ShardEntry& shard) {
  shard.barrier = false;
  while (!shard.barrier && !shard.held.empty()) {
    HeldOp h = std::move(shard.held.front());
    shard.held.pop_front();
    if (!registry_.alive(shard.owner)) {
      complete_part(h.sub_id, Reply::Error(0, unavailable(shard)));
      continue;
    }
    dispatch(shard, h.sub_id, std::move(h.op));
  }
}

void Broker::complete_part(uint64_t sub_id, Reply reply) {
  auto it = parts_.find(sub_id);
  if (it == parts_.end()) return;  // already failed (timeout or dead worker)
  PartRef ref = std::move(it->second);
  parts_.erase(it);
  if (ref.is_del && !ref.worker.empty()) {
    if (auto idx = map_.by_id(ref.shard_id)) release_barrier(map_.at(*idx));
  }
  complete_op_part(ref.request, ref.op_index, ref.part_index, std::move(reply));
}

void Broker::complete_op_part(uint64_t req_id, uint32_t op_index, uint32_t part_index,
                              Reply reply) {
  auto it = requests_.find(req_id);
  if (it == requests_.end()) return;
  ClientRequest& req = it->second;
  req.merges[op_index].add(part_index, std::move(reply));
  if (--req.remaining[op_index] > 0) return;
  req.replies[op_index] = req.merges[op_index].finish(req.op_ids[op_index]);
  --req.outstanding;
  finish_if_done(req_id);
}

void Broker::finish_if_done(uint64_t req_id) {
  auto it = requests_.find(req_id);
  if (it == requests_.end() || it->second.outstanding > 0) return;
  ClientRequest& req = it->second;
  if (req.is_batch) {
    Reply batch;
    batch.id = req.id;
    batch.is_batch = true;
    batch.replies = std::move(req.replies);
    reply_to_client(req.identity, req.delimiter, batch);
  } else {
    reply_to_client(req.identity, req.delimiter, req.replies[0]);
  }
  requests_.erase(it);
}

void Broker::reply_to_client(const std::string& identity, bool delimiter, const Reply& r) {
  send_routed(clients_, identity, delimiter, encode(r));
}

// ---- worker side ------------------------------------------------------------------------------

void Broker::on_worker_message(RoutedMessage m) {
  Reply r;
  std::string_view body(static_cast<const char*>(m.body.data()), m.body.size());
  if (Status st = decode(body, r); !st.ok()) {
    spdlog::warn("broker: undecodable message from worker '{}': {}", escape_key(m.identity),
                 st.message());
    return;
  }
  const std::string& id = m.identity;
  if (r.op == op::kRegister) {
    on_register(id, r);
    return;
  }
  if (!registry_.seen(id, now_ms())) {
    Op again;
    again.op = std::string(op::kReregister);
    send_to_worker(id, again);
  }
  if (r.op == op::kHeartbeat) return;
  if (r.is_batch) {
    for (auto& sub : r.replies) complete_part(sub.id, std::move(sub));
  } else {
    complete_part(r.id, std::move(r));
  }
}

void Broker::on_register(const std::string& id, const Reply& r) {
  bool revived = registry_.touch_alive(id, now_ms());
  spdlog::info("broker: worker '{}' registered{} holding {} shard(s)", id,
               revived ? "" : " again", r.shards.size());
  if (!ready_) {
    reported_[id] = r.shards;
    std::size_t alive = registry_.alive_ids().size();
    if (alive >= static_cast<std::size_t>(config_.min_workers)) {
      initialize_map();
    } else {
      spdlog::info("broker: waiting for {} more worker(s)", config_.min_workers - alive);
    }
    return;
  }
  send_assign(id);
}

void Broker::initialize_map() {
  std::vector<std::pair<std::string, ShardInfo>> reported;
  for (const auto& [worker, shards] : reported_) {
    if (!registry_.alive(worker)) continue;
    for (const auto& s : shards) reported.emplace_back(worker, s);
  }
  if (reported.empty()) {
    map_.create(config_.split_points, config_.seed);
  } else {
    map_.adopt(reported, config_.seed);
  }
  auto alive = registry_.alive_ids();
  std::size_t next = 0;
  for (auto& shard : map_.entries()) {  // round-robin for shards nobody holds
    if (shard.owner.empty()) shard.owner = alive[next++ % alive.size()];
  }
  for (const auto& shard : map_.entries()) {
    spdlog::info("broker: shard {} [{}, {}) epoch {} -> {}", shard.info.id,
                 escape_key(shard.info.lo), shard.info.hi ? escape_key(*shard.info.hi) : "+inf",
                 shard.info.epoch, shard.owner);
  }
  reported_.clear();
  ready_ = true;
  for (const auto& w : alive) send_assign(w);
  spdlog::info("broker: ready with {} shard(s) on {} worker(s)", map_.size(), alive.size());
}

void Broker::send_assign(const std::string& worker) {
  Op assign;
  assign.op = std::string(op::kAssign);
  assign.shards = map_.owned_by(worker);
  send_to_worker(worker, assign);
}

void Broker::send_to_worker(const std::string& worker, const Op& op) {
  send_routed(workers_, worker, false, encode(op));
}

void Broker::flush_worker_batches() {
  for (auto& [worker, batch] : outgoing_) {
    if (batch.batch.empty()) continue;
    send_to_worker(worker, batch);
    batch.batch.clear();
  }
}

void Broker::housekeeping() {
  int64_t now = now_ms();
  for (const auto& id : registry_.expire(now, proto::kLivenessMs)) on_worker_dead(id);
  if (now < next_heartbeat_ms_) return;
  next_heartbeat_ms_ = now + proto::kHeartbeatMs;
  Op hb;
  hb.op = std::string(op::kHeartbeat);
  for (const auto& id : registry_.alive_ids()) send_to_worker(id, hb);
  std::vector<uint64_t> late;
  for (const auto& [sub_id, ref] : parts_) {
    if (!ref.worker.empty() && now > ref.deadline_ms) late.push_back(sub_id);
  }
  for (uint64_t sub_id : late) {
    complete_part(sub_id, Reply::Error(0, "ERR timeout: worker did not answer in time"));
  }
}

void Broker::on_worker_dead(const std::string& id) {
  spdlog::warn("broker: worker '{}' missed its heartbeats: marking it dead", id);
  std::vector<uint64_t> lost;
  for (const auto& [sub_id, ref] : parts_) {
    if (ref.worker == id) lost.push_back(sub_id);
  }
  for (auto& shard : map_.entries()) {
    if (shard.owner != id) continue;
    for (uint64_t sub_id : lost) {
      if (parts_.count(sub_id) && parts_[sub_id].shard_id == shard.info.id) {
        complete_part(sub_id, Reply::Error(0, unavailable(shard)));
      }
    }
    release_barrier(shard);  // the owner is dead, so every held op fails now
  }
  for (uint64_t sub_id : lost) complete_part(sub_id, Reply::Error(0, "ERR worker " + id + " died"));
  if (auto it = outgoing_.find(id); it != outgoing_.end()) it->second.batch.clear();
}

}  // namespace clossyne::broker
