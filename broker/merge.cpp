// Merges: two adjacent shards A = [lo, m) and B = [m, hi) with the same owner (or the same members,
// replicated) become one new shard C = [lo, hi) at an epoch above both, the inverse of a split.
// - Both shards are held at their barriers while every member joins its two treaps at m (a
//   `merge` sub-op, worker/shard_merge.cpp) and records the join durably before it answers.
// - A member whose reply is lost is asked again (the worker answers C when it has made it); the
//   merge is abandoned only when no live member may have made it: every member refused it, or
//   the single owner died (it registers again with A and B or with C, and the newer copy wins,
//   broker/adoption.cpp). Replicated: members that failed or died leave C's configuration, as a
//   split's do. While it lasts, assignments leave A and B out, so no member is told to hold a
//   shard it has joined already.
// - Owners that differ: clossyne-admin merge first moves B (or A) to the other's owner, then
//   merges (pending_merges_); the balancer does the same in two steps (broker/balancer.cpp).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "balancer.hpp"
#include "broker.hpp"
#include "common/clock.hpp"
#include "common/protocol.hpp"

namespace clossyne::broker {
namespace op = proto::op;

// Same member set, in any order: the merged shard takes the left one's order (and primary).
bool same_members(const ShardEntry& a, const ShardEntry& b) {
  std::vector<std::string> x = a.info.replicas, y = b.info.replicas;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  return x == y && a.replicated() == b.replicated();
}

// Why A and B (A left of B) cannot be merged now; empty when they can.
std::string Broker::merge_refusal(const ShardEntry& a, const ShardEntry& b) const {
  if (a.holding() || b.holding())
    return fmt::format("ERR shard {} or {} is busy", a.info.id, b.info.id);
  if (!map_.complete()) return "ERR some ranges have no registered owner: no merges until they do";
  if (a.replicated() != b.replicated() || (a.replicated() && !same_members(a, b)))
    return fmt::format("ERR shards {} and {} have different members: no merge", a.info.id,
                       b.info.id);
  if (a.info.seed != b.info.seed)
    return fmt::format("ERR shards {} and {} have different seeds", a.info.id, b.info.id);
  for (const auto& m : a.replicated() ? a.info.replicas : std::vector<std::string>{a.owner}) {
    if (!registry_.alive(m)) return fmt::format("ERR worker '{}' is down: no merge", m);
  }
  return {};
}

std::string Broker::start_merge(uint32_t a_id, uint32_t b_id) {
  auto ia = map_.by_id(a_id), ib = map_.by_id(b_id);
  if (!ia || !ib) return fmt::format("ERR no shard {}", ia ? b_id : a_id);
  if (*ia > *ib) std::swap(ia, ib);
  if (*ib != *ia + 1) return fmt::format("ERR shards {} and {} are not adjacent", a_id, b_id);
  ShardEntry& a = map_.at(*ia);
  ShardEntry& b = map_.at(*ib);
  if (!a.replicated() && !b.replicated() && a.owner != b.owner && !a.holding() && !b.holding()) {
    // One moves to the other's owner first: the smaller one.
    const bool move_b = b.info.keys <= a.info.keys;
    ShardEntry& mover = move_b ? b : a;
    const std::string to = move_b ? a.owner : b.owner;
    std::string moving = start_move(mover.info.id, to);
    if (moving.rfind("ERR", 0) == 0) return moving;
    pending_merges_.emplace_back(a.info.id, b.info.id);
    return moving + fmt::format(", then merging shards {} and {}", a.info.id, b.info.id);
  }
  if (std::string why = merge_refusal(a, b); !why.empty()) return why;
  next_shard_id_ = std::max(next_shard_id_, map_.next_id());
  ShardInfo c = a.info;
  c.id = next_shard_id_++;
  c.epoch = std::max(a.info.epoch, b.info.epoch) + 1;
  c.hi = b.info.hi;
  c.keys = a.info.keys + b.info.keys;
  c.bytes = a.info.bytes + b.info.bytes;
  c.owner.clear();
  for (ShardEntry* e : {&a, &b}) {
    e->busy = ShardBusy::kMerging;
    e->move = Migration{};
  }
  a.move.merge_right = b.info.id;
  b.move.merge_left = a.info.id;
  a.move.merged = c;
  a.move.deadline_ms = now_ms() + config_.op_timeout_ms;
  const std::vector<std::string> members =
      a.replicated() ? a.info.replicas : std::vector<std::string>{a.owner};
  a.move.confirming.insert(members.begin(), members.end());
  for (const auto& m : members) send_merge(a, m);
  spdlog::info("broker: merging shards {} ({} keys) and {} ({} keys) into {} on {}", a.info.id,
               a.info.keys, b.info.id, b.info.keys, c.id, fmt::join(members, ","));
  return fmt::format("merging shards {} and {} into shard {}", a.info.id, b.info.id, c.id);
}

void Broker::send_merge(const ShardEntry& left, const std::string& member) {
  const ShardEntry& right = map_.at(*map_.by_id(left.move.merge_right));
  Op merge;
  merge.op = std::string(op::kMerge);
  merge.shard = left.info.id;
  merge.epoch = left.info.epoch;
  merge.shards = {right.info, left.move.merged};
  const uint64_t id = send_internal(member, InternalKind::kMerge, left.info.id, merge);
  internal_[id].epoch = left.info.epoch;
}

void Broker::on_merge_reply(const InternalRef& ref, const Reply& reply) {
  auto idx = map_.by_id(ref.shard_id);
  if (!idx) return;
  ShardEntry& left = map_.at(*idx);
  auto& m = left.move;
  if (left.busy != ShardBusy::kMerging || !m.merge_right || left.info.epoch != ref.epoch ||
      !m.confirming.count(ref.worker))
    return;
  if (reply.ok && reply.shards.size() == 1 && reply.shards[0].id == m.merged.id) {
    m.split_ok.insert(ref.worker);
    if (ref.worker == left.owner) m.merged.keys = reply.shards[0].keys;
    if (ref.worker == left.owner) m.merged.bytes = reply.shards[0].bytes;
  } else {
    spdlog::warn("broker: {} did not merge shards {} and {}: {}", ref.worker, left.info.id,
                 m.merge_right, reply.ok ? "an unexpected reply" : reply.error);
    m.split_failed.insert(ref.worker);  // it holds both shards as they were
    m.merge_refused.insert(ref.worker);
  }
  m.confirming.erase(ref.worker);
  if (m.confirming.empty()) finish_merge(left);
}

// A member died (or left) during the merge: whether it joined the shards is known only when it
// registers again. The single owner of an unreplicated pair: the merge is abandoned.
void Broker::merge_member_gone(ShardEntry& left, const std::string& worker) {
  auto& m = left.move;
  // One that refused holds the pair as it was, but leaves it too now.
  const bool refused = m.merge_refused.erase(worker) > 0;
  if (!refused && !m.confirming.count(worker) && !m.split_ok.count(worker)) return;
  if (!left.replicated()) {
    abort_merge(left, fmt::format("its owner '{}' failed", worker));
    return;
  }
  mark_merge_unrecorded(left);
  m.split_failed.insert(worker);
  m.split_ok.erase(worker);
  m.confirming.erase(worker);
  if (m.confirming.empty()) finish_merge(left);
}

void Broker::finish_merge(ShardEntry& left) {
  std::vector<std::string> kept;  // members that joined the shards, in configuration order
  const std::vector<std::string> members =
      left.replicated() ? left.info.replicas : std::vector<std::string>{left.owner};
  for (const auto& w : members) {
    if (left.move.split_ok.count(w) && !left.move.split_failed.count(w) && registry_.alive(w))
      kept.push_back(w);
  }
  if (kept.empty()) {
    abort_merge(left, "no member merged them");
    return;
  }
  const std::size_t ia = *map_.by_id(left.info.id);
  ShardEntry& right = map_.at(ia + 1);
  ShardEntry c;
  c.info = left.move.merged;
  c.owner = kept.front();
  if (left.replicated()) {
    c.followers.assign(kept.begin() + 1, kept.end());
    c.confirmed_epoch = c.info.epoch;
    c.confirmed_replicas = c.info.replicas;
  }
  std::vector<uint64_t> deferred = std::exchange(left.deferred, {});
  deferred.insert(deferred.end(), right.deferred.begin(), right.deferred.end());
  std::deque<HeldOp> held_a = std::exchange(left.held, {});
  std::deque<HeldOp> held_b = std::exchange(right.held, {});
  const KeyRange range_a = left.range(), range_b = right.range();
  spdlog::info("broker: merged shards {} and {} into shard {} ({} keys, {} bytes) on {}, epoch {}",
               left.info.id, right.info.id, c.info.id, c.info.keys, c.info.bytes,
               fmt::join(kept, ","), c.info.epoch);
  const bool everyone = kept.size() == members.size();
  map_.splice(ia, ia + 2, std::move(c));
  ShardEntry& merged = map_.at(ia);
  if (merged.replicated()) {
    if (everyone) {
      merged.set_members(merged.owner, merged.followers);
    } else {
      reconfigure(merged, merged.owner, merged.followers, "a member failed the merge");
    }
  }
  for (uint64_t sub_id : deferred) {  // writes waiting for a configuration: now on the merged one
    PartRef* ref = parts_.find(sub_id);
    if (ref == nullptr) continue;
    ref->shard_id = merged.info.id;
    merged.deferred.push_back(sub_id);
    finish_replicated(sub_id);
  }
  reroute_held(std::move(held_a), range_a);
  reroute_held(std::move(held_b), range_b);
}

// Writes on either shard wait for a recorded configuration without a failed member.
void Broker::mark_merge_unrecorded(const ShardEntry& shard) {
  const uint32_t left_id = shard.move.merge_left ? shard.move.merge_left : shard.info.id;
  auto il = map_.by_id(left_id);
  if (!il || *il + 1 >= map_.size()) return;
  map_.at(*il).unrecorded = true;
  map_.at(*il + 1).unrecorded = true;
}

// Both shards stay as they were; what waits on them goes on (to their owner, or fails if dead).
// Without `release` (a newer copy of `shard` registered and replaces it) only the other is
// released: it would otherwise stay idle with its ops held.
void Broker::abort_merge(ShardEntry& shard, const std::string& why, bool release) {
  const uint32_t left_id = shard.move.merge_left ? shard.move.merge_left : shard.info.id;
  auto il = map_.by_id(left_id);
  if (!il || *il + 1 >= map_.size()) return;
  ShardEntry& left = map_.at(*il);
  ShardEntry& right = map_.at(*il + 1);
  spdlog::warn("broker: merge of shards {} and {} abandoned: {}", left.info.id, right.info.id, why);
  const Migration merge = left.move;
  for (ShardEntry* e : {&left, &right}) {
    e->busy = ShardBusy::kNone;
    e->move = Migration{};
  }
  const uint32_t right_id = right.info.id;
  for (uint32_t id : {left_id, right_id}) {
    auto i = map_.by_id(id);
    if (!i || (!release && id == shard.info.id)) continue;
    leave_abandoned_merge(map_.at(*i), merge);
  }
}

// After an abandoned merge: every member that did not refuse it may hold the merged shard (its
// answer was lost, or it failed after joining), so it leaves the shard's configuration. Those that
// stay record it at once at an epoch above the merged shard's (a copy of that one then loses at
// any registration); with none left, the shard waits for its members to register, and live ones
// are asked to (what they hold, the merged shard or the pair, is then adopted by the usual rules).
// Writes that waited for a configuration without a failed member are settled, then it serves.
void Broker::leave_abandoned_merge(ShardEntry& e, const Migration& merge) {
  std::vector<std::string> staying, leaving;
  for (const auto& w : e.replicated() ? e.info.replicas : std::vector<std::string>{}) {
    (merge.merge_refused.count(w) && registry_.alive(w) ? staying : leaving).push_back(w);
  }
  const std::string why = "it may have merged the shards";
  if (!leaving.empty() && staying.empty()) {
    e.set_members(e.owner, {});
    member_failed(e, e.owner, why);  // the shard's writes fail; it waits for its members
    for (const auto& w : leaving) {
      if (!registry_.alive(w)) continue;
      Op again;
      again.op = std::string(op::kReregister);
      send_to_worker(w, again);
    }
  } else if (!leaving.empty()) {
    std::vector<uint64_t> writes;
    for (const auto& w : leaving) {
      writes = stop_waiting_for(e, w, why);
      e.departed[w] = now_ms();
    }
    e.info.epoch = std::max(e.info.epoch, merge.merged.epoch);
    reconfigure(e, staying.front(), {staying.begin() + 1, staying.end()},
                fmt::format("{} left: {}", fmt::join(leaving, ","), why));
    for (uint64_t sub_id : writes) finish_replicated(sub_id);
  }
  e.unrecorded = false;
  if (e.busy != ShardBusy::kReconfiguring) {
    for (uint64_t sub_id : std::exchange(e.deferred, {})) finish_replicated(sub_id);
  }
  release_held(e);
}

// Members that have not answered in time are asked again (a merge is idempotent on the worker);
// dead ones no longer count.
void Broker::check_merges(int64_t now) {
  std::vector<uint32_t> late;
  for (const auto& e : map_.entries()) {
    if (e.busy == ShardBusy::kMerging && e.move.merge_right && now > e.move.deadline_ms)
      late.push_back(e.info.id);
  }
  for (uint32_t id : late) {
    auto idx = map_.by_id(id);
    if (!idx || map_.at(*idx).busy != ShardBusy::kMerging) continue;
    ShardEntry& left = map_.at(*idx);
    left.move.deadline_ms = now + config_.op_timeout_ms;
    const std::set<std::string> waiting = left.move.confirming;
    for (const auto& w : waiting) {
      if (registry_.alive(w)) {
        send_merge(left, w);
      } else if (auto again = map_.by_id(id);
                 again && map_.at(*again).busy == ShardBusy::kMerging) {
        merge_member_gone(map_.at(*again), w);
      }
    }
  }
}

// Merges waiting for a move: started once both shards are idle on one owner; dropped when that
// can no longer happen (a shard is gone, or the move did not happen).
void Broker::continue_merges() {
  std::vector<std::pair<uint32_t, uint32_t>> keep;
  for (const auto& [a, b] : pending_merges_) {
    auto ia = map_.by_id(a), ib = map_.by_id(b);
    if (!ia || !ib) continue;
    const ShardEntry& ea = map_.at(*ia);
    const ShardEntry& eb = map_.at(*ib);
    if (ea.holding() || eb.holding()) {
      keep.emplace_back(a, b);
      continue;
    }
    if (ea.owner == eb.owner) start_merge(a, b);
  }
  pending_merges_ = std::move(keep);
}

}  // namespace clossyne::broker
