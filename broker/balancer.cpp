#include "balancer.hpp"

#include <algorithm>

namespace clossyne::broker {
namespace {

bool idle(const ShardEntry& s) {
  return s.busy == ShardBusy::kNone;
}

// The workers holding a copy: every member of a replicated shard, else the owner.
std::vector<std::string> holders(const ShardEntry& s) {
  return s.replicated() ? s.info.replicas : std::vector<std::string>{s.owner};
}

bool holds(const ShardEntry& s, const std::string& w) {
  const auto h = holders(s);
  return std::find(h.begin(), h.end(), w) != h.end();
}

bool too_big(const ShardEntry& s, const BalancePolicy& p) {
  return (p.shard_max_keys && s.info.keys > p.shard_max_keys) ||
         (p.shard_max_bytes && s.info.bytes > p.shard_max_bytes && s.info.keys >= 2);
}

// The least-loaded alive, non-draining worker holding no copy of `s`; empty when there is none.
std::string idlest(const std::map<std::string, uint64_t>& load, const WorkerRegistry& workers,
                   const ShardEntry& s) {
  std::string best;
  for (const auto& [id, keys] : load) {
    if (holds(s, id) || workers.draining(id)) continue;
    if (best.empty() || keys < load.at(best)) best = id;
  }
  return best;
}

// A move off a draining worker, if any: the first idle copy it holds to the idlest worker.
bool plan_drain(const ShardMap& map, const WorkerRegistry& workers,
                const std::map<std::string, uint64_t>& load, BalanceActions& out) {
  for (std::size_t i = 0; i < map.size(); ++i) {
    const ShardEntry& s = map.at(i);
    if (!idle(s) || !workers.alive(s.owner)) continue;
    for (const auto& w : holders(s)) {
      if (!workers.draining(w)) continue;
      std::string to = idlest(load, workers, s);
      if (to.empty()) return false;
      out.moves.push_back({s.info.id, to, w});
      return true;
    }
  }
  return false;
}

// A move from the busiest to the idlest worker when they differ by more than the policy allows:
// the largest idle shard that narrows the gap (at most half of it).
void plan_spread(const ShardMap& map, const WorkerRegistry& workers, const BalancePolicy& p,
                 const std::map<std::string, uint64_t>& load, BalanceActions& out) {
  uint64_t total = 0;
  std::string busiest;
  for (const auto& [id, keys] : load) {
    total += keys;
    if (workers.draining(id)) continue;
    if (busiest.empty() || keys > load.at(busiest)) busiest = id;
  }
  if (busiest.empty()) return;
  std::string to;  // the idlest worker at all (a shard to move must not be on it)
  for (const auto& [id, keys] : load) {
    if (id != busiest && !workers.draining(id) && (to.empty() || keys < load.at(to))) to = id;
  }
  if (to.empty()) return;
  uint64_t gap = load.at(busiest) - load.at(to);
  if (gap < p.min_move_keys || gap < static_cast<uint64_t>(p.imbalance * total)) return;
  const ShardEntry* pick = nullptr;
  for (std::size_t i = 0; i < map.size(); ++i) {
    const ShardEntry& s = map.at(i);
    if (!holds(s, busiest) || holds(s, to) || !idle(s) || s.info.keys == 0 ||
        s.info.keys > gap / 2 + gap / 4)
      continue;
    if (std::find(out.splits.begin(), out.splits.end(), s.info.id) != out.splits.end()) continue;
    if (std::any_of(out.merges.begin(), out.merges.end(),
                    [&](const auto& m) { return m.first == s.info.id || m.second == s.info.id; }))
      continue;
    if (!pick || s.info.keys > pick->info.keys) pick = &s;
  }
  if (pick) out.moves.push_back({pick->info.id, to, busiest});
}

}  // namespace

std::map<std::string, uint64_t> keys_per_worker(const ShardMap& map,
                                                const WorkerRegistry& workers) {
  std::map<std::string, uint64_t> load;
  for (const auto& id : workers.alive_ids()) load[id] = 0;
  for (std::size_t i = 0; i < map.size(); ++i) {
    const ShardEntry& s = map.at(i);
    for (const auto& w : holders(s)) {
      if (load.count(w)) load[w] += s.info.keys;
    }
  }
  return load;
}

BalanceActions plan_balance(const ShardMap& map, const WorkerRegistry& workers,
                            const BalancePolicy& policy, int busy_splits, int busy_moves,
                            int busy_merges) {
  BalanceActions out;
  for (std::size_t i = 0; i < map.size() && busy_splits < policy.max_splits; ++i) {
    const ShardEntry& s = map.at(i);
    if (idle(s) && workers.alive(s.owner) && too_big(s, policy)) {
      out.splits.push_back(s.info.id);
      ++busy_splits;
    }
  }
  const bool may_move = busy_moves < policy.max_moves;
  auto load = keys_per_worker(map, workers);
  if (may_move && plan_drain(map, workers, load, out)) return out;
  plan_merges(map, workers, policy, busy_merges, may_move, out);
  // A move for a merge goes first: the spread waits for it (they never fight over a shard).
  if (!may_move || !out.moves.empty()) return out;
  if (policy.auto_balance) plan_spread(map, workers, policy, load, out);
  return out;
}

}  // namespace clossyne::broker
