// ShardMap: the top of the tree. Ordered, non-overlapping shards covering the whole key space,
// each [lo, hi) owned by one worker, with the barrier state that serializes it around deletes.
// Single-threaded (owned by the broker loop).
#pragma once
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/envelope.hpp"
#include "common/key_range.hpp"

namespace clossyne::broker {

// A sub-op waiting at a shard's barrier, in arrival order.
struct HeldOp {
  uint64_t sub_id = 0;
  Op op;
};

// A structural change under way on a shard; while it lasts, new ops for the shard are held.
enum class ShardBusy { kNone, kSplitting, kMoving };

// A shard being copied to a new owner, chunk by chunk (broker/migration.cpp).
struct Migration {
  std::string to;
  std::string cursor;      // next key to export (keys >= cursor remain)
  bool started = false;    // first chunk requested
  bool last_chunk = false; // the chunk being imported is the last one
  uint64_t expected = 0;   // id of the internal request whose reply moves the change on
  uint64_t copied = 0;     // keys copied so far
  int64_t deadline_ms = 0; // abort when no step completes by then
};

struct ShardEntry {
  ShardInfo info;
  std::string owner;  // worker id; empty when unassigned
  // Serialization around deletes: while a delete is in flight on this shard, later ops wait here.
  bool barrier = false;
  ShardBusy busy = ShardBusy::kNone;
  Migration move;  // valid while busy == kMoving (`expected` and `deadline_ms` also for splits)
  std::deque<HeldOp> held;

  bool holding() const { return barrier || busy != ShardBusy::kNone; }

  KeyRange range() const { return KeyRange{info.lo, info.hi}; }
};

class ShardMap {
 public:
  // Builds shards [-inf,p1), [p1,p2), ... [pn,+inf) with ids 1..n+1 at epoch 1.
  void create(const std::vector<std::string>& split_points, uint64_t seed);
  // Adopts shards reported by workers (highest epoch wins per id) and fills any gap in the key
  // space with new shards. Returns the ids of the shards it had to create.
  std::vector<uint32_t> adopt(const std::vector<std::pair<std::string, ShardInfo>>& reported,
                              uint64_t seed);

  bool empty() const { return shards_.empty(); }
  std::size_t size() const { return shards_.size(); }
  ShardEntry& at(std::size_t i) { return shards_[i]; }
  const ShardEntry& at(std::size_t i) const { return shards_[i]; }
  std::vector<ShardEntry>& entries() { return shards_; }

  // Index of the shard holding `key`. REQUIRES: !empty().
  std::size_t find(std::string_view key) const;
  // Indexes of the shards meeting [first, last] (either end open when nullopt), in key order.
  std::vector<std::size_t> overlapping(const std::optional<std::string>& first,
                                       const std::optional<std::string>& last) const;
  // Index of the shard with this id, or nullopt.
  std::optional<std::size_t> by_id(uint32_t id) const;

  std::vector<ShardInfo> owned_by(const std::string& worker) const;
  // Shards the worker owns plus those it is importing (flagged), for an `assign`.
  std::vector<ShardInfo> assignment_for(const std::string& worker) const;

  // Replaces the shard at `index` by `pieces` (same key span, in key order). Returns the pieces'
  // first index. Held ops of the old entry are returned for re-routing.
  std::deque<HeldOp> replace(std::size_t index, std::vector<ShardEntry> pieces);

  uint32_t next_id() const;

 private:
  std::vector<ShardEntry> shards_;  // sorted by lo
};

}  // namespace clossyne::broker
