// DiskStorage: the persistent Storage of a worker with --data-dir (docs/DURABILITY.md).
//
// Changes are framed records appended to the current log segment; commit() writes a loop turn's
// records with one write (and one fdatasync with --fsync always). With everysec, tick() fdatasyncs
// at most once a second; with no, only a clean close() does.
//
// Compaction (tick(), when the log outgrows max(--compact-min-bytes, 2 x the last snapshot)):
//   1. fdatasync the current segment, create log-<G>.log (G = next generation), sync the
//      directory, and append there from now on;
//   2. fork(): the child writes snapshot-<G>.snap.tmp from its copy-on-write image of the shards
//      (exactly the state at the start of log-<G>), fdatasyncs it and exits;
//   3. when the child has succeeded (the loop polls it): rename the temp file to snapshot-<G>.snap,
//      sync the directory, then remove the older segments and snapshots and sync again.
// A crash at any point leaves either the old snapshot + every segment since, or the new snapshot
// + log-<G>..., and both give the same state. fork() is used (as Redis's BGREWRITEAOF) because the
// treap is mutated in place: a frozen view of it costs either a copy of every key in the loop or a
// persistent tree; fork gives it for the price of the page tables, and the loop only pays for the
// pages it writes while the child runs.
//
// A failed write of the log (a full disk: ENOSPC, EFBIG) is returned by commit() (the writes of
// that turn are refused), logged at error level at most once a second, and the next turn tries
// again. A failed fdatasync of the log (in commit(), in the everysec tick, or before a compaction)
// is final: Linux may have dropped the pages it could not write and report success on the next
// fsync, so the storage fail-stops (as LevelDB and Redis do). It logs that once, refuses every
// later commit (write_refusal()), neither syncs nor compacts any more, and a restart recovers
// from what is on disk. A failed snapshot (its write or fdatasync) is abandoned: the temp file is
// removed, the log keeps everything, and a compaction 10 s later writes a new one.
// Not thread-safe: it belongs to the event loop.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "worker/data_dir.hpp"
#include "worker/shard_log.hpp"
#include "worker/storage.hpp"

namespace clossyne {

struct DiskOptions {
  std::string dir;
  FsyncMode fsync = FsyncMode::kEverySec;
  uint64_t compact_min_bytes = 64ull << 20;
  // Write snapshots in a forked child (false: in the calling thread; for tests).
  bool background = true;
};

class DiskStorage final : public Storage {
 public:
  explicit DiskStorage(DiskOptions options);
  ~DiskStorage() override;
  DiskStorage(const DiskStorage&) = delete;
  DiskStorage& operator=(const DiskStorage&) = delete;

  bool persistent() const override { return true; }
  std::optional<FsyncMode> fsync_mode() const override { return opts_.fsync; }
  // Creates the directory if needed, locks it, recovers the shards and opens the log for
  // appending. An error when any of that fails (an unwritable directory included).
  Status recover(ShardTable& table) override;

  void record_set(uint32_t shard, std::string_view key, std::string_view value) override;
  void record_del(uint32_t shard, std::string_view key) override;
  void record_expire(uint32_t shard, std::string_view key, int64_t at) override;
  void record_shard(const ShardInfo& info) override;
  void record_drop(uint32_t shard) override;
  void record_split(uint32_t shard, std::string_view key, const ShardInfo& left,
                    const ShardInfo& right) override;
  void record_join(const ShardInfo& whole, const std::vector<uint32_t>& pieces) override;
  bool has_pending() const override { return log_.has_pending(); }
  Status commit(bool force_sync) override;
  const std::string& write_refusal() const override { return refusal_; }

  Status load_cluster_state(ClusterState& out) override;
  Status save_cluster_state(const ClusterState& state) override;
  void tick(int64_t now_ms, const ShardTable& table) override;
  void close() override;

  // Where compact() stops, to simulate a crash after each step (tests).
  enum class CompactStop { kNone, kAfterNewSegment, kAfterTempSnapshot, kAfterRename };
  // A whole compaction in the calling thread (or its first steps). REQUIRES: nothing pending.
  Status compact(const ShardTable& table, CompactStop stop = CompactStop::kNone);

  // Log bytes on top of the current snapshot, and the size that triggers compaction.
  uint64_t log_bytes() const { return older_log_bytes_ + log_.size(); }
  uint64_t compact_threshold() const;
  bool compacting() const { return child_ > 0; }
  uint64_t generation() const { return gen_; }

 private:
  Status open_next_segment();
  Status install_snapshot(uint64_t gen);
  void start_background_compaction(const ShardTable& table, int64_t now_ms);
  void poll_child(int64_t now_ms);
  void abandon_child(const char* why);
  void report(const std::string& what, const Status& st);
  void fail_stop(const std::string& failure);

  DiskOptions opts_;
  DirLock lock_;
  LogWriter log_;
  uint64_t gen_ = 0;              // generation of the segment appended to
  uint64_t older_log_bytes_ = 0;  // segments before it, on top of the snapshot
  uint64_t snapshot_bytes_ = 0;
  int64_t last_sync_ms_ = 0;
  pid_t child_ = -1;
  uint64_t child_gen_ = 0;
  int64_t child_started_ms_ = 0;
  int64_t next_compaction_ms_ = 0;  // back-off after a failed compaction
  int64_t last_report_ms_ = -1000000;
  uint64_t unreported_ = 0;
  std::string failure_;  // fail-stopped: what failed ("fsync of ... failed: ..."); else empty
  std::string refusal_;  // fail-stopped: the reply to every write; else empty
};

}  // namespace clossyne
