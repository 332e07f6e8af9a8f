// Storage: what the shards of one worker persist their changes through. The ShardTable and its
// Shards report every change (record_*), the worker loop commits them once per loop turn (group
// commit) before it answers, and rolls the table back when the commit fails.
//
// Fail-stop: once a sync of the log has failed, the storage refuses every write until the process
// restarts (write_refusal()); the table refuses write ops up front and the loop answers them with
// that error.
//
// Two implementations: MemoryStorage (no --data-dir: nothing is kept) and DiskStorage
// (worker/disk_storage.hpp: a checksummed log plus snapshots). Not thread-safe: a storage
// belongs to the worker's event loop.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/envelope.hpp"
#include "common/status.hpp"
#include "worker/cluster_state.hpp"

namespace clossyne {

class ShardTable;

// When the log is fsynced (as Redis's appendfsync).
enum class FsyncMode {
  kAlways,    // before every reply (one fsync per loop turn covers all its writes)
  kEverySec,  // from the loop, at most once a second
  kNo,        // never by us; the OS writes back when it likes
};
std::optional<FsyncMode> parse_fsync_mode(std::string_view name);
std::string_view fsync_mode_name(FsyncMode mode);

class Storage {
 public:
  virtual ~Storage() = default;

  // False when nothing is kept: the table then neither records changes nor keeps undo data.
  virtual bool persistent() const = 0;
  // The --fsync mode of a persistent storage (reported in heartbeats); none for a memory one.
  virtual std::optional<FsyncMode> fsync_mode() const { return std::nullopt; }
  // Loads what the storage holds into `table` (REQUIRES: empty). Called once, before serving; an
  // error means the worker must not start.
  virtual Status recover(ShardTable& table) = 0;

  virtual void record_set(uint32_t shard, std::string_view key, std::string_view value) = 0;
  virtual void record_del(uint32_t shard, std::string_view key) = 0;
  // The key's TTL becomes `at` (ms since the Unix epoch; 0: none). A recorded set removes the TTL.
  virtual void record_expire(uint32_t shard, std::string_view key, int64_t at) = 0;
  virtual void record_shard(const ShardInfo& info) = 0;
  virtual void record_drop(uint32_t shard) = 0;
  // The shard `shard` is cut at `key` into `left` [lo, key) and `right` [key, hi) (ids, epochs).
  virtual void record_split(uint32_t shard, std::string_view key, const ShardInfo& left,
                            const ShardInfo& right) = 0;
  // The shards `pieces` (in key order) become one shard `whole` (id, epoch; its bounds span
  // theirs): a split the broker never learned of, folded back as its assignment asks.
  virtual void record_join(const ShardInfo& whole, const std::vector<uint32_t>& pieces) = 0;
  virtual bool has_pending() const = 0;
  // Makes the recorded changes as durable as the fsync mode promises (force_sync: fsynced now,
  // whatever the mode). All or nothing: on failure none of them is in the log and the message is
  // the cause (strerror).
  virtual Status commit(bool force_sync) = 0;
  // Empty while writes are taken. Once a sync of the log has failed: the reply every write gets
  // from then on ("ERR persistence failure: ... (writes refused until restart)"), until the
  // process restarts and recovers from what is on disk.
  virtual const std::string& write_refusal() const;

  // The cluster id and handoff tombstones (worker/cluster_state.hpp), outside the log: saved
  // durably at once (not at the next commit). A memory storage keeps nothing.
  virtual Status load_cluster_state(ClusterState& out) = 0;
  virtual Status save_cluster_state(const ClusterState& state) = 0;

  // Loop housekeeping between turns: the once-a-second fsync and background compaction.
  virtual void tick(int64_t now_ms, const ShardTable& table) = 0;
  // Clean shutdown: makes every committed change durable (uncommitted ones are dropped); a
  // compaction in progress is abandoned.
  virtual void close() = 0;
};

class MemoryStorage final : public Storage {
 public:
  bool persistent() const override { return false; }
  Status recover(ShardTable&) override { return Status::Ok(); }
  void record_set(uint32_t, std::string_view, std::string_view) override {}
  void record_del(uint32_t, std::string_view) override {}
  void record_expire(uint32_t, std::string_view, int64_t) override {}
  void record_shard(const ShardInfo&) override {}
  void record_drop(uint32_t) override {}
  void record_split(uint32_t, std::string_view, const ShardInfo&, const ShardInfo&) override {}
  void record_join(const ShardInfo&, const std::vector<uint32_t>&) override {}
  bool has_pending() const override { return false; }
  Status commit(bool) override { return Status::Ok(); }
  Status load_cluster_state(ClusterState& out) override {
    out = ClusterState();
    return Status::Ok();
  }
  Status save_cluster_state(const ClusterState&) override { return Status::Ok(); }
  void tick(int64_t, const ShardTable&) override {}
  void close() override {}
};

}  // namespace clossyne
