// Shard: one key range [lo, hi) owned by this worker, with its epoch and treap. apply() runs one
// sub-op sent by the broker (set, get, del, exists, rng, count, where) and always answers with a
// Reply carrying the sub-op's id; bad input becomes an "ERR ..." reply, never an exception.
// A shard flagged `importing` (info().importing) is a copy being moved in: it takes import()
// only (the ShardTable sees to that). cut() and join() split a shard in two and back.
//
// Every change to the tree goes through mutate(), which reports it to the attached Storage and
// remembers how to undo it (worker/storage.hpp); restore() changes the tree without either, for
// recovery and undo. Not thread-safe: a shard belongs to one worker's event loop.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/envelope.hpp"
#include "worker/expiry_table.hpp"
#include "worker/treap.hpp"

namespace clossyne {

class Storage;
class UndoLog;

class Shard {
 public:
  explicit Shard(const ShardInfo& info);
  Shard(const ShardInfo& info, Treap&& tree);
  Shard(Shard&&) noexcept = default;
  Shard& operator=(Shard&&) noexcept = default;

  // id, bounds, epoch and seed as assigned; `keys` is not kept up to date here, see describe().
  const ShardInfo& info() const { return info_; }
  // info() with keys = count(), as the worker registers it.
  ShardInfo describe() const;
  // Takes new bounds, epoch and replicas. Keys outside the new bounds stay in the tree but are no
  // longer visible: moving them is the job of shard split/move, which knows where they go.
  void reassign(const ShardInfo& info);
  // The info reassign(wanted) would leave: the seed stays when the tree holds keys. keys = 0.
  ShardInfo effective(const ShardInfo& wanted) const;

  // Changes are reported to `storage` and remembered in `undo` when the storage is persistent.
  // Both outlive the shard (the ShardTable owns them); nullptr: changes are only made in memory.
  void attach(Storage* storage, UndoLog* undo) {
    storage_ = storage;
    undo_ = undo;
  }
  // Sets (value) or deletes (nullptr) a key without recording it, removing its TTL: replay and
  // undo.
  void restore(std::string_view key, const std::string* value);
  // Sets (at) or removes (none) a key's TTL without recording it: replay and undo.
  void restore_expiry(std::string_view key, std::optional<int64_t> at);
  const ExpiryTable& expiry() const { return expiry_; }
  // Active expiry: deletes (recorded, as any delete) up to `limit` keys whose TTL is <= now,
  // earliest first; returns how many.
  std::size_t expire_due(int64_t now, std::size_t limit);

  // Cuts this shard at `key` into [lo, key) with left_id/left_epoch and [key, hi) with
  // right_id/right_epoch, both on this shard's seed and attached to its storage; this shard is
  // left empty. The treap is cut by Treap::split: O(log n) for the cut itself (no key is copied;
  // the smaller half's nodes change arenas). Nothing is recorded: ShardTable records the split,
  // recovery replays it. REQUIRES: lo < key and (no hi or key < hi).
  std::pair<Shard, Shard> cut(std::string_view key, uint32_t left_id, uint64_t left_epoch,
                              uint32_t right_id, uint64_t right_epoch);
  // The inverse of cut(): `whole` (on the left piece's seed) holding the keys of both; O(log n)
  // when they are the two halves of a cut. Used to undo a split whose commit failed, and to fold
  // back a split the broker never learned of (ShardTable::assign).
  static Shard join(Shard&& left, Shard&& right, const ShardInfo& whole);
  // The key at rank count() / 2 among the keys in [lo, hi) (select by subtree sizes, O(log n)),
  // so both sides of a cut there hold keys; nullopt when the shard holds fewer than 2 keys.
  std::optional<std::string> median() const;
  // Writes sub.pairs (a chunk of a shard being moved here) through the recorded path; every key
  // must lie inside the shard, else nothing is written. Reply: n = pairs written.
  Reply import(const Op& sub);

  // True when `op` is a sub-op apply() can run.
  static bool knows(std::string_view op);
  bool contains(std::string_view key) const;
  // Keys inside [lo, hi).
  uint64_t count() const;
  const Treap& tree() const { return tree_; }

  // REQUIRES: sub.shard (if any) and epoch were already checked by the caller. Expiry is decided
  // at sub.now (the broker's clock), or at this worker's clock when the op has none.
  Reply apply(const Op& sub, const std::string& worker_id);

  // The last `seq` of a replicated write this shard accepted at its current epoch (0: none). In
  // memory only: it starts at 0 with the shard and whenever reassign() changes the epoch, as the
  // broker numbers each configuration's writes from 1 (ShardTable checks and advances it).
  uint64_t last_seq() const { return last_seq_; }
  void set_last_seq(uint64_t seq) { last_seq_ = seq; }

 private:
  struct Command;
  using Handler = Reply (Shard::*)(const Op& sub, const std::string& worker_id);
  static const Command* find_command(std::string_view op);

  Reply run_set(const Op& sub, const std::string& worker_id);
  Reply run_get(const Op& sub, const std::string& worker_id);
  Reply run_del(const Op& sub, const std::string& worker_id);
  Reply run_exists(const Op& sub, const std::string& worker_id);
  Reply run_rng(const Op& sub, const std::string& worker_id);
  Reply run_count(const Op& sub, const std::string& worker_id);
  Reply run_where(const Op& sub, const std::string& worker_id);
  // The string and key commands (worker/string_commands.hpp), on one key.
  Reply run_keyed(const Op& sub);
  void add_expires(Reply& reply) const;

  // True when the key has a TTL that has passed at the current op's time.
  bool expired(std::string_view key) const;
  // The key's value unless it is absent or expired.
  std::optional<std::string_view> find_live(std::string_view key) const;

  // The one door for changes: value set = write, value nullptr = delete. Returns true when the key
  // was new (write) or was there (delete). A write removes the key's TTL unless keep_ttl.
  bool mutate(std::string_view key, const std::string* value, bool keep_ttl = false);
  // The other door: sets (at) or removes (none) the TTL of a key that exists.
  void set_ttl(std::string_view key, std::optional<int64_t> at);
  friend class ShardKeyAccess;

  ShardInfo info_;
  Treap tree_;
  ExpiryTable expiry_;  // TTLs of the keys that have one (worker/expiry_table.hpp)
  int64_t now_ = 0;     // the time of the op being applied (ms since the Unix epoch)
  Storage* storage_ = nullptr;
  UndoLog* undo_ = nullptr;
  uint64_t last_seq_ = 0;
};

}  // namespace clossyne
