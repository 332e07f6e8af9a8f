#include "worker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>
#include <zmq_addon.hpp>

#include "common/clock.hpp"
#include "common/frames.hpp"
#include "common/keyed_ops.hpp"
#include "common/resident.hpp"

namespace clossyne {
namespace {

// stop() cannot wake zmq::poll, so the loop looks at the flag at least this often.
constexpr int64_t kStopCheckMs = 100;
// Keys active expiry removes per loop turn at most: bounded work between two polls, so clients
// are served in between (as Redis's active expire cycle bounds its time).
constexpr std::size_t kExpireKeysPerTurn = 500;
// Messages handled per wake-up before housekeeping runs, so heartbeats go out under load.
constexpr int kMaxDrain = 1000;

// Ops whose reply promises something durable: it is turned into an error if the commit fails.
bool is_write(std::string_view op) {
  return changes_data(op);
}

std::string persistence_error(const Status& st) {
  std::string msg = "ERR persistence failure: ";
  msg += st.message();
  msg += " (writes refused; reads continue)";
  return msg;
}

}  // namespace

Worker::Worker(zmq::context_t& ctx, std::string broker, std::string id, WorkerTiming timing,
               std::unique_ptr<Storage> storage)
    : ctx_(ctx),
      broker_(std::move(broker)),
      id_(std::move(id)),
      timing_(timing),
      storage_(storage ? std::move(storage) : std::make_unique<MemoryStorage>()),
      shards_(id_, storage_.get()) {}

Status Worker::recover() {
  if (Status st = storage_->recover(shards_); !st.ok()) return st;
  return shards_.load_cluster_state();
}

void Worker::run() {
  spdlog::info("worker {} starting: broker {}, {} shard(s){}", id_, broker_, shards_.size(),
               storage_->persistent() ? "" : ", in-memory only (no --data-dir: nothing is kept)");
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
  commit_turn();
  storage_->close();
  socket_.close();
}

void Worker::connect() {
  socket_ = zmq::socket_t(ctx_, zmq::socket_type::dealer);
  socket_.set(zmq::sockopt::routing_id, id_);
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(proto::kMaxEnvelopeBytes));
  if (curve_) set_curve_client(socket_, *curve_);
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
  const int64_t wake = expiry_backlog_
                           ? now
                           : std::min({next_heartbeat_ms_, last_heard_ms_ + timing_.liveness_ms,
                                       now + kStopCheckMs});
  zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
  try {
    zmq::poll(items, 1, std::chrono::milliseconds(std::max<int64_t>(0, wake - now)));
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return;  // a signal: the loop checks stopping_
    throw;
  }
  if (items[0].revents & ZMQ_POLLIN) {
    drain();
    commit_turn();
  }
}

void Worker::housekeeping() {
  const int64_t now = now_ms();
  if (now - last_heard_ms_ >= timing_.liveness_ms) {
    reconnect();
    return;
  }
  expire_keys();
  storage_->tick(now, shards_);
  if (now >= next_heartbeat_ms_) {
    if (assign_failed_) send_register();  // the broker answers with the assignment
    Reply beat;
    beat.op = proto::op::kHeartbeat;
    beat.worker = id_;
    beat.shards = shards_.describe();  // sizes for the broker's splits and balancing
    describe_self(beat);
    send(beat);
    next_heartbeat_ms_ = now + timing_.heartbeat_ms;
  }
}

// A broker message is [body] (ROUTER -> DEALER); an empty delimiter before it is tolerated, as
// are extra frames: the last frame is the body.
void Worker::drain() {
  for (int i = 0; i < kMaxDrain; ++i) {
    std::vector<zmq::message_t> frames;
    try {
      if (!zmq::recv_multipart(socket_, std::back_inserter(frames), zmq::recv_flags::dontwait))
        return;
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) return;  // a signal (SIGTERM): the loop checks stopping_
      throw;
    }
    last_heard_ms_ = now_ms();
    if (!frames.empty()) handle(frames.back().to_string_view());
  }
}

void Worker::hold(Reply reply, const Op& op) {
  Held h;
  if (op.op == proto::op::kBatch) {
    for (std::size_t i = 0; i < op.batch.size() && i < reply.replies.size(); ++i) {
      if (is_write(op.batch[i].op) && reply.replies[i].ok) h.writes.push_back(i);
    }
  } else if (is_write(op.op) && reply.ok) {
    h.writes.push_back(0);
  }
  h.reply = std::move(reply);
  held_.push_back(std::move(h));
}

