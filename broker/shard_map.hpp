// ShardMap: the top of the tree. Ordered, non-overlapping shards covering the whole key space,
// each [lo, hi) owned by one worker, with the barrier state that serializes it around deletes.
// Single-threaded (owned by the broker loop).
#pragma once
#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
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
// kReconfiguring: a new configuration of a replicated shard (members, primary, epoch) is being
// recorded by its members (broker/replication.cpp); it takes effect when all have confirmed.
// kMerging: two adjacent shards are being joined into one (broker/merge.cpp); both are marked.
enum class ShardBusy { kNone, kSplitting, kMoving, kReconfiguring, kMerging };

// A shard being copied to a new owner, chunk by chunk (broker/migration.cpp).
struct Migration {
  std::string to;
  std::string cursor;        // next key to export (keys >= cursor remain)
  bool started = false;      // first chunk requested
  bool last_chunk = false;   // the chunk being imported is the last one
  bool handing_off = false;  // the copy is synced; the source was asked to hand the shard off
  bool join = false;         // a replicated shard's new member catching up: no handoff, it joins
  std::set<std::string> confirming;  // kReconfiguring: members yet to confirm the new config;
                                     // a replicated split: members yet to answer it
  std::vector<ShardInfo> pieces;     // a replicated split: the pieces, as the first member cut them
  std::set<std::string> split_ok;    // ... and the members whose pieces match them
  std::set<std::string> split_failed;   // ... and those that died or failed meanwhile
  std::set<std::string> merge_refused;  // a merge: members that answered it with a refusal
  std::string replacing;                // a join that moves a member: the member it replaces
  uint32_t merge_right = 0;             // a merge, on its left shard: the right one
  uint32_t merge_left = 0;              // ... and on its right shard: the left one
  ShardInfo merged;                     // ... the new shard (id, epoch, bounds, members)
  uint64_t expected = 0;    // id of the internal request whose reply moves the change on
  uint64_t copied = 0;      // keys copied so far
  int64_t deadline_ms = 0;  // abort when no step completes by then
};

// A range of the map is one of: a shard with an owner (served while the owner is alive); a shard
// whose owner no longer holds it (owner empty); or a gap (id 0) that no registered worker has
// reported since the broker started. The last two are unavailable: requests fail at once.
struct ShardEntry {
  ShardInfo info;
  std::string owner;  // worker id; empty when no registered worker holds it
  // Serialization around deletes: while a delete is in flight on this shard, later ops wait here.
  bool barrier = false;
  // A transaction (a command spanning shards, broker/transaction.cpp) holds the shard: its id.
  uint64_t locked_by = 0;
  ShardBusy busy = ShardBusy::kNone;
  Migration move;  // valid while busy == kMoving (`expected` and `deadline_ms` also for splits)
  std::deque<HeldOp> held;
  // Replicated shards (info.replicas not empty; it is always {owner} + followers): the in-sync
  // followers, the last write seq sent at this epoch, write parts every member answered that wait
  // for a configuration change to be recorded before they are acknowledged, and (after a broker
  // restart) the members that have reported this copy.
  std::vector<std::string> followers;
  uint64_t seq = 0;
  std::vector<uint64_t> deferred;
  // A member left while a split was under way: acknowledgements wait for a configuration without
  // it.
  bool unrecorded = false;
  // A member a move replaced: its copy ({id, epoch}) is deleted once the new configuration is in.
  std::string drop_worker;
  uint64_t drop_epoch = 0;
  std::set<std::string> reporters;
  std::map<std::string, int64_t> departed;  // members that left, and when (--replica-timeout)
  // The last configuration all its members recorded: what the shard falls back to (and waits for
  // its members to report) when no in-sync member is left.
  uint64_t confirmed_epoch = 0;
  std::vector<std::string> confirmed_replicas;

  bool holding() const { return barrier || locked_by != 0 || busy != ShardBusy::kNone; }
  bool replicated() const { return !info.replicas.empty(); }
  bool has_member(const std::string& w) const {
    return w == owner || std::find(followers.begin(), followers.end(), w) != followers.end();
  }
  // Sets primary and followers, and the replicas list members record. REQUIRES: a primary.
  void set_members(std::string primary, std::vector<std::string> in_sync_followers) {
    owner = std::move(primary);
    followers = std::move(in_sync_followers);
    info.replicas.assign(1, owner);
    info.replicas.insert(info.replicas.end(), followers.begin(), followers.end());
  }

  KeyRange range() const { return KeyRange{info.lo, info.hi}; }
  bool gap() const { return info.id == 0; }
};

class ShardMap {
 public:
  // Builds shards [-inf,p1), [p1,p2), ... [pn,+inf) with ids 1..n+1 at epoch 1.
  void create(const std::vector<std::string>& split_points, uint64_t seed);
  // One gap covering every key: an existing cluster's map before any worker has reported.
  void create_unknown();
  // Entries overlapping [lo, hi) as an index range [first, last).
  std::pair<std::size_t, std::size_t> overlap(const std::string& lo,
                                              const std::optional<std::string>& hi) const;
  // Puts `entry` where [first, last) were (they overlap it); what they covered outside it becomes
  // gaps. Returns the held ops of the removed entries, for re-routing.
  std::deque<HeldOp> splice(std::size_t first, std::size_t last, ShardEntry entry);
  // Merges neighbouring gaps into one.
  void merge_gaps();
  // True when every range is a shard with an owner (alive or not).
  bool complete() const;
  // The highest shard id and epoch in the map.
  uint64_t max_epoch() const;

  bool empty() const { return shards_.empty(); }
  std::size_t size() const { return shards_.size(); }
  ShardEntry& at(std::size_t i) { return shards_[i]; }
  const ShardEntry& at(std::size_t i) const { return shards_[i]; }
  std::vector<ShardEntry>& entries() { return shards_; }
  const std::vector<ShardEntry>& entries() const { return shards_; }

  // Index of the shard holding `key`. REQUIRES: !empty().
  std::size_t find(std::string_view key) const;
  // Indexes of the shards meeting [first, last] (either end open when nullopt), in key order.
  std::vector<std::size_t> overlapping(const std::optional<std::string>& first,
                                       const std::optional<std::string>& last) const;
  // Index of the shard with this id, or nullopt.
  std::optional<std::size_t> by_id(uint32_t id) const;

  std::vector<ShardInfo> owned_by(const std::string& worker) const;
  // Shards the worker owns or follows plus those it is importing (flagged), for an `assign`.
  std::vector<ShardInfo> assignment_for(const std::string& worker) const;

  // Replaces the shard at `index` by `pieces` (same key span, in key order). Returns the pieces'
  // first index. Held ops of the old entry are returned for re-routing.
  std::deque<HeldOp> replace(std::size_t index, std::vector<ShardEntry> pieces);

  uint32_t next_id() const;

 private:
  std::vector<ShardEntry> shards_;  // sorted by lo
};

}  // namespace clossyne::broker
