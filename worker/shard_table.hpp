// ShardTable: the shards one worker holds, by id. Applies the broker's "assign" (the full list of
// shards to own) and routes sub-ops to their shard after checking that the shard is held and the
// sub-op's epoch is the shard's current one. Every call answers; nothing throws on bad input.
//
// Structural sub-ops (docs/PROTOCOL.md, worker protocol):
//   split  {shard, epoch, key?, shards: [A, B]}: cuts the shard at `key` (or its median key) into
//          A = [lo, key) and B = [key, hi) with the templates' ids and epochs; answers both, A
//          first.
//   merge  {shard: A, epoch, shards: [B, C]}: joins adjacent A and B into the new shard C
//          (worker/shard_merge.cpp); answers C.
//   import {shard, epoch, pairs}: writes a chunk into an importing shard (a move's copy).
//   sync   {shard, epoch}: the turn's commit is fsynced (whatever --fsync) before it is answered.
// An assigned shard flagged `importing` is held (and persisted, flag included) but is neither
// reported (describe) nor served: only import and sync reach it. A later assign listing it
// without the flag makes it an ordinary shard. An assign naming a shard this worker holds only
// as the pieces of a split the broker never learned of joins the pieces back (nothing is lost).
//
// With a persistent Storage every change is recorded as it is made (data changes by the shards,
// shard changes by assign()); commit() makes the recorded changes durable or, when that fails,
// undoes them in memory, so what the table holds is always what the log holds once a turn ends.
// Replicated writes: a write sub-op carrying `seq` must be the shard's next at its epoch (the
// last accepted + 1, Shard::last_seq); any other is refused with kReplicaGap and changes nothing,
// so a member that missed a write stops taking writes instead of diverging. An accepted seq counts
// even when the write then fails with an ordinary error (every member fails it the same way). A
// sub-op without `seq` (an unreplicated shard) is not checked, nor is a read.
// Once the storage has fail-stopped (a failed fsync: Storage::write_refusal()), every write
// sub-op (set, del, import, split, sync) is answered with its refusal and changes nothing; reads
// go on.
// Not thread-safe: it belongs to the worker's event loop.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/envelope.hpp"
#include "worker/shard.hpp"
#include "worker/storage.hpp"
#include "worker/undo_log.hpp"

namespace clossyne {

class ShardTable {
 public:
  // `storage` (nullptr: in-memory) must outlive the table.
  explicit ShardTable(std::string worker_id, Storage* storage = nullptr);

  // Creates the listed shards that are missing (empty) and updates bounds and epoch of held ones.
  // A held shard is deleted only when `drops` names it at exactly the epoch held (the broker's
  // epoch-checked word that another worker owns it at a higher epoch), or when it is listed as
  // importing anew; a shard the assignment does not mention is kept. `cluster` (when not empty)
  // is saved as the cluster this worker belongs to. With a persistent storage the changes are
  // logged and synced first; when that fails nothing changes and the error is returned.
  // REQUIRES: no uncommitted changes (commit() first).
  Status assign(const std::vector<ShardInfo>& shards, const std::vector<ShardInfo>& drops = {},
                const std::string& cluster = {});
  // Every held shard that is not importing, with keys = its key count and bytes = its tree's
  // memory, in id order (the "heartbeat" payload). O(#shards x log n).
  std::vector<ShardInfo> describe() const;
  // Every held shard, importing ones flagged (the "register" payload).
  std::vector<ShardInfo> describe_all() const;

  // Loads the cluster id and handoff tombstones, then drops any recovered shard a tombstone says
  // was handed off (its drop record may not have been committed). Call after Storage::recover.
  Status load_cluster_state();
  const ClusterState& cluster_state() const { return state_; }

  // One routed sub-op (needs `shard` and `epoch`); the reply carries sub.id.
  Reply execute(const Op& sub);
  // A "batch": one Reply with is_batch and one sub-reply per sub-op, in order.
  Reply execute_batch(const Op& batch);

  // Commits the changes made since the last commit (storage->commit). On failure they are undone
  // in memory and the storage's error is returned. The commit is fsynced when `force_sync`, or
  // when a split or a sync was executed since the last commit.
  Status commit(bool force_sync = false);
  bool has_uncommitted() const {
    return !undo_->empty() || storage_->has_pending() || sync_wanted_ || !seq_undo_.empty();
  }

  // Active expiry: deletes up to `limit` keys whose TTL is <= now (recorded as deletes, committed
  // by the next commit()), starting after the shard visited last so that every shard gets a
  // turn; returns how many. Nothing once the storage refuses writes, nor in importing shards.
  std::size_t expire_due(int64_t now, std::size_t limit);

  // Replaces the held shards with recovered ones (recovery; nothing is recorded).
  void restore(std::map<uint32_t, Shard> shards);

  const Shard* find(uint32_t id) const;
  const std::map<uint32_t, Shard>& shards() const { return shards_; }
  std::size_t size() const { return shards_.size(); }

 private:
  void prefetch(const std::vector<Op>& ops) const;
  void rollback();
  Reply run_split(const Op& sub, Shard& shard);
  Reply run_merge(const Op& sub);
  std::string merge_refusal(const Op& sub, const ShardInfo& b, const ShardInfo& c) const;
  void undo_merge(const UndoLog::Entry& e);
  Reply run_import(const Op& sub, Shard& shard);
  Reply run_handoff(const Op& sub);
  bool drop_listed(const std::vector<ShardInfo>& drops, const std::set<uint32_t>& listed,
                   std::set<uint32_t>& dropped);
  Reply not_held(const Op& sub, const char* why = "") const;
  static Reply stale_epoch(const Op& sub, uint64_t held);
  std::optional<Reply> accept_seq(const Op& sub, Shard& shard);
  std::vector<uint32_t> unseen_split(const ShardInfo& s, const std::set<uint32_t>& listed,
                                     const std::set<uint32_t>& taken) const;
  Status refuse_empty_over_newer(const std::vector<ShardInfo>& shards,
                                 const std::vector<ShardInfo>& drops,
                                 const std::set<uint32_t>& listed) const;
  uint64_t join_pieces(const ShardInfo& info, const std::vector<uint32_t>& pieces);

  std::string worker_id_;
  Storage* storage_;               // never null: a shared MemoryStorage when none is given
  std::unique_ptr<UndoLog> undo_;  // on the heap: shards point at it, the table may move
  std::map<uint32_t, Shard> shards_;
  ClusterState state_;          // cluster id and handoff tombstones (worker/cluster_state.hpp)
  uint32_t expiry_cursor_ = 0;  // the shard expire_due() visited last
  bool sync_wanted_ = false;    // the next commit must fsync (a split or a sync since the last)
  // Shard id -> its last_seq before this turn's first change of it: put back by rollback().
  std::map<uint32_t, uint64_t> seq_undo_;
};

}  // namespace clossyne