// The group commit: one storage commit for every change of the turn, then the replies.
void Worker::commit_turn() {
  if (held_.empty() && !shards_.has_uncommitted()) return;
  if (Status st = shards_.commit(); !st.ok()) {
    // The turn's changes are undone: its writes fail, and so does every reply after the first of
    // them, which may have seen a change that is gone (reads before it saw committed data).
    const std::string& refusal = storage_->write_refusal();  // set when the fsync failed
    const std::string msg = refusal.empty() ? persistence_error(st) : refusal;
    bool after_write = false;
    for (Held& h : held_) {
      const std::size_t n = h.reply.is_batch ? h.reply.replies.size() : 1;
      auto w = h.writes.begin();
      for (std::size_t i = 0; i < n; ++i) {
        const bool write = w != h.writes.end() && *w == i;
        if (write) ++w;
        after_write = after_write || write;
        Reply& r = h.reply.is_batch ? h.reply.replies[i] : h.reply;
        if (after_write && r.ok) r = Reply::Error(r.id, msg, ErrorCode::kRefused);
      }
    }
  }
  for (const Held& h : held_) send(h.reply);
  held_.clear();
}

void Worker::handle(std::string_view body) {
  Op op;
  if (Status st = decode(body, op); !st.ok()) {
    spdlog::warn("ignoring undecodable message from broker ({} bytes): {}", body.size(),
                 st.message());
    return;
  }
  note_time(op);
  if (op.op == proto::op::kHeartbeat) return;  // receiving it was the point
  if (op.op == proto::op::kReregister) return send_register();
  if (op.op == proto::op::kAssign) {
    spdlog::info("assignment from broker: {} shards", op.shards.size());
    commit_turn();  // the changes before it are committed (and answered) first
    if (Status st = shards_.assign(op.shards, op.drops, op.cluster); !st.ok()) {
      spdlog::error(
          "cannot take the assignment ({}); keeping the current shards and asking "
          "again",
          st.message());
      assign_failed_ = true;
    } else {
      assign_failed_ = false;
    }
    return;
  }
  if (op.op == proto::op::kBatch) return hold(shards_.execute_batch(op), op);
  hold(shards_.execute(op), op);  // a single routed op, or an error naming what is wrong with it
}

void Worker::note_time(const Op& op) {
  if (op.now) broker_time_ms_ = std::max(broker_time_ms_, *op.now);
  for (const Op& sub : op.batch) {
    if (sub.now) broker_time_ms_ = std::max(broker_time_ms_, *sub.now);
  }
}

// Active expiry: a bounded number of due keys per turn, deleted and committed as any delete.
void Worker::expire_keys() {
  expiry_backlog_ = false;
  if (broker_time_ms_ == 0) return;
  const int64_t now = std::min(broker_time_ms_, wall_ms());
  const std::size_t removed = shards_.expire_due(now, kExpireKeysPerTurn);
  if (removed == 0) return;
  expiry_backlog_ = removed == kExpireKeysPerTurn;
  spdlog::debug("active expiry: {} keys removed", removed);
  commit_turn();
}

// Never blocks the loop: when the broker is unreachable and the queue is full, the message is lost,
// as it would be anyway once the broker declares this worker dead.
void Worker::send(const Reply& reply) {
  try {
    if (!socket_.send(owned_message(encode(reply)), zmq::send_flags::dontwait))
      spdlog::warn("send queue to broker full; dropped a {} message",
                   reply.op.empty() ? "reply" : reply.op);
  } catch (const zmq::error_t& e) {
    spdlog::warn("send to broker failed: {}", e.what());
  }
}

// For status and INFO: the process's memory and durability.
void Worker::describe_self(Reply& r) const {
  r.rss = resident_bytes();
  if (auto mode = storage_->fsync_mode()) r.fsync = std::string(fsync_mode_name(*mode));
}

void Worker::send_register() {
  Reply reg;
  reg.op = proto::op::kRegister;
  reg.worker = id_;
  reg.shards = shards_.describe_all();  // importing copies too: a handoff may make them the home
  reg.cluster = shards_.cluster_state().cluster;
  reg.handoffs = shards_.cluster_state().handoffs;
  reg.ephemeral = !storage_->persistent();
  reg.zone = zone_;
  describe_self(reg);
  spdlog::info("registering with broker {} ({} shards, cluster {}{})", broker_, reg.shards.size(),
               reg.cluster.empty() ? "(none yet)" : reg.cluster,
               zone_.empty() ? "" : ", zone " + zone_);
  send(reg);
}

}  // namespace clossyne
