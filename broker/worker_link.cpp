// The broker's side of the worker protocol: registration, liveness, results, assignments.
#include <malloc.h>
#include <spdlog/spdlog.h>

#include "broker.hpp"
#include "common/clock.hpp"
#include "common/protocol.hpp"

namespace clossyne::broker {
namespace op = proto::op;

void Broker::on_worker_message(RoutedMessage m) {
  // Only worker keys pass ZAP on this socket; checked again per message all the same.
  if (zap_ && message_role(m.body) != BusRole::kWorker) {
    if (refused_workers_.size() < 10000 && refused_workers_.insert(m.identity).second)
      spdlog::warn("broker: ignoring '{}' on the worker socket: not a worker key",
                   escape_key(m.identity));
    return;
  }
  Reply r;
  std::string_view body(static_cast<const char*>(m.body.data()), m.body.size());
  if (Status st = decode(body, r); !st.ok()) {
    spdlog::warn("broker: undecodable message from worker '{}': {}", escape_key(m.identity),
                 st.message());
    return;
  }
  const std::string& id = m.identity;
  if (r.op == op::kRegister) {
    registry_.set_zone(id, r.zone);  // known before its shards are placed
    on_register(id, r);
    registry_.note_report(id, r.rss.value_or(0), r.fsync);
    registry_.set_zone(id, r.zone);
    return;
  }
  if (!registry_.seen(id, now_ms())) {
    Op again;
    again.op = std::string(op::kReregister);
    send_to_worker(id, again);
  }
  if (r.op == op::kHeartbeat) {
    note_shard_stats(id, r.shards);
    registry_.note_report(id, r.rss.value_or(0), r.fsync);
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
      if (ref.kind == InternalKind::kConfirm) {
        on_confirm(ref, sub);
      } else if (ref.kind == InternalKind::kMemberSplit) {
        on_member_split(ref, sub);
      } else if (ref.kind == InternalKind::kMerge) {
        on_merge_reply(ref, sub);
      } else {
        on_internal_reply(ref, std::move(sub));
      }
    } else if (const PartRef* ref = parts_.find(sub.id); ref != nullptr && ref->replicated) {
      on_member_reply(id, sub.id, std::move(sub));
    } else {
      complete_part(sub.id, std::move(sub));
    }
  }
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

// The worker's whole assignment, with the cluster id and the copies it must delete.
void Broker::send_assign(const std::string& worker) {
  // What was dispatched before goes first: members apply it under the configuration it was sent
  // for, and a new configuration never overtakes a write on its way.
  flush_worker_batches();
  Op assign;
  assign.op = std::string(op::kAssign);
  assign.shards = map_.assignment_for(worker);
  assign.cluster = cluster_id_;
  if (auto it = drops_.find(worker); it != drops_.end()) {
    assign.drops = std::move(it->second);
    drops_.erase(it);
  }
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
  enqueue(worker, std::move(op));
  return sub_id;
}

// Into the worker's batch for this loop turn (flush_worker_batches sends it).
void Broker::enqueue(const std::string& worker, Op op) {
  Op& batch = outgoing_[worker];
  batch.op = std::string(op::kBatch);
  batch.batch.push_back(std::move(op));
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
  for (const auto& id : registry_.expire(now, config_.liveness_ms)) on_worker_dead(id);
  if (now < next_heartbeat_ms_) return;
  next_heartbeat_ms_ = now + proto::kHeartbeatMs;
  Op hb;
  hb.op = std::string(op::kHeartbeat);
  hb.now = wall_ms_;  // lets an idle worker expire keys (worker.cpp)
  for (const auto& id : registry_.alive_ids()) send_to_worker(id, hb);
  expire_parts(now);
  check_migrations(now);
  if (ready_) balance();
  flush_worker_batches();
  release_idle_memory();
}

// Every part past its deadline fails: sent ones (the worker did not answer; a write may or may not
// have been applied) and held ones (their shard stayed behind a barrier too long), which also
// leave their shard's queue.
void Broker::expire_parts(int64_t now) {
  std::vector<uint64_t> late;
  parts_.for_each([&](uint64_t sub_id, const PartRef& ref) {
    if (now > ref.deadline_ms) late.push_back(sub_id);
  });
  for (uint64_t sub_id : late) {
    const PartRef* ref = parts_.find(sub_id);
    if (ref == nullptr) continue;
    if (ref->replicated && !ref->waiting.empty()) {
      // Members that did not answer a write in time leave the configuration; what they owe
      // then decides the reply (finish_replicated).
      auto idx = map_.by_id(ref->shard_id);
      const std::vector<std::string> silent = ref->waiting;
      for (const auto& w : silent) {
        if (idx) member_failed(map_.at(*idx), w, "it did not answer a write in time");
      }
      if (const PartRef* still = parts_.find(sub_id); still && still->waiting.empty()) continue;
      ref = parts_.find(sub_id);
      if (ref == nullptr) continue;
    }
    if (!ref->worker.empty()) {
      complete_part(sub_id, Reply::Error(0, "ERR timeout: worker did not answer in time",
                                         ErrorCode::kTimeout));
      continue;
    }
    if (auto idx = map_.by_id(ref->shard_id)) {
      std::erase_if(map_.at(*idx).held, [sub_id](const HeldOp& h) { return h.sub_id == sub_id; });
    }
    complete_part(sub_id,
                  Reply::Error(0,
                               fmt::format("ERR timeout: shard {} stayed busy (a delete or a "
                                           "structural change) for too long",
                                           ref->shard_id),
                               ErrorCode::kTimeout));
  }
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
  fail_worker(id, "worker " + id + " died", true);
}

void Broker::fail_worker(const std::string& id, const std::string& why, bool notify) {
  if (auto it = outgoing_.find(id); it != outgoing_.end()) it->second.batch.clear();
  std::vector<uint64_t> lost;  // replicated writes are the members' business (member_failed)
  parts_.for_each([&](uint64_t sub_id, const PartRef& ref) {
    if (ref.worker == id && !ref.replicated) lost.push_back(sub_id);
  });
  for (uint64_t sub_id : lost) {
    const PartRef* ref = parts_.find(sub_id);
    if (ref == nullptr) continue;
    auto idx = map_.by_id(ref->shard_id);
    std::string msg = idx && !registry_.alive(id)
                          ? unavailable(map_.at(*idx))
                          : "ERR " + why + " (the op may have been applied)";
    complete_part(sub_id, Reply::Error(0, msg, ErrorCode::kUnavailable));
  }
  for (auto it = internal_.begin(); it != internal_.end();) {
    if (it->second.worker == id) {
      it = internal_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<uint32_t> merging;  // merges it takes part in: their end decides (broker/merge.cpp)
  for (const auto& shard : map_.entries()) {
    if (shard.busy == ShardBusy::kMerging && shard.move.merge_right && shard.has_member(id))
      merging.push_back(shard.info.id);
  }
  for (uint32_t m : merging) {
    if (auto i = map_.by_id(m); i && map_.at(*i).busy == ShardBusy::kMerging)
      merge_member_gone(map_.at(*i), id);
  }
  for (auto& shard : map_.entries()) {
    if (shard.busy == ShardBusy::kMerging) continue;  // it goes on without this worker
    const bool source = shard.owner == id;
    const bool target = shard.busy == ShardBusy::kMoving && shard.move.to == id;
    // Once the source was asked to hand off, the target is not needed to finish: the move goes on.
    const bool needed = source || (target && !shard.move.handing_off);
    // A replicated split goes on without it (member_failed below): the others may have cut it.
    const bool changing = (shard.busy == ShardBusy::kSplitting && !shard.replicated()) ||
                          shard.busy == ShardBusy::kMoving;
    if (changing && needed) abort_change(shard, why, notify);
    if (shard.replicated() && shard.has_member(id)) {
      member_failed(shard, id, why);
      continue;
    }
    if (source) {
      shard.barrier = false;
      release_held(shard);  // to the restarted owner, or failed if it is dead
    }
  }
}

}  // namespace clossyne::broker
