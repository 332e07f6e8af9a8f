// ShardTable::run_merge: two adjacent shards held here become one (the inverse of a split).
//   merge {shard: A, epoch: eA, shards: [B at eB, C]}: A = [lo, m) and B = [m, hi), same seed and
//   same members, are joined at m into the new shard C = [lo, hi) (C's id, an epoch above both).
// The join is recorded (a join record, as recovery replays it) and the turn's commit fsynced
// before the reply goes out; a failed commit cuts C back into A and B (undo_merge). Asked again
// after it was made (the broker retries when a reply is lost), it answers C as it is.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/key_range.hpp"
#include "common/protocol.hpp"
#include "shard_table.hpp"

namespace clossyne {
namespace {

// The members, in any order (the primaries may differ; the merged shard takes the left's order).
bool same_set(std::vector<std::string> a, std::vector<std::string> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

Reply merge_error(uint64_t id, const std::string& why) {
  return Reply::Error(id, "ERR cannot merge: " + why);
}

}  // namespace

// Why A and B cannot be joined into C as asked; empty when they can.
std::string ShardTable::merge_refusal(const Op& sub, const ShardInfo& b, const ShardInfo& c) const {
  auto a_it = shards_.find(*sub.shard);
  auto b_it = shards_.find(b.id);
  if (a_it == shards_.end() || b_it == shards_.end()) return "both shards must be held here";
  const ShardInfo& ai = a_it->second.info();
  const ShardInfo& bi = b_it->second.info();
  if (ai.epoch != sub.epoch || bi.epoch != b.epoch) return "stale epoch";
  if (ai.importing || bi.importing) return "a shard is being imported";
  if (!ai.hi || *ai.hi != bi.lo) return "the shards are not adjacent (left first)";
  if (ai.seed != bi.seed || !same_set(ai.replicas, bi.replicas)) return "seeds or members differ";
  if (c.id == ai.id || c.id == bi.id || shards_.count(c.id)) return "the new id is in use";
  if (c.epoch <= ai.epoch || c.epoch <= bi.epoch) return "the new epoch must be above both";
  return {};
}

Reply ShardTable::run_merge(const Op& sub) {
  if (!sub.shard || sub.shards.size() != 2)
    return merge_error(sub.id, "needs 'shard' and two templates (the right shard, the new one)");
  const ShardInfo& b = sub.shards[0];
  const ShardInfo& c = sub.shards[1];
  Reply reply;
  reply.id = sub.id;
  if (auto it = shards_.find(c.id);
      it != shards_.end() && it->second.info().epoch == c.epoch && !shards_.count(*sub.shard)) {
    reply.shards = {it->second.describe()};  // made already: the broker asks again
    return reply;
  }
  if (const std::string& refusal = storage_->write_refusal(); !refusal.empty())
    return Reply::Error(sub.id, refusal, ErrorCode::kRefused);
  if (std::string why = merge_refusal(sub, b, c); !why.empty()) {
    const bool held = shards_.count(*sub.shard) && shards_.count(b.id);
    return Reply::Error(sub.id, "ERR cannot merge: " + why,
                        held ? ErrorCode::kOther : ErrorCode::kNotHeld);
  }
  const ShardInfo left = shards_.at(*sub.shard).info();
  const ShardInfo right = shards_.at(b.id).info();
  ShardInfo whole = left;
  whole.id = c.id;
  whole.epoch = c.epoch;
  whole.hi = right.hi;
  whole.keys = 0;
  whole.bytes = 0;
  storage_->record_join(whole, {left.id, right.id});
  if (storage_->persistent()) {
    undo_->remember_merge(whole.id, left, right);
    seq_undo_.try_emplace(left.id, shards_.at(left.id).last_seq());
    seq_undo_.try_emplace(right.id, shards_.at(right.id).last_seq());
    sync_wanted_ = true;
  }
  const uint64_t keys = join_pieces(whole, {left.id, right.id});
  reply.shards = {shards_.at(whole.id).describe()};
  spdlog::info("shards {} and {} merged at '{}' into shard {} {} ({} keys), epoch {}", left.id,
               right.id, escape_key(right.lo), whole.id, describe_range(whole.lo, whole.hi), keys,
               whole.epoch);
  return reply;
}

// A merge whose commit failed: the merged shard is cut back into the two it was made of.
void ShardTable::undo_merge(const UndoLog::Entry& e) {
  auto it = shards_.find(e.shard);
  if (it == shards_.end()) return;
  auto pieces = it->second.cut(e.right_info.lo, e.left_info.id, e.left_info.epoch, e.right_info.id,
                               e.right_info.epoch);
  shards_.erase(it);
  pieces.first.reassign(e.left_info);
  pieces.second.reassign(e.right_info);
  shards_.emplace(e.left_info.id, std::move(pieces.first));
  shards_.emplace(e.right_info.id, std::move(pieces.second));
  spdlog::warn("shard {}: merge undone (it could not be persisted)", e.shard);
}

}  // namespace clossyne
