#include "shard_table.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "common/hash.hpp"
#include "common/key_range.hpp"
#include "common/keyed_ops.hpp"
#include "common/protocol.hpp"

namespace clossyne {
namespace {

std::string describe_bounds(const ShardInfo& s) {
  return describe_range(s.lo, s.hi);
}

bool differs(const ShardInfo& a, const ShardInfo& b) {
  return a.lo != b.lo || a.hi != b.hi || a.epoch != b.epoch || a.seed != b.seed ||
         a.importing != b.importing || a.replicas != b.replicas;
}

// " replicas [w1, w2]" for logs; empty when not replicated.
std::string describe_replicas(const ShardInfo& s) {
  if (s.replicas.empty()) return {};
  std::string out = " replicas [";
  for (std::size_t i = 0; i < s.replicas.size(); ++i) {
    if (i > 0) out += ", ";
    out += s.replicas[i];
  }
  return out + "]";
}

// A shard listed as importing must be an exact copy of the source, so anything held under its
// id that is not the same import (an ordinary copy, or an import at another epoch) is dropped
// and the import starts from empty.
bool restarts_import(const ShardInfo& held, const ShardInfo& wanted) {
  return wanted.importing && (!held.importing || held.epoch != wanted.epoch);
}

// Sub-ops that change what the storage must persist: refused up front once it has fail-stopped.
bool is_write_op(std::string_view op) {
  return changes_data(op);
}

// The storage of tables without one: stateless, so one instance serves them all.
MemoryStorage& memory_storage() {
  static MemoryStorage storage;
  return storage;
}

}  // namespace

ShardTable::ShardTable(std::string worker_id, Storage* storage)
    : worker_id_(std::move(worker_id)),
      storage_(storage ? storage : &memory_storage()),
      undo_(std::make_unique<UndoLog>()) {}

// Held shards the assignment drops that exactly tile the new shard `s` ([s.lo, s.hi), in key
// order, one seed, epochs above s's): the pieces of a split of `s` made and persisted here that
// the broker never learned of (this worker died, or the reply was lost, before it got there).
// Their keys are `s`'s keys, so they are joined back into it rather than dropped. Empty: none.
std::vector<uint32_t> ShardTable::unseen_split(const ShardInfo& s, const std::set<uint32_t>& listed,
                                               const std::set<uint32_t>& taken) const {
  if (s.importing) return {};
  std::vector<const ShardInfo*> inside;
  for (const auto& [id, shard] : shards_) {
    const ShardInfo& i = shard.info();
    if (listed.count(id) || taken.count(id) || i.importing || i.epoch <= s.epoch) continue;
    if (compare_keys(i.lo, s.lo) < 0 || (s.hi && (!i.hi || compare_keys(*i.hi, *s.hi) > 0)))
      continue;
    inside.push_back(&i);
  }
  std::sort(inside.begin(), inside.end(),
            [](const ShardInfo* a, const ShardInfo* b) { return compare_keys(a->lo, b->lo) < 0; });
  if (inside.size() < 2 || inside.front()->lo != s.lo || inside.back()->hi != s.hi) return {};
  std::vector<uint32_t> out;
  for (std::size_t i = 0; i < inside.size(); ++i) {
    if (inside[i]->seed != inside[0]->seed) return {};
    if (i > 0 && inside[i - 1]->hi != inside[i]->lo) return {};
    out.push_back(inside[i]->id);
  }
  return out;
}

// A shard the assignment would create empty (not held, not importing, not the join of an unseen
// split) over a range where this worker holds a shard the assignment neither lists nor drops (at
// any epoch: an abandoned merge's join may be below or above the pair's later epochs): its keys
// would be hidden by an empty shard, so the assignment is refused, and the broker learns what is
// held when this worker registers. Cutting the held shard back instead is not safe: it may have
// taken writes as one shard, and its pieces would claim epochs they never had.
Status ShardTable::refuse_empty_over_newer(const std::vector<ShardInfo>& shards,
                                           const std::vector<ShardInfo>& drops,
                                           const std::set<uint32_t>& listed) const {
  std::set<uint32_t> dropped;
  for (const ShardInfo& d : drops) dropped.insert(d.id);
  for (const ShardInfo& s : shards) {
    if (s.importing || shards_.count(s.id) || !unseen_split(s, listed, {}).empty()) continue;
    for (const auto& [id, shard] : shards_) {
      const ShardInfo& h = shard.info();
      if (listed.count(id) || dropped.count(id) || h.importing) continue;
      const bool meets =
          (!s.hi || compare_keys(h.lo, *s.hi) < 0) && (!h.hi || compare_keys(s.lo, *h.hi) < 0);
      if (!meets) continue;
      return Status::Error(fmt::format(
          "refusing to create shard {} epoch {} {} empty: this worker holds shard {} epoch {} {} "
          "over it",
          s.id, s.epoch, describe_range(s.lo, s.hi), id, h.epoch, describe_range(h.lo, h.hi)));
    }
  }
  return Status::Ok();
}

// Records the drop of every held shard `drops` names at exactly its held epoch (and not listed).
bool ShardTable::drop_listed(const std::vector<ShardInfo>& drops, const std::set<uint32_t>& listed,
                             std::set<uint32_t>& dropped) {
  for (const ShardInfo& d : drops) {
    auto it = shards_.find(d.id);
    if (it == shards_.end() || listed.count(d.id) || it->second.info().epoch != d.epoch) continue;
    storage_->record_drop(d.id);
    dropped.insert(d.id);
  }
  return !dropped.empty();
}

Status ShardTable::assign(const std::vector<ShardInfo>& shards, const std::vector<ShardInfo>& drops,
                          const std::string& cluster) {
  if (!cluster.empty() && cluster != state_.cluster) {
    ClusterState next = state_;
    next.cluster = cluster;
    if (Status st = storage_->save_cluster_state(next); !st.ok()) return st;
    spdlog::info("joined cluster {}", cluster);
    state_ = std::move(next);
  }
  // Log first: the records say what the shards will be, then the change is made.
  std::set<uint32_t> listed;
  for (const ShardInfo& s : shards) listed.insert(s.id);
  if (Status st = refuse_empty_over_newer(shards, drops, listed); !st.ok()) return st;
  std::set<uint32_t> reset;  // held, but listed as importing anew: start again from empty
  std::map<uint32_t, std::vector<uint32_t>> joins;  // new shard -> the pieces it is made of
  std::set<uint32_t> joined;                        // those pieces
  bool changed = false;
  for (const ShardInfo& s : shards) {
    auto it = shards_.find(s.id);
    if (it != shards_.end() && restarts_import(it->second.info(), s)) {
      storage_->record_drop(s.id);
      reset.insert(s.id);
      it = shards_.end();
    }
    if (it == shards_.end() && !reset.count(s.id)) {
      if (std::vector<uint32_t> pieces = unseen_split(s, listed, joined); !pieces.empty()) {
        ShardInfo whole = s;
        whole.seed = shards_.at(pieces[0]).info().seed;  // the seed the trees are built on
        storage_->record_join(whole, pieces);
        // A join record names id and epoch only; replay takes the rest from the first piece.
        if (whole.replicas != shards_.at(pieces[0]).info().replicas) {
          whole.keys = 0;
          whole.bytes = 0;
          storage_->record_shard(whole);
        }
        joined.insert(pieces.begin(), pieces.end());
        joins.emplace(s.id, std::move(pieces));
        changed = true;
        continue;
      }
    }
    if (it == shards_.end()) {
      ShardInfo info = s;
      info.keys = 0;
      info.bytes = 0;
      storage_->record_shard(info);
      changed = true;
    } else if (const ShardInfo next = it->second.effective(s); differs(it->second.info(), next)) {
      storage_->record_shard(next);
      changed = true;
    }
  }
  std::set<uint32_t> dropped;  // named by `drops`: another worker owns them at a higher epoch
  if (drop_listed(drops, listed, dropped)) changed = true;
  if (changed && storage_->persistent()) {
    if (Status st = storage_->commit(true); !st.ok()) return st;
  }

  for (const auto& [id, pieces] : joins) {
    ShardInfo info = *std::find_if(shards.begin(), shards.end(),
                                   [id = id](const ShardInfo& s) { return s.id == id; });
    info.keys = 0;
    info.bytes = 0;
    info.seed = shards_.at(pieces[0]).info().seed;
    const std::size_t n = pieces.size();
    const uint64_t keys = join_pieces(info, pieces);
    spdlog::warn(
        "shard {} assigned at epoch {} while held as {} pieces of a split the broker did not "
        "learn of: joined them back ({} keys){}",
        id, info.epoch, n, keys, storage_->persistent() ? "; the join is persisted" : "");
  }

  for (uint32_t id : reset) {
    spdlog::info("shard {} dropped ({} keys): a new import of it starts", id,
                 shards_.at(id).tree().size());
    shards_.erase(id);
  }
  for (const ShardInfo& s : shards) {
    auto it = shards_.find(s.id);
    if (it == shards_.end()) {
      spdlog::info("shard {} assigned: {} epoch {}{}{}", s.id, describe_bounds(s), s.epoch,
                   describe_replicas(s), s.importing ? " (importing)" : "");
      ShardInfo info = s;
      info.keys = 0;
      info.bytes = 0;
      it = shards_.emplace(s.id, Shard(info)).first;
      it->second.attach(storage_, undo_.get());
    } else if (differs(it->second.info(), it->second.effective(s))) {
      const ShardInfo& was = it->second.info();
      if (was.importing && !s.importing) {
        spdlog::info("shard {} imported ({} keys): now its own at epoch {}", s.id,
                     it->second.count(), s.epoch);
      } else {
        spdlog::info("shard {} updated: {} epoch {}{} -> {} epoch {}{}", s.id, describe_bounds(was),
                     was.epoch, describe_replicas(was), describe_bounds(s), s.epoch,
                     describe_replicas(s));
      }
      it->second.reassign(s);
    }
  }
  for (uint32_t id : dropped) {
    auto it = shards_.find(id);
    spdlog::info("shard {} epoch {} dropped ({} keys): the broker says it is superseded{}{}", id,
                 it->second.info().epoch, it->second.tree().size(),
                 it->second.info().importing ? " (an unfinished import)" : "",
                 storage_->persistent() ? "; the drop is persisted" : "");
    shards_.erase(it);
  }
  for (const auto& [id, shard] : shards_) {
    if (!listed.count(id)) {
      spdlog::info("shard {} epoch {} ({} keys) is not in the assignment: kept until a handoff", id,
                   shard.info().epoch, shard.tree().size());
    }
  }
  return Status::Ok();
}

// Replaces `pieces` (held, in key order) by one shard `info` holding all their keys. Returns the
// number of keys.
uint64_t ShardTable::join_pieces(const ShardInfo& info, const std::vector<uint32_t>& pieces) {
  auto take = [this](uint32_t id) {
    auto it = shards_.find(id);
    Shard piece = std::move(it->second);
    shards_.erase(it);
    return piece;
  };
  Shard whole = take(pieces[0]);
  for (std::size_t i = 1; i < pieces.size(); ++i) {
    Shard next = take(pieces[i]);
    ShardInfo span = info;
    span.hi = next.info().hi;
    whole = Shard::join(std::move(whole), std::move(next), span);
  }
  whole.reassign(info);
  whole.attach(storage_, undo_.get());
  const uint64_t keys = whole.count();
  shards_.insert_or_assign(info.id, std::move(whole));
  return keys;
}

Status ShardTable::commit(bool force_sync) {
  Status st = storage_->commit(force_sync || sync_wanted_);
  sync_wanted_ = false;
  if (st.ok()) {
    undo_->clear();
    seq_undo_.clear();
  } else {
    rollback();
  }
  return st;
}

// The sequence numbers the turn accepted are taken back with its writes: the broker sees those
// writes fail here (the loop answers them with the commit's error) while other members may have
// applied them, so this member must refuse the next write as a gap rather than accept it past a
// hole. (After a failed fsync the storage fail-stops and refuses every write anyway; after a
// failed write, ENOSPC, it does not, and this is what keeps the member from diverging.) A shard
// split in the turn comes back whole with the seq it had before (run_split remembers it).
void ShardTable::rollback() {
  undo_->unwind([this](const UndoLog::Entry& e) {
    if (e.kind == UndoLog::Kind::kMerge) return undo_merge(e);
    auto it = shards_.find(e.shard);
    if (it == shards_.end()) return;
    if (e.kind == UndoLog::Kind::kSplit) {
      auto right = shards_.find(e.right);
      if (right == shards_.end()) return;
      Shard whole = Shard::join(std::move(it->second), std::move(right->second), e.whole);
      shards_.erase(it);
      shards_.erase(right);
      shards_.emplace(e.whole.id, std::move(whole));
      spdlog::warn("shard {}: split undone (it could not be persisted)", e.whole.id);
      return;
    }
    it->second.restore(e.key, e.before ? &*e.before : nullptr);
    it->second.restore_expiry(e.key, e.expiry_before);
  });
  for (const auto& [id, seq] : seq_undo_) {
    if (auto it = shards_.find(id); it != shards_.end()) it->second.set_last_seq(seq);
  }
  seq_undo_.clear();
}

void ShardTable::restore(std::map<uint32_t, Shard> shards) {
  shards_ = std::move(shards);
  undo_->clear();
  for (auto& [id, shard] : shards_) shard.attach(storage_, undo_.get());
}

std::vector<ShardInfo> ShardTable::describe_all() const {
  std::vector<ShardInfo> out;
  out.reserve(shards_.size());
  for (const auto& [id, shard] : shards_) out.push_back(shard.describe());
  return out;
}

Status ShardTable::load_cluster_state() {
  if (Status st = storage_->load_cluster_state(state_); !st.ok()) return st;
  std::set<uint32_t> gone;
  for (const auto& [id, shard] : shards_) {
    const ShardInfo* h = state_.handoff(id);
    if (h && shard.info().epoch < h->epoch) gone.insert(id);
  }
  if (gone.empty()) return Status::Ok();
  for (uint32_t id : gone) storage_->record_drop(id);
  if (Status st = storage_->commit(true); !st.ok()) return st;
  for (uint32_t id : gone) {
    spdlog::info("shard {} was handed off to {} (epoch {}) before the restart: dropped", id,
                 state_.handoff(id)->owner, state_.handoff(id)->epoch);
    shards_.erase(id);
  }
  return Status::Ok();
}

std::vector<ShardInfo> ShardTable::describe() const {
  std::vector<ShardInfo> out;
  out.reserve(shards_.size());
  for (const auto& [id, shard] : shards_) {
    if (!shard.info().importing) out.push_back(shard.describe());
  }
  return out;
}

Reply ShardTable::not_held(const Op& sub, const char* why) const {
  std::string msg = "ERR shard ";
  msg += std::to_string(*sub.shard);
  msg += " is not held by worker ";
  msg += worker_id_;
  msg += why;
  return Reply::Error(sub.id, std::move(msg), ErrorCode::kNotHeld);
}

Reply ShardTable::stale_epoch(const Op& sub, uint64_t held) {
  return Reply::Error(sub.id,
                      "ERR stale epoch for shard " + std::to_string(*sub.shard) + " (have " +
                          std::to_string(held) + ")",
                      ErrorCode::kStaleEpoch);
}

// A replicated write must come next in its shard's sequence (see the header); an accepted one
// advances it, remembered for rollback().
std::optional<Reply> ShardTable::accept_seq(const Op& sub, Shard& shard) {
  const uint64_t expected = shard.last_seq() + 1;
  if (*sub.seq != expected)
    return Reply::Error(sub.id,
                        "ERR replication gap on shard " + std::to_string(shard.info().id) +
                            ": expected seq " + std::to_string(expected) + ", got " +
                            std::to_string(*sub.seq) + " (a write was missed)",
                        ErrorCode::kReplicaGap);
  seq_undo_.try_emplace(shard.info().id, shard.last_seq());
  shard.set_last_seq(*sub.seq);
  return std::nullopt;
}

Reply ShardTable::execute(const Op& sub) {
  if (!sub.shard) {
    if (!Shard::knows(sub.op) && sub.op != proto::op::kSplit && sub.op != proto::op::kMerge &&
        sub.op != proto::op::kImport && sub.op != proto::op::kSync && sub.op != proto::op::kHandoff)
      return Reply::Error(sub.id, "ERR unknown op '" + sub.op + "'");
    return Reply::Error(sub.id, "ERR missing field 'shard'");
  }
  if (sub.op == proto::op::kHandoff) return run_handoff(sub);
  if (sub.op == proto::op::kMerge) return run_merge(sub);
  auto it = shards_.find(*sub.shard);
  if (it == shards_.end()) return not_held(sub);
  Shard& shard = it->second;
  if (sub.epoch != shard.info().epoch) {
    return stale_epoch(sub, shard.info().epoch);
  }
  spdlog::debug("shard {}: {} id {}", *sub.shard, sub.op, sub.id);
  if (const std::string& refusal = storage_->write_refusal();
      !refusal.empty() && is_write_op(sub.op))
    return Reply::Error(sub.id, refusal, ErrorCode::kRefused);  // nothing applied: no read sees it
  if (sub.seq && is_write_op(sub.op)) {
    if (std::optional<Reply> gap = accept_seq(sub, shard)) return std::move(*gap);
  }
  if (sub.op == proto::op::kImport) return run_import(sub, shard);
  if (sub.op == proto::op::kSync) {
    sync_wanted_ = true;  // the loop answers after the turn's commit, fsynced
    return Reply::Ok(sub.id);
  }
  // An importing shard is not this worker's yet: it serves nothing until the move completes.
  if (shard.info().importing) return not_held(sub, " (it is being imported)");
  if (sub.op == proto::op::kSplit) return run_split(sub, shard);
  return shard.apply(sub, worker_id_);
}

// The last step of a move: the new owner (sub.worker) holds a synced copy at sub.epoch + 1. The
// tombstone is saved durably first, then the shard's data is dropped: from then on a restarted
// broker adopts the new owner's copy, and recovery drops this one should the drop record be lost.
// Answered ok again when the same handoff was already made (the broker may ask twice).
Reply ShardTable::run_handoff(const Op& sub) {
  const uint64_t next = sub.epoch + 1;
  if (const ShardInfo* h = state_.handoff(*sub.shard);
      h && h->epoch == next && h->owner == sub.worker && !shards_.count(*sub.shard))
    return Reply::Ok(sub.id);
  auto it = shards_.find(*sub.shard);
  if (it == shards_.end()) return not_held(sub);
  const ShardInfo& info = it->second.info();
  if (info.epoch != sub.epoch) return stale_epoch(sub, info.epoch);
  if (info.importing || sub.worker.empty() || sub.worker == worker_id_)
    return Reply::Error(sub.id, "ERR handoff of shard " + std::to_string(*sub.shard) +
                                    " needs an owned shard and another worker");
  ClusterState next_state = state_;
  next_state.add_handoff(*sub.shard, next, sub.worker);
  if (Status st = storage_->save_cluster_state(next_state); !st.ok())
    return Reply::Error(sub.id, "ERR cannot record the handoff: " + st.message(),
                        ErrorCode::kRefused);
  state_ = std::move(next_state);
  spdlog::info("shard {} ({} keys) handed off to {} at epoch {}: dropped", *sub.shard,
               it->second.tree().size(), sub.worker, next);
  storage_->record_drop(*sub.shard);
  shards_.erase(it);
  sync_wanted_ = true;
  return Reply::Ok(sub.id);
}

std::size_t ShardTable::expire_due(int64_t now, std::size_t limit) {
  if (!storage_->write_refusal().empty() || shards_.empty()) return 0;
  std::size_t done = 0;
  auto it = shards_.upper_bound(expiry_cursor_);
  for (std::size_t visited = 0; visited < shards_.size() && done < limit; ++visited, ++it) {
    if (it == shards_.end()) it = shards_.begin();
    expiry_cursor_ = it->first;
    if (!it->second.info().importing) done += it->second.expire_due(now, limit - done);
  }
  return done;
}

Reply ShardTable::run_import(const Op& sub, Shard& shard) {
  if (!shard.info().importing)
    return Reply::Error(sub.id, "ERR shard " + std::to_string(shard.info().id) +
                                    " is not being imported by worker " + worker_id_);
  return shard.import(sub);
}

// Both pieces get fresh ids and a higher epoch from the broker's templates; the split is recorded
// (and the commit fsynced, as any change of shard metadata) before the reply goes out.
Reply ShardTable::run_split(const Op& sub, Shard& shard) {
  const ShardInfo whole = shard.info();
  const std::string name = std::to_string(whole.id);
  if (sub.shards.size() != 2) return Reply::Error(sub.id, "ERR split needs two shard templates");
  const ShardInfo& a = sub.shards[0];
  const ShardInfo& b = sub.shards[1];
  if (a.id == b.id || a.id == whole.id || b.id == whole.id || shards_.count(a.id) ||
      shards_.count(b.id))
    return Reply::Error(sub.id, "ERR cannot split shard " + name + ": new shard ids " +
                                    std::to_string(a.id) + " and " + std::to_string(b.id) +
                                    " must be distinct and unused");
  if (a.epoch <= whole.epoch || b.epoch <= whole.epoch)
    return Reply::Error(sub.id, "ERR cannot split shard " + name +
                                    ": the new epochs must be above " +
                                    std::to_string(whole.epoch));
  std::string key;
  if (sub.key) {
    if (compare_keys(*sub.key, whole.lo) <= 0 ||
        (whole.hi && compare_keys(*sub.key, *whole.hi) >= 0))
      return Reply::Error(sub.id, "ERR split key outside shard " + name +
                                      " (it must be above the low bound and below the high one)");
    key = *sub.key;
  } else if (std::optional<std::string> median = shard.median()) {
    key = std::move(*median);
  } else {
    return Reply::Error(sub.id, "ERR cannot split shard " + name + ": fewer than 2 keys");
  }

  ShardInfo left = whole;
  left.id = a.id;
  left.epoch = a.epoch;
  ShardInfo right = whole;
  right.id = b.id;
  right.epoch = b.epoch;
  storage_->record_split(whole.id, key, left, right);
  if (storage_->persistent()) {
    undo_->remember_split(left.id, right.id, whole);
    seq_undo_.try_emplace(whole.id, shard.last_seq());  // the undo's join starts it from 0
    sync_wanted_ = true;
  }
  auto pieces = shard.cut(key, left.id, left.epoch, right.id, right.epoch);
  shards_.erase(whole.id);  // `shard` is gone from here on
  Reply reply;
  reply.id = sub.id;
  reply.shards = {pieces.first.describe(), pieces.second.describe()};
  spdlog::info("shard {} split at '{}': shard {} {} ({} keys), shard {} {} ({} keys), epoch {}",
               whole.id, escape_key(key), left.id, describe_bounds(reply.shards[0]),
               reply.shards[0].keys, right.id, describe_bounds(reply.shards[1]),
               reply.shards[1].keys, left.epoch);
  shards_.emplace(left.id, std::move(pieces.first));
  shards_.emplace(right.id, std::move(pieces.second));
  return reply;
}

Reply ShardTable::execute_batch(const Op& batch) {
  Reply reply;
  reply.id = batch.id;
  reply.is_batch = true;
  reply.replies.reserve(batch.batch.size());
  prefetch(batch.batch);
  for (const Op& sub : batch.batch) reply.replies.push_back(execute(sub));
  return reply;
}

// A batch's point lookups are independent: their cache misses (index slot, node, key block, a few
// hundred ns each on a large shard) are started together, one sweep per step, before the ops run
// one by one over warm lines.
void ShardTable::prefetch(const std::vector<Op>& ops) const {
  std::vector<std::pair<const Treap*, uint64_t>> lookups;
  lookups.reserve(ops.size());
  for (const Op& sub : ops) {
    if (!sub.key || !sub.shard) continue;
    auto it = shards_.find(*sub.shard);
    if (it == shards_.end()) continue;
    const Treap& tree = it->second.tree();
    lookups.emplace_back(&tree, key_hash(*sub.key, tree.seed()));
  }
  for (int step = 0; step < 3; ++step) {
    for (const auto& [tree, hash] : lookups) tree->prefetch(hash, step);
  }
}

const Shard* ShardTable::find(uint32_t id) const {
  auto it = shards_.find(id);
  return it == shards_.end() ? nullptr : &it->second;
}

}  // namespace clossyne
