// Balancer: the cluster's shape policy in one place. Given the shard map and the workers, it says
// which shards to split (too many keys or bytes) and which shard to move where (a draining worker
// first, then from the busiest worker to the idlest). Pure: it decides, the broker acts.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config.hpp"
#include "shard_map.hpp"
#include "worker_registry.hpp"

namespace clossyne::broker {

struct MoveAction {
  uint32_t shard = 0;
  std::string to;
  std::string from;  // a replicated shard: the member it replaces ("" for the primary)
};

struct BalanceActions {
  std::vector<uint32_t> splits;
  std::vector<std::pair<uint32_t, uint32_t>> merges;  // adjacent pairs, left first
  std::vector<MoveAction> moves;
};

// `busy_splits`/`busy_moves`/`busy_merges`: structural changes already under way.
BalanceActions plan_balance(const ShardMap& map, const WorkerRegistry& workers,
                            const BalancePolicy& policy, int busy_splits, int busy_moves,
                            int busy_merges = 0);

// Two replicated shards with the same members in any order (broker/merge.cpp).
bool same_members(const ShardEntry& a, const ShardEntry& b);

// Merges (and the moves that put both shards of a pair on one owner first): see balancer_merge.cpp.
// Fills in the merge limits the command line left out (a quarter of the split limits) and checks
// the hysteresis (a merge limit at most half its split limit). Returns an error, or "".
std::string settle_merge_limits(BalancePolicy& policy, bool keys_given, bool bytes_given);

void plan_merges(const ShardMap& map, const WorkerRegistry& workers, const BalancePolicy& policy,
                 int busy_merges, bool may_move, BalanceActions& out);

// Keys per alive worker (draining ones included), from the shards' last reported sizes.
std::map<std::string, uint64_t> keys_per_worker(const ShardMap& map, const WorkerRegistry& workers);

}  // namespace clossyne::broker
