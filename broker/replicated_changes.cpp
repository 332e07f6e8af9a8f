// Splits and moves of replicated shards (broker/replication.cpp has the protocol they keep).
// - A split goes to every member at once, under the shard's barrier, with the same piece ids and
//   epochs: members hold the same keys (ops wait), so each cuts at the same median key. The pieces
//   keep the members whose cut matches; they record the configuration with the split itself. A
//   member that failed it leaves: the pieces are then reconfigured without it before anything
//   waiting is acknowledged. The pieces' epoch is far above the shard's, so that a member that cut
//   the shard while the broker abandoned the split joins its pieces back when the shard is assigned
//   to it again, however many configurations the shard goes through meanwhile.
// - A move replaces one member: the new one joins by a chunked copy from the primary (as any new
//   member), then one configuration adds it and drops the old member; the old member's copy is
//   deleted (an epoch-checked drop) once that configuration is recorded.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker.hpp"
#include "common/clock.hpp"
#include "common/protocol.hpp"

namespace clossyne::broker {
namespace op = proto::op;
namespace {

constexpr uint64_t kSplitEpochStep = uint64_t{1} << 20;

bool cut_matches(const std::vector<ShardInfo>& r, const ShardInfo& whole) {
  return r.size() == 2 && r[0].lo == whole.lo && r[1].hi == whole.hi && r[0].hi &&
         *r[0].hi == r[1].lo;
}

}  // namespace

std::string Broker::start_replicated_split(ShardEntry& shard, std::optional<std::string> key) {
  for (const auto& m : shard.info.replicas) {
    if (!registry_.alive(m))
      return fmt::format("ERR member {} of shard {} is down: no split until it is replaced", m,
                         shard.info.id);
  }
  next_shard_id_ = std::max(next_shard_id_, map_.next_id());
  Op split;
  split.op = std::string(op::kSplit);
  split.shard = shard.info.id;
  split.epoch = shard.info.epoch;
  split.key = key;
  for (int i = 0; i < 2; ++i) {
    ShardInfo piece = shard.info;
    piece.id = next_shard_id_++;
    piece.epoch = shard.info.epoch + kSplitEpochStep;
    split.shards.push_back(piece);
  }
  shard.busy = ShardBusy::kSplitting;
  shard.move = Migration{};
  shard.move.deadline_ms = now_ms() + config_.op_timeout_ms;
  shard.move.confirming.insert(shard.info.replicas.begin(), shard.info.replicas.end());
  for (const auto& m : shard.info.replicas) {
    const uint64_t id = send_internal(m, InternalKind::kMemberSplit, shard.info.id, split);
    internal_[id].epoch = shard.info.epoch;
  }
  spdlog::info("broker: splitting shard {} ({} keys) on its members {}", shard.info.id,
               shard.info.keys, fmt::join(shard.info.replicas, ","));
  return fmt::format("splitting shard {} into shards {} and {}", shard.info.id, split.shards[0].id,
                     split.shards[1].id);
}

void Broker::on_member_split(const InternalRef& ref, const Reply& reply) {
  auto idx = map_.by_id(ref.shard_id);
  if (!idx) return;
  ShardEntry& shard = map_.at(*idx);
  if (shard.busy != ShardBusy::kSplitting || shard.info.epoch != ref.epoch ||
      !shard.move.confirming.count(ref.worker))
    return;
  auto& m = shard.move;
  const bool fits = reply.ok && cut_matches(reply.shards, shard.info) &&
                    (m.pieces.empty() || m.pieces[1].lo == reply.shards[1].lo);
  if (fits) {
    if (m.pieces.empty()) m.pieces = reply.shards;
    m.split_ok.insert(ref.worker);
  } else {
    // It keeps the shard whole (or cut elsewhere): if others cut it, it leaves the pieces.
    spdlog::warn("broker: member {} of shard {} did not split it as the others: {}", ref.worker,
                 shard.info.id, reply.ok ? "another cut" : reply.error);
  }
  m.confirming.erase(ref.worker);
  if (m.confirming.empty()) finish_replicated_split(shard);
}

// A member died or left while the split was under way: its answer no longer counts.
void Broker::split_member_gone(ShardEntry& shard, const std::string& worker) {
  shard.unrecorded = true;
  shard.move.split_failed.insert(worker);
  shard.move.split_ok.erase(worker);
  shard.move.confirming.erase(worker);
  if (shard.move.confirming.empty()) finish_replicated_split(shard);
}

void Broker::finish_replicated_split(ShardEntry& shard) {
  std::vector<std::string> kept;  // in configuration order, primary first if it split
  for (const auto& m : shard.info.replicas) {
    if (shard.move.split_ok.count(m) && !shard.move.split_failed.count(m) && registry_.alive(m))
      kept.push_back(m);
  }
  if (kept.empty()) {
    // Nobody is known to have cut it: the shard stays whole (a member that did cut it joins the
    // pieces back when assigned the shard), and members that failed leave its configuration.
    const std::vector<std::string> members = shard.info.replicas;
    const std::set<std::string> failed = shard.move.split_failed;
    abort_change(shard, "no member split it", false);
    for (const auto& m : members) {
      if (registry_.alive(m)) send_assign(m);
    }
    for (const auto& m : failed) member_failed(shard, m, "it failed during a split");
    return;
  }
  const bool everyone = kept.size() == shard.info.replicas.size();
  const std::vector<ShardInfo> cut = shard.move.pieces;
  std::vector<uint64_t> deferred = std::exchange(shard.deferred, {});
  const KeyRange old_range = shard.range();
  const uint32_t old_id = shard.info.id;
  std::vector<ShardEntry> pieces(2);
  for (int i = 0; i < 2; ++i) {
    pieces[i].info = cut[i];
    pieces[i].info.owner.clear();
    pieces[i].info.replicas = shard.info.replicas;  // what the members recorded with the cut
    pieces[i].owner = kept.front();
    pieces[i].followers.assign(kept.begin() + 1, kept.end());
    pieces[i].confirmed_epoch = cut[i].epoch;
    pieces[i].confirmed_replicas = shard.info.replicas;
  }
  spdlog::info("broker: split shard {} at '{}' into {} ({} keys) and {} ({} keys) on {}", old_id,
               escape_key(cut[1].lo), cut[0].id, cut[0].keys, cut[1].id, cut[1].keys,
               fmt::join(kept, ","));
  const std::size_t idx = *map_.by_id(old_id);
  std::deque<HeldOp> held = map_.replace(idx, std::move(pieces));
  for (int i = 0; i < 2; ++i) {
    ShardEntry& piece = map_.at(idx + i);
    if (everyone) {
      piece.set_members(piece.owner, piece.followers);
    } else {
      reconfigure(piece, piece.owner, piece.followers, "a member failed the split");
    }
  }
  // Writes that waited for a configuration without a failed member wait on the piece of their key.
  for (uint64_t sub_id : deferred) {
    PartRef* ref = parts_.find(sub_id);
    if (ref == nullptr) continue;
    const std::size_t at = ref->op.key ? map_.find(*ref->op.key) : idx;
    ref->shard_id = map_.at(at).info.id;
    map_.at(at).deferred.push_back(sub_id);
    finish_replicated(sub_id);
  }
  reroute_held(std::move(held), old_range);
}

// clossyne-admin move (and drains) on a replicated shard: `to` replaces member `from`.
std::string Broker::start_replicated_move(ShardEntry& shard, const std::string& from,
                                          const std::string& to) {
  if (!shard.has_member(from))
    return fmt::format("ERR {} is not a member of shard {}", from, shard.info.id);
  if (shard.has_member(to)) return fmt::format("ERR shard {} is already on {}", shard.info.id, to);
  if (!registry_.alive(shard.owner)) return unavailable(shard);
  start_join(shard, to);
  shard.move.replacing = from;
  return fmt::format("moving shard {} from {} to {}", shard.info.id, from, to);
}

}  // namespace clossyne::broker
