// Balancer: the cluster's shape policy in one place. Given the shard map and the workers, it says
// which shards to split (too many keys or bytes) and which shard to move where (a draining worker
// first, then from the busiest worker to the idlest). Pure: it decides, the broker acts.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
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
  std::vector<MoveAction> moves;
};

// `busy_splits`/`busy_moves`: structural changes already under way.
BalanceActions plan_balance(const ShardMap& map, const WorkerRegistry& workers,
                            const BalancePolicy& policy, int busy_splits, int busy_moves);

// Keys per alive worker (draining ones included), from the shards' last reported sizes.
std::map<std::string, uint64_t> keys_per_worker(const ShardMap& map, const WorkerRegistry& workers);

}  // namespace clossyne::broker
