#include "broker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string>

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
  secure_bus(ctx);
  // A failed bind names the address and the flag that moves it (two clusters on one host, say).
  auto bind = [](zmq::socket_t& s, const std::string& endpoint, const char* flag) {
    try {
      s.bind(endpoint);
    } catch (const zmq::error_t& e) {
      throw std::runtime_error("cannot bind " + endpoint + ": " + e.what() +
                               " (choose another with " + flag + ")");
    }
  };
  bind(clients_, config_.clients_endpoint, "--clients");
  bind(workers_, config_.workers_endpoint, "--workers");
  spdlog::info("broker: clients on {}, workers on {}, waiting for {} worker(s)",
               config_.clients_endpoint, config_.workers_endpoint, config_.min_workers);
  start_http();
}

namespace {
// Microseconds of the monotonic clock: operation latencies (metrics).
int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// True for endpoints only this host reaches.
bool local_only(const std::string& endpoint) {
  for (const char* p : {"tcp://127.", "tcp://localhost:", "tcp://[::1]:", "ipc://", "inproc://"}) {
    if (endpoint.rfind(p, 0) == 0) return true;
  }
  return false;
}
}  // namespace

// With --cluster-keys both sockets are CURVE servers behind the ZAP handler (bound first: libzmq
// lets every CURVE client in while no handler is bound). Without, the log says what is open.
void Broker::secure_bus(zmq::context_t& ctx) {
  if (config_.cluster_keys.empty()) {
    if (local_only(config_.clients_endpoint) && local_only(config_.workers_endpoint)) {
      spdlog::warn(
          "broker: the bus is unauthenticated and unencrypted (no --cluster-keys): listening on "
          "loopback only");
    } else {
      spdlog::warn(
          "broker: THE BUS IS OPEN: no --cluster-keys, and {} / {} reach beyond this host: anyone "
          "who reaches them can read and write every key, drain, split and move shards, or "
          "register as a worker and be handed shards (see docs/SECURITY.md)",
          config_.clients_endpoint, config_.workers_endpoint);
    }
    return;
  }
  CurveKeyPair keys;
  AuthorizedKeys authorized;
  if (Status st = load_server_keys(config_.cluster_keys, keys, authorized); !st.ok())
    throw std::runtime_error("--cluster-keys: " + st.message());
  const std::size_t n = authorized.size();
  zap_ = std::make_unique<ZapHandler>(ctx, config_.cluster_keys + "/authorized_keys",
                                      std::move(authorized));
  set_curve_server(clients_, keys, kClientsDomain);
  set_curve_server(workers_, keys, kWorkersDomain);
  spdlog::info("broker: bus encrypted and authenticated (CurveZMQ, keys in {}, {} authorized)",
               config_.cluster_keys, n);
}

void Broker::run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    try {
      poll_once();
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;  // a signal interrupted a call: check `stop` and go on
    }
  }
  spdlog::info("broker: stopping ({} requests in flight)", requests_.size());
}

void Broker::poll_once() {
  zmq::pollitem_t items[] = {{clients_.handle(), 0, ZMQ_POLLIN, 0},
                             {workers_.handle(), 0, ZMQ_POLLIN, 0},
                             {zap_ ? zap_->socket().handle() : nullptr, 0, ZMQ_POLLIN, 0}};
  try {
    zmq::poll(items, zap_ ? 3 : 2, std::chrono::milliseconds(100));
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return;  // a signal: run() checks whether to stop
    throw;
  }
  turn_ms_ = now_ms();  // one clock read per turn, not per op
  // Never backwards: a worker may delete a key once a time past its expiry was sent (worker.cpp).
  wall_ms_ = std::max(wall_ms_, wall_ms());
  if (zap_) zap_->serve();  // handshakes wait for it, not for the turn's other work
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
  flush_streams();
  housekeeping();
  publish_http();
}

// ---- client requests --------------------------------------------------------------------------

