// The broker's side of the worker protocol: registration, liveness, results, assignments.
#include <malloc.h>
#include <spdlog/spdlog.h>

#include "broker.hpp"
#include "common/clock.hpp"
#include "common/protocol.hpp"

namespace clossyne::broker {
namespace op = proto::op;

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
  if (r.op == op::kHeartbeat) {
    note_shard_stats(id, r.shards);
    return;
  }
  std::vector<Reply> replies;
  if (r.is_batch) {
    replies = std::move(r.replies);
  } else {
    replies.push_back(std::move(r));
  }
  for (auto& sub : replies) {
    if (auto it = internal_.find(sub.id); it != internal_.end()) {
      InternalRef ref = it->second;
      internal_.erase(it);
      on_internal_reply(ref, std::move(sub));
    } else {
      complete_part(sub.id, std::move(sub));
    }
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
  note_shard_stats(id, r.shards);
  send_assign(id);
}

// Workers report their shards' sizes with every heartbeat; the balancer decides on them.
void Broker::note_shard_stats(const std::string& worker, const std::vector<ShardInfo>& shards) {
  for (const auto& s : shards) {
    auto idx = map_.by_id(s.id);
    if (!idx) continue;
    ShardEntry& e = map_.at(*idx);
    if (e.owner != worker || e.info.epoch != s.epoch) continue;
    e.info.keys = s.keys;
    e.info.bytes = s.bytes;
  }
}

void Broker::initialize_map() {
  std::vector<std::pair<std::string, ShardInfo>> reported;
  for (const auto& [worker, shards] : reported_) {
    if (!registry_.alive(worker)) continue;
    for (const auto& s : shards) {
      if (!s.importing) reported.emplace_back(worker, s);
    }
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
    spdlog::info("broker: shard {} [{}, {}) epoch {} keys {} -> {}", shard.info.id,
                 escape_key(shard.info.lo), shard.info.hi ? escape_key(*shard.info.hi) : "+inf",
                 shard.info.epoch, shard.info.keys, shard.owner);
  }
  reported_.clear();
  ready_ = true;
  for (const auto& w : alive) send_assign(w);
  spdlog::info("broker: ready with {} shard(s) on {} worker(s)", map_.size(), alive.size());
}

void Broker::send_assign(const std::string& worker) {
  Op assign;
  assign.op = std::string(op::kAssign);
  assign.shards = map_.assignment_for(worker);
  send_to_worker(worker, assign);
}

void Broker::send_to_worker(const std::string& worker, const Op& op) {
  send_routed(workers_, worker, false, encode(op));
}

// Internal requests ride in the same per-worker batch as client parts, so they keep their place
// in the worker's order (an export sees every write sent before it).
uint64_t Broker::send_internal(const std::string& worker, InternalKind kind, uint32_t shard,
                               Op op) {
  const uint64_t sub_id = (uint64_t{1} << 63) | next_internal_++;
  internal_[sub_id] = InternalRef{kind, shard, worker};
  op.id = sub_id;
  Op& batch = outgoing_[worker];
  batch.op = std::string(op::kBatch);
  batch.batch.push_back(std::move(op));
  return sub_id;
}

void Broker::flush_worker_batches() {
  for (auto& [worker, batch] : outgoing_) {
    if (batch.batch.empty()) continue;
    send_to_worker(worker, batch);
    // Keep each sent op with its part, to re-route it should the worker refuse a stale epoch.
    for (auto& sent : batch.batch) {
      if (PartRef* ref = parts_.find(sent.id)) ref->op = std::move(sent);
    }
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
  parts_.for_each([&](uint64_t sub_id, const PartRef& ref) {
    if (!ref.worker.empty() && now > ref.deadline_ms) late.push_back(sub_id);
  });
  for (uint64_t sub_id : late) {
    complete_part(sub_id, Reply::Error(0, "ERR timeout: worker did not answer in time"));
  }
  check_migrations(now);
  if (ready_) balance();
  flush_worker_batches();
  release_idle_memory();
}

// After a burst (a bulk load pipelines a million requests) the tables keep their peak size and
// malloc keeps freed pages; give both back once nothing is in flight.
void Broker::release_idle_memory() {
  const int64_t now = now_ms();
  if (now < next_trim_ms_ || !requests_.empty() || !parts_.empty()) return;
  next_trim_ms_ = now + 1000;  // malloc_trim walks the heap: not on every idle loop turn
  if (parts_.capacity() > 1024) parts_.release();
  if (requests_.bucket_count() > 1024) requests_ = {};
  if (internal_.empty() && internal_.bucket_count() > 1024) internal_ = {};
  malloc_trim(0);
}

void Broker::on_worker_dead(const std::string& id) {
  spdlog::warn("broker: worker '{}' missed its heartbeats: marking it dead", id);
  if (auto it = outgoing_.find(id); it != outgoing_.end()) it->second.batch.clear();
  std::vector<uint64_t> lost;
  parts_.for_each([&](uint64_t sub_id, const PartRef& ref) {
    if (ref.worker == id) lost.push_back(sub_id);
  });
  for (uint64_t sub_id : lost) {
    const PartRef* ref = parts_.find(sub_id);
    if (ref == nullptr) continue;
    auto idx = map_.by_id(ref->shard_id);
    std::string why = idx ? unavailable(map_.at(*idx)) : "ERR worker " + id + " died";
    complete_part(sub_id, Reply::Error(0, why));
  }
  for (auto it = internal_.begin(); it != internal_.end();) {
    if (it->second.worker == id) {
      it = internal_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& shard : map_.entries()) {
    bool involved = shard.owner == id || (shard.busy == ShardBusy::kMoving && shard.move.to == id);
    if (shard.busy != ShardBusy::kNone && involved) abort_change(shard, "worker " + id + " died");
    if (shard.owner == id) {
      shard.barrier = false;
      release_held(shard);  // the owner is dead, so every held op fails now
    }
  }
}

}  // namespace clossyne::broker
