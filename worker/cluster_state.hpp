// ClusterState: what a worker knows of the cluster beyond its shards, kept in DIR/cluster.json:
//   - the id of the cluster it joined (its first assignment names it). A restarted broker tells a
//     brand-new cluster (no worker knows an id) from an existing one by it (docs/ARCHITECTURE.md).
//   - handoff tombstones: {shard id, epoch, owner} = "this worker gave shard id up to owner, who
//     holds it at that epoch" (the last step of a move). A restarted broker adopts the new owner's
//     copy on the strength of it; recovery drops any older copy of the shard still in the log.
// The file is replaced atomically (write a temp file, fsync, rename, fsync the directory).
// Its "format" field is kClusterStateFormat; a file without one was written before the field
// existed (format 1). A higher format is refused: a newer build wrote it.
#pragma once
#include <string>
#include <vector>

#include "common/envelope.hpp"
#include "common/status.hpp"

namespace clossyne {

inline constexpr int kClusterStateFormat = 1;

struct ClusterState {
  std::string cluster;              // "" until the first assignment
  std::vector<ShardInfo> handoffs;  // id, epoch, owner only; oldest first

  // The tombstone for shard `id`, or nullptr.
  const ShardInfo* handoff(uint32_t id) const;
  // Records (or replaces) the tombstone of info.id; keeps at most kMaxHandoffs, dropping the
  // oldest (a tombstone only matters until the new owner's next registration).
  void add_handoff(uint32_t id, uint64_t epoch, const std::string& owner);
  static constexpr std::size_t kMaxHandoffs = 4096;
  bool operator==(const ClusterState&) const = default;
};

// A missing file is an empty state; a damaged one is an error (the worker must not start).
Status load_cluster_state(const std::string& dir, ClusterState& out);
Status save_cluster_state(const std::string& dir, const ClusterState& state);

}  // namespace clossyne