void Broker::on_client_message(RoutedMessage m) {
  Op op;
  std::string_view body(static_cast<const char*>(m.body.data()), m.body.size());
  if (Status st = decode(body, op); !st.ok()) {
    spdlog::debug("broker: bad envelope from a client: {}", st.message());
    reply_to_client(
        m.identity, m.delimiter,
        Reply::Error(op.id, "ERR bad envelope: " + st.message(), ErrorCode::kBadRequest));
    return;
  }
  if (zap_) {  // the role the ZAP handler gave this connection's key
    const auto role = message_role(m.body);
    if (!role) return;  // cannot happen: ZAP lets only client and admin keys onto this socket
    if (is_admin_op(op.op) && op.op != op::kStatus && *role != BusRole::kAdmin) {
      reply_to_client(m.identity, m.delimiter,
                      Reply::Error(op.id,
                                   "ERR permission denied: '" + op.op +
                                       "' is an operator command and needs the cluster's admin "
                                       "key (this connection has a " +
                                       role_name(*role) + " key)",
                                   ErrorCode::kOther));
      return;
    }
  }
  if (is_admin_op(op.op)) {
    reply_to_client(m.identity, m.delimiter, admin(op));
    return;
  }
  if (!ready_) {
    auto msg = fmt::format("ERR cluster not ready: {} of {} workers registered",
                           registry_.alive_ids().size(), config_.min_workers);
    reply_to_client(m.identity, m.delimiter, Reply::Error(op.id, msg, ErrorCode::kNotReady));
    metrics_.op_refused(op.op, ErrorCode::kNotReady);
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
  req.stream = req.is_batch && op.stream;
  req.start_us = now_us();
  std::vector<Op> ops;
  if (req.is_batch) {
    ops = std::move(op.batch);
  } else {
    ops.push_back(std::move(op));
  }
  req.outstanding = ops.size() + 1;  // +1 guards against finishing while still planning
  if (req.stream) {
    req.ready.reserve(ops.size());  // no regrowth (moving every reply) as replies come in
  } else {
    req.replies.resize(ops.size());
  }
  req.merges.reserve(ops.size());
  req.kinds.reserve(ops.size());
  for (const Op& o : ops) req.kinds.push_back(metrics_.kind(o.op));
  Plan p;  // every op's parts, one op's after another
  p.parts.reserve(ops.size());
  std::vector<std::pair<uint32_t, uint32_t>> owners;  // per part: (op index, part index in the op)
  owners.reserve(ops.size());
  std::size_t submitted = 0;
  for (uint32_t i = 0; i < ops.size(); ++i) {
    if (runs_as_txn(ops[i])) {  // after the ops before it in the batch, as they were sent
      req.merges.emplace_back(ops[i], 1);
      for (; submitted < p.parts.size(); ++submitted) {
        submit_part(req_id, owners[submitted].first, owners[submitted].second,
                    std::move(p.parts[submitted]));
      }
      start_txn(req_id, i, std::move(ops[i]));
      continue;
    }
    const std::size_t before = p.parts.size();
    plan_into(ops[i], map_, p);
    const auto n = static_cast<uint32_t>(p.parts.size() - before);
    req.merges.emplace_back(ops[i], n);
    for (uint32_t j = 0; j < n; ++j) owners.emplace_back(i, j);
    if (p.immediate) {
      --req.outstanding;
      metrics_.op_done(req.kinds[i], p.immediate->code, now_us() - req.start_us);
      if (req.stream) {
        req.ready.push_back(std::move(*p.immediate));
      } else {
        req.replies[i] = std::move(*p.immediate);
      }
    }
  }
  if (req.stream && !req.ready.empty()) streaming_.push_back(req_id);
  // `req` may be erased once parts complete, so only ids are used from here on.
  for (std::size_t k = submitted; k < p.parts.size(); ++k) {
    submit_part(req_id, owners[k].first, owners[k].second, std::move(p.parts[k]));
  }
  --requests_[req_id].outstanding;
  finish_if_done(req_id);
}

std::string Broker::unavailable(const ShardEntry& shard) const {
  const std::string range = fmt::format("[{}, {})", escape_key(shard.info.lo),
                                        shard.info.hi ? escape_key(*shard.info.hi) : "+inf");
  if (shard.replicated() && shard.owner.empty()) {
    std::string members;
    for (const auto& m : shard.info.replicas) {
      if (!members.empty()) members += ',';
      members += m;
    }
    return fmt::format(
        "ERR shard unavailable: shard {} {} has no live in-sync member (waiting for {} to "
        "register)",
        shard.info.id, range, members);
  }
  if (shard.gap())
    return fmt::format(
        "ERR shard unavailable: range {} has no registered owner yet (its worker has not "
        "registered since the broker started)",
        range);
  if (shard.owner.empty())
    return fmt::format("ERR shard unavailable: shard {} {} is not held by any registered worker",
                       shard.info.id, range);
  return fmt::format("ERR shard unavailable: shard {} {} owner {} is down", shard.info.id, range,
                     shard.owner);
}

void Broker::submit_part(uint64_t req, uint32_t op_index, uint32_t part_index, Part part) {
  if (parts_.size() >= config_.max_pending) {
    complete_op_part(
        req, op_index, part_index,
        Reply::Error(0, "ERR busy: too many operations in flight, retry later", ErrorCode::kBusy));
    return;
  }
  PartRef ref;
  ref.request = req;
  ref.op_index = op_index;
  ref.part_index = part_index;
  ref.is_del = part.op.op == op::kDel;
  ref.deadline_ms = turn_ms_ + config_.op_timeout_ms;  // held or sent, it is answered by then
  const uint64_t sub_id = parts_.insert(std::move(ref));
  route(part.shard, sub_id, std::move(part.op));
}

// Sends a registered part to its shard's owner, holds it behind the shard's barrier, or fails it
// when the shard has no live owner.
void Broker::route(std::size_t shard_index, uint64_t sub_id, Op op) {
  ShardEntry& shard = map_.at(shard_index);
  PartRef* ref = parts_.find(sub_id);
  if (ref == nullptr) return;
  ref->shard_id = shard.info.id;
  ref->worker.clear();
  if (shard.owner.empty() || !registry_.alive(shard.owner)) {
    complete_part(sub_id, Reply::Error(0, unavailable(shard), ErrorCode::kUnavailable));
  } else if (shard.holding()) {
    shard.held.push_back(HeldOp{sub_id, std::move(op)});
  } else {
    dispatch(shard, sub_id, std::move(op));
  }
}

void Broker::dispatch(ShardEntry& shard, uint64_t sub_id, Op op) {
  PartRef* ref = parts_.find(sub_id);
  if (ref == nullptr) return;
  ref->worker = shard.owner;
  op.id = sub_id;
  op.shard = shard.info.id;
  op.epoch = shard.info.epoch;
  op.now = wall_ms_;  // every member decides expiry on the same time
  // A delete restructures its shard: later ops on the shard wait until it is answered.
  if (op.op == op::kDel) shard.barrier = true;
  if (shard.replicated()) replicate_write(shard, *ref, op);
  enqueue(shard.owner, std::move(op));
}

// Releases held ops in order until one of them takes the barrier again.
void Broker::release_held(ShardEntry& shard) {
  resume_txn(shard);  // a transaction holding it may wait for its configuration change to end
  while (!shard.holding() && !shard.held.empty()) {
    HeldOp h = std::move(shard.held.front());
    shard.held.pop_front();
    if (!registry_.alive(shard.owner)) {
      complete_part(h.sub_id, Reply::Error(0, unavailable(shard), ErrorCode::kUnavailable));
      continue;
    }
    if (h.op.op == kTxnLock) {
      grant_lock(shard, h.sub_id);
      continue;
    }
    dispatch(shard, h.sub_id, std::move(h.op));
  }
}

// Ops held on a shard that has since split: each goes to the shard(s) now covering its keys, in
// the order they were held.
void Broker::reroute_held(std::deque<HeldOp> held, const KeyRange& old_range) {
  for (auto& h : held) {
    if (h.op.op == kTxnLock) {  // a transaction waited for this shard: it takes its shards again
      marker_moved(h.sub_id);
      continue;
    }
    const PartRef* ref = parts_.find(h.sub_id);
    if (ref == nullptr) continue;
    const PartRef model = *ref;  // parts_ may grow below
    std::vector<Part> parts = replan(h.op, old_range, map_);
    for (std::size_t i = 1; i < parts.size(); ++i) {  // extra parts of a shard-wide op
      PartRef extra = model;
      auto req = requests_.find(extra.request);
      if (req == requests_.end()) continue;
      extra.part_index = static_cast<uint32_t>(req->second.merges[extra.op_index].add_part());
      const uint64_t sub_id = parts_.insert(std::move(extra));
      route(parts[i].shard, sub_id, std::move(parts[i].op));
    }
    if (!parts.empty()) route(parts[0].shard, h.sub_id, std::move(parts[0].op));
  }
}

// Single-key ops go wherever their key now lives; others (RNG parts) to the same shard again.
bool Broker::again_routable(const Op& o) {
  return o.key.has_value() && o.op != op::kRng;
}

// A worker refused a part for a stale epoch or a shard it no longer holds: send it again by the
// current map (a few times at most). Returns false when the reply should stand.
bool Broker::reroute_stale(uint64_t sub_id, const Reply& reply) {
  if (reply.ok) return false;
  const bool stale = reply.code == ErrorCode::kStaleEpoch || reply.code == ErrorCode::kNotHeld;
  PartRef* found = stale ? parts_.find(sub_id) : nullptr;
  // A transaction's step is not sent elsewhere: the shard it holds is what the step needs.
  if (found == nullptr || found->reroutes >= 3 || found->op.op.empty() || found->txn != 0)
    return false;
  PartRef& ref = *found;
  auto old = map_.by_id(ref.shard_id);
  if (!(again_routable(ref.op) || old)) return false;
  ++ref.reroutes;
  // A delete that was sent holds its shard's barrier: it lets go before it is routed again (else
  // it would wait behind itself), and whatever waited behind it moves on unless it takes it again.
  const bool held_barrier = ref.is_del && !ref.worker.empty();
  ref.is_del = ref.op.op == op::kDel;
  spdlog::info("broker: re-routing op {} after '{}'", sub_id, reply.error);
  Op again = std::move(ref.op);
  ref.op = Op();
  if (held_barrier && old) map_.at(*old).barrier = false;
  if (again_routable(again)) {
    const std::size_t to = map_.find(*again.key);  // before `again` is moved from
    route(to, sub_id, std::move(again));
  } else {
    route(*old, sub_id, std::move(again));
  }
  if (held_barrier && old) release_held(map_.at(*old));
  return true;
}

void Broker::complete_part(uint64_t sub_id, Reply&& reply) {
  if (reroute_stale(sub_id, reply)) return;
  PartRef* found = parts_.find(sub_id);
  if (found == nullptr) return;  // already failed (timeout or dead worker)
  PartRef ref = std::move(*found);
  parts_.erase(sub_id);
  if (!ref.worker.empty()) metrics_.part_answered(ref.worker, turn_ms_);
  if (reply.where) {  // WHERE on a replicated shard names its members too
    if (auto idx = map_.by_id(ref.shard_id); idx && map_.at(*idx).replicated())
      reply.where->members = map_.at(*idx).info.replicas;
  }
  if (ref.is_del && !ref.worker.empty()) {
    if (auto idx = map_.by_id(ref.shard_id)) {
      ShardEntry& shard = map_.at(*idx);
      shard.barrier = false;
      release_held(shard);
    }
  }
  if (ref.txn != 0) {
    on_txn_reply(ref.txn, sub_id, ref.part_index, std::move(reply));
    return;
  }
  complete_op_part(ref.request, ref.op_index, ref.part_index, std::move(reply));
}

void Broker::complete_op_part(uint64_t req_id, uint32_t op_index, uint32_t part_index,
                              Reply&& reply) {
  auto it = requests_.find(req_id);
  if (it == requests_.end()) return;
  ClientRequest& req = it->second;
  std::optional<Reply> done = req.merges[op_index].add(part_index, std::move(reply));
  if (!done) return;
  metrics_.op_done(req.kinds[op_index], done->code, now_us() - req.start_us);
  --req.outstanding;
  if (req.stream) {
    if (req.ready.empty()) streaming_.push_back(req_id);
    req.ready.push_back(std::move(*done));
  } else {
    req.replies[op_index] = std::move(*done);
  }
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
    batch.replies = std::move(req.stream ? req.ready : req.replies);
    reply_to_client(req.identity, req.delimiter, batch);
  } else {
    reply_to_client(req.identity, req.delimiter, req.replies[0]);
  }
  requests_.erase(it);
}

// Streamed batches: what became ready this turn goes out in one partial envelope per request.
void Broker::flush_streams() {
  for (uint64_t req_id : streaming_) {
    auto it = requests_.find(req_id);
    if (it == requests_.end() || it->second.ready.empty()) continue;
    Reply part;
    part.id = it->second.id;
    part.is_batch = true;
    part.partial = true;
    part.replies = std::move(it->second.ready);
    reply_to_client(it->second.identity, it->second.delimiter, part);
    it->second.ready = std::move(part.replies);  // keeps its capacity for the next turn's replies
    it->second.ready.clear();
  }
  streaming_.clear();
}

void Broker::reply_to_client(const std::string& identity, bool delimiter, const Reply& r) {
  send_routed(clients_, identity, delimiter, encode(r));
}

}  // namespace clossyne::broker
