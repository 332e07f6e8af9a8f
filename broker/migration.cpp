// Structural changes of the shard map, each under a barrier on its shard: a split (the owner cuts
// its treap at a key, O(log n)) and a move: the owner's keys are copied to the new owner in bounded
// chunks through the broker, the new owner syncs its copy, the old owner hands the shard off
// (records a tombstone durably, then deletes its copy), and only then does the map switch. Until
// the handoff, the old owner's copy is the home and the new one is deleted on abort; after it,
// the new owner's synced copy is the home (a restarted broker adopts it by the tombstone).
#include <spdlog/spdlog.h>

#include "balancer.hpp"
#include "broker.hpp"
#include "common/clock.hpp"
#include "common/protocol.hpp"

namespace clossyne::broker {
namespace op = proto::op;

void Broker::balance() {
  if (!map_.complete()) return;  // ids of an absent worker's shards are unknown: no new ones yet
  int splits = 0, moves = 0, merges = 0;
  for (const auto& s : map_.entries()) {
    splits += s.busy == ShardBusy::kSplitting;
    moves += s.busy == ShardBusy::kMoving;
    merges += s.busy == ShardBusy::kMerging && s.move.merge_right;
  }
  replicate_more();
  continue_merges();
  BalanceActions actions = plan_balance(map_, registry_, config_.balance, splits, moves, merges);
  for (uint32_t id : actions.splits) start_split(id, std::nullopt);
  for (const auto& [a, b] : actions.merges) start_merge(a, b);
  for (const auto& m : actions.moves) start_move(m.shard, m.to, m.from);
}

std::string Broker::start_split(uint32_t shard_id, std::optional<std::string> key) {
  auto idx = map_.by_id(shard_id);
  if (!idx) return fmt::format("ERR no shard {}", shard_id);
  ShardEntry& shard = map_.at(*idx);
  // Not under a transaction either: its steps were sent for this shard and epoch.
  if (shard.busy != ShardBusy::kNone || shard.locked_by != 0)
    return fmt::format("ERR shard {} is busy", shard_id);
  if (!registry_.alive(shard.owner)) return unavailable(shard);
  if (!map_.complete()) return "ERR some ranges have no registered owner: no splits until they do";
  if (key && (!shard.range().contains(*key) || *key == shard.info.lo))
    return fmt::format("ERR split key must lie inside shard {} and above its low bound", shard_id);
  if (shard.replicated()) return start_replicated_split(shard, std::move(key));
  next_shard_id_ = std::max(next_shard_id_, map_.next_id());
  Op split;
  split.op = std::string(op::kSplit);
  split.shard = shard_id;
  split.epoch = shard.info.epoch;
  split.key = key;
  for (int i = 0; i < 2; ++i) {
    ShardInfo piece = shard.info;
    piece.id = next_shard_id_++;
    piece.epoch = shard.info.epoch + 1;
    split.shards.push_back(piece);
  }
  shard.busy = ShardBusy::kSplitting;
  shard.move = Migration{};
  shard.move.deadline_ms = now_ms() + config_.op_timeout_ms;
  shard.move.expected = send_internal(shard.owner, InternalKind::kSplit, shard_id, split);
  spdlog::info("broker: splitting shard {} ({} keys) on {}", shard_id, shard.info.keys,
               shard.owner);
  return fmt::format("splitting shard {} into shards {} and {}", shard_id, split.shards[0].id,
                     split.shards[1].id);
}

std::string Broker::start_move(uint32_t shard_id, const std::string& to, const std::string& from) {
  auto idx = map_.by_id(shard_id);
  if (!idx) return fmt::format("ERR no shard {}", shard_id);
  ShardEntry& shard = map_.at(*idx);
  if (shard.busy != ShardBusy::kNone || shard.locked_by != 0)
    return fmt::format("ERR shard {} is busy", shard_id);
  if (!registry_.alive(shard.owner)) return unavailable(shard);
  if (!registry_.alive(to)) return fmt::format("ERR worker '{}' is not alive", to);
  if (to == shard.owner) return fmt::format("ERR shard {} is already on {}", shard_id, to);
  if (!map_.complete()) return "ERR some ranges have no registered owner: no moves until they do";
  if (shard.replicated())
    return start_replicated_move(shard, from.empty() ? shard.owner : from, to);
  shard.busy = ShardBusy::kMoving;
  shard.move = Migration{};
  shard.move.to = to;
  send_assign(to);  // the importing copy, at the next epoch
  request_export(shard);
  spdlog::info("broker: moving shard {} ({} keys) from {} to {}", shard_id, shard.info.keys,
               shard.owner, to);
  return fmt::format("moving shard {} from {} to {}", shard_id, shard.owner, to);
}

void Broker::request_export(ShardEntry& shard) {
  Op chunk;
  chunk.op = std::string(op::kRng);
  chunk.shard = shard.info.id;
  chunk.epoch = shard.info.epoch;
  if (shard.move.started) chunk.key = shard.move.cursor;
  chunk.limit = config_.balance.chunk_keys;
  shard.move.started = true;
  shard.move.deadline_ms = now_ms() + config_.op_timeout_ms;
  shard.move.expected = send_internal(shard.owner, InternalKind::kExport, shard.info.id, chunk);
}

void Broker::on_internal_reply(InternalRef ref, Reply reply) {
  auto idx = map_.by_id(ref.shard_id);
  if (!idx) return;
  ShardEntry& shard = map_.at(*idx);
  if (shard.busy == ShardBusy::kNone || shard.move.expected != reply.id) return;  // stale
  if (!reply.ok) {
    shard.move.handing_off = false;  // a refused handoff was not made: the source keeps the shard
    abort_change(shard, reply.error);
    return;
  }
  switch (ref.kind) {
    case InternalKind::kSplit:
      on_split_done(ref.shard_id, reply);
      break;
    case InternalKind::kExport:
      on_export_chunk(ref.shard_id, std::move(reply));
      break;
    case InternalKind::kImport:
      on_import_done(ref.shard_id, reply);
      break;
    case InternalKind::kSync:
      if (shard.move.join) {
        finish_join(ref.shard_id);
      } else {
        request_handoff(shard);
      }
      break;
    case InternalKind::kConfirm:  // answered by on_confirm and on_member_split
    case InternalKind::kMemberSplit:
    case InternalKind::kMerge:  // answered by on_merge_reply
      break;
    case InternalKind::kHandoff:
      finish_move(ref.shard_id);
      break;
  }
}

void Broker::on_split_done(uint32_t shard_id, const Reply& reply) {
  std::size_t idx = *map_.by_id(shard_id);
  ShardEntry& shard = map_.at(idx);
  const auto& r = reply.shards;
  if (r.size() != 2 || r[0].lo != shard.info.lo || r[1].hi != shard.info.hi || !r[0].hi ||
      *r[0].hi != r[1].lo) {
    abort_change(shard, "the worker's split does not match the shard's bounds");
    return;
  }
  KeyRange old_range = shard.range();
  std::string owner = shard.owner;
  std::vector<ShardEntry> pieces(2);
  for (int i = 0; i < 2; ++i) {
    pieces[i].info = r[i];
    pieces[i].info.owner.clear();
    pieces[i].owner = owner;
  }
  spdlog::info("broker: split shard {} at '{}' into {} ({} keys) and {} ({} keys)", shard_id,
               escape_key(r[1].lo), r[0].id, r[0].keys, r[1].id, r[1].keys);
  reroute_held(map_.replace(idx, std::move(pieces)), old_range);
}

void Broker::on_export_chunk(uint32_t shard_id, Reply reply) {
  ShardEntry& shard = map_.at(*map_.by_id(shard_id));
  std::vector<KV> items = reply.items ? std::move(*reply.items) : std::vector<KV>{};
  Op next;
  next.shard = shard_id;
  next.epoch = shard.info.epoch + 1;
  InternalKind kind = InternalKind::kSync;
  next.op = std::string(op::kSync);
  if (!items.empty()) {
    shard.move.last_chunk = items.size() < config_.balance.chunk_keys;
    shard.move.cursor = items.back().first + std::string(1, '\0');  // the next key after it
    shard.move.copied += items.size();
    next.op = std::string(op::kImport);
    next.pairs = std::move(items);
    next.expires = std::move(reply.expires);  // the copied keys' TTLs
    kind = InternalKind::kImport;
  }
  shard.move.deadline_ms = now_ms() + config_.op_timeout_ms;
  shard.move.expected = send_internal(shard.move.to, kind, shard_id, std::move(next));
}

void Broker::on_import_done(uint32_t shard_id, const Reply&) {
  ShardEntry& shard = map_.at(*map_.by_id(shard_id));
  if (!shard.move.last_chunk) {
    request_export(shard);
    return;
  }
  Op sync;
  sync.op = std::string(op::kSync);
  sync.shard = shard_id;
  sync.epoch = shard.info.epoch + 1;
  shard.move.deadline_ms = now_ms() + config_.op_timeout_ms;
  shard.move.expected = send_internal(shard.move.to, InternalKind::kSync, shard_id, sync);
}

// The new owner's copy is synced: the source records the handoff and deletes its copy.
void Broker::request_handoff(ShardEntry& shard) {
  Op handoff;
  handoff.op = std::string(op::kHandoff);
  handoff.shard = shard.info.id;
  handoff.epoch = shard.info.epoch;
  handoff.worker = shard.move.to;
  shard.move.handing_off = true;
  shard.move.deadline_ms = now_ms() + config_.op_timeout_ms;
  shard.move.expected =
      send_internal(shard.owner, InternalKind::kHandoff, shard.info.id, std::move(handoff));
}

void Broker::finish_move(uint32_t shard_id) {
  ShardEntry& shard = map_.at(*map_.by_id(shard_id));
  std::string from = shard.owner;
  shard.owner = shard.move.to;
  shard.info.epoch += 1;
  shard.busy = ShardBusy::kNone;
  ShardInfo tombstone;
  tombstone.id = shard_id;
  tombstone.epoch = shard.info.epoch;
  tombstone.owner = shard.owner;
  handoffs_[shard_id] = tombstone;
  spdlog::info("broker: moved shard {} ({} keys) from {} to {}, epoch {}", shard_id,
               shard.move.copied, from, shard.owner, shard.info.epoch);
  // Now its own (if the new owner is down, it stays unavailable until it registers again).
  if (registry_.alive(shard.owner)) send_assign(shard.owner);
  release_held(shard);
}

void Broker::abort_change(ShardEntry& shard, const std::string& why, bool notify, bool release) {
  if (shard.busy == ShardBusy::kMerging) return abort_merge(shard, why, release);
  spdlog::warn("broker: {} of shard {} abandoned: {}",
               shard.busy != ShardBusy::kMoving ? "split"
               : shard.move.join                ? "copy to a new member"
                                                : "move",
               shard.info.id, why);
  const bool moving = shard.busy == ShardBusy::kMoving;
  const bool handing_off = moving && shard.move.handing_off;
  const std::string to = shard.move.to;
  internal_.erase(shard.move.expected);
  shard.busy = ShardBusy::kNone;
  shard.move = Migration{};
  ShardInfo copy = shard.info;
  copy.epoch = shard.info.epoch + 1;
  copy.importing = true;
  copy.owner.clear();
  if (handing_off) {
    // Whether the source handed off is known only when it answers or registers again: keep the
    // copy until then (its tombstone, if any, makes the copy the home).
    imports_[to].push_back(copy);
  } else if (moving) {
    drop_later(to, copy);  // the source is the home: the copy goes
    if (notify && registry_.alive(to)) send_assign(to);
  }
  // A split abandoned while its owner lives (e.g. the reply came too late) may have been made and
  // persisted there all the same: the owner's assignment, which still names this shard, makes it
  // join the pieces back (worker/shard_table.cpp); else the shard is refused as not held.
  if (!moving && notify && registry_.alive(shard.owner)) send_assign(shard.owner);
  if (release) release_held(shard);  // back to the old owner (or failed, if it is dead)
}

void Broker::check_migrations(int64_t now) {
  check_merges(now);
  for (auto& shard : map_.entries()) {
    if (shard.busy == ShardBusy::kNone || shard.busy == ShardBusy::kMerging ||
        now <= shard.move.deadline_ms)
      continue;
    if (shard.busy == ShardBusy::kReconfiguring) {
      // Members that did not record the configuration in time leave it (a new one without them).
      const std::set<std::string> silent = shard.move.confirming;
      for (const auto& w : silent) member_failed(shard, w, "it did not record a configuration");
      continue;
    }
    if (shard.busy == ShardBusy::kSplitting && shard.replicated()) {
      const std::set<std::string> silent = shard.move.confirming;  // they did not answer the split
      for (const auto& w : silent) split_member_gone(shard, w);
      continue;
    }
    internal_.erase(shard.move.expected);
    if (shard.move.handing_off && registry_.alive(shard.owner)) {
      request_handoff(shard);  // the outcome is unknown; asking again is safe (idempotent)
    } else {
      abort_change(shard, "no progress in time");
    }
  }
}

}  // namespace clossyne::broker
