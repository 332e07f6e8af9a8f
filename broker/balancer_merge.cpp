// The balancer's merge policy: adjacent shards whose sum is below
// --shard-min-keys/--shard-min-bytes are joined (broker/merge.cpp), at most policy.max_merges at a
// time. Two rules keep it calm:
// - hysteresis: the merge limits are at most half the split limits (main.cpp), so the halves of a
//   split never qualify and a merged shard is never big enough to split;
// - the map never shrinks below one shard per live, non-draining worker, so every worker keeps
//   something to serve and the spread still has shards to move.
// A pair on two owners (unreplicated) first moves its smaller shard to the other's owner; the merge
// follows once both are idle there. Replicated pairs merge only with the same members (any order).
#include <algorithm>
#include <string>

#include "balancer.hpp"

namespace clossyne::broker {
namespace {

bool small_pair(const ShardEntry& a, const ShardEntry& b, const BalancePolicy& p) {
  if (p.shard_min_keys && a.info.keys + b.info.keys >= p.shard_min_keys) return false;
  if (p.shard_min_bytes && a.info.bytes + b.info.bytes >= p.shard_min_bytes) return false;
  return p.shard_min_keys || p.shard_min_bytes;
}

bool ready(const ShardEntry& s, const WorkerRegistry& workers) {
  if (s.gap() || s.holding() || s.owner.empty()) return false;
  const auto members = s.replicated() ? s.info.replicas : std::vector<std::string>{s.owner};
  return std::all_of(members.begin(), members.end(), [&](const std::string& w) {
    return workers.alive(w) && !workers.draining(w);
  });
}

bool same_holders(const ShardEntry& a, const ShardEntry& b) {
  if (a.replicated() || b.replicated()) return same_members(a, b);
  return a.owner == b.owner;
}

bool splitting(const BalanceActions& out, uint32_t id) {
  return std::find(out.splits.begin(), out.splits.end(), id) != out.splits.end();
}

std::size_t serving_workers(const WorkerRegistry& workers) {
  std::size_t n = 0;
  for (const auto& id : workers.alive_ids()) n += !workers.draining(id);
  return std::max<std::size_t>(n, 1);
}

}  // namespace

// Both merge limits 0 turn merging off. Otherwise a measure with a split limit needs a merge
// limit: with 0 it would not hold merges back, so what it splits the other would merge again.
std::string settle_merge_limits(BalancePolicy& p, bool keys_given, bool bytes_given) {
  if (!keys_given) p.shard_min_keys = p.shard_max_keys / 4;
  if (!bytes_given) p.shard_min_bytes = p.shard_max_bytes / 4;
  const bool merging = p.shard_min_keys || p.shard_min_bytes;
  if (merging && p.shard_max_keys && !p.shard_min_keys)
    return "--shard-min-keys 0 with --shard-max-keys set: shards split by keys would be merged "
           "back (give both --shard-min-keys 0 and --shard-min-bytes 0 to turn merging off)";
  if (merging && p.shard_max_bytes && !p.shard_min_bytes)
    return "--shard-min-bytes 0 with --shard-max-bytes set: shards split by bytes would be "
           "merged back (give both --shard-min-keys 0 and --shard-min-bytes 0 to turn merging "
           "off)";
  if (p.shard_max_keys && p.shard_min_keys > p.shard_max_keys / 2)
    return "--shard-min-keys must be at most half of --shard-max-keys (or a split would be "
           "merged back)";
  if (p.shard_max_bytes && p.shard_min_bytes > p.shard_max_bytes / 2)
    return "--shard-min-bytes must be at most half of --shard-max-bytes (or a split would be "
           "merged back)";
  return {};
}

void plan_merges(const ShardMap& map, const WorkerRegistry& workers, const BalancePolicy& policy,
                 int busy_merges, bool may_move, BalanceActions& out) {
  if (!policy.shard_min_keys && !policy.shard_min_bytes) return;
  // A merge under way already takes one shard from the map.
  std::size_t shards = map.size() - std::min<std::size_t>(map.size(), std::max(busy_merges, 0));
  const std::size_t floor = serving_workers(workers);
  for (std::size_t i = 0; i + 1 < map.size(); ++i) {
    if (busy_merges >= policy.max_merges || shards <= floor) return;
    const ShardEntry& a = map.at(i);
    const ShardEntry& b = map.at(i + 1);
    if (!ready(a, workers) || !ready(b, workers) || !small_pair(a, b, policy) ||
        splitting(out, a.info.id) || splitting(out, b.info.id) || a.info.seed != b.info.seed)
      continue;
    if (same_holders(a, b)) {
      out.merges.emplace_back(a.info.id, b.info.id);
      ++busy_merges;
      --shards;
      ++i;  // b is taken
    } else if (may_move && out.moves.empty() && !a.replicated() && !b.replicated()) {
      const ShardEntry& mover = b.info.keys <= a.info.keys ? b : a;
      const ShardEntry& stays = &mover == &b ? a : b;
      out.moves.push_back({mover.info.id, stays.owner, mover.owner});
    }
  }
}

}  // namespace clossyne::broker
