// Planner: turns one client op into parts, one per shard-local sub-op, and merges the parts'
// replies back into the client's reply (sums, key order, request order). Pure functions of the
// op and the shard map; no I/O.
#pragma once
#include <cstddef>
#include <optional>
#include <vector>

#include "common/envelope.hpp"
#include "shard_map.hpp"

namespace clossyne::broker {

struct Part {
  std::size_t shard = 0;  // index in the ShardMap at planning time
  Op op;                  // shard-local op (shard and epoch are filled at dispatch)
};

struct Plan {
  std::vector<Part> parts;
  std::optional<Reply> immediate;  // set when the op is answered without any worker
};

// REQUIRES: !map.empty().
Plan plan(const Op& op, const ShardMap& map);
// plan() into an existing plan, taking the keys and values out of `op` instead of copying them (its
// name, id and limit stay): appends `op`'s parts to plan.parts (a batch's ops share one vector) and
// sets or clears plan.immediate.
void plan_into(Op& op, const ShardMap& map, Plan& plan);

// Re-plans a shard-local sub-op against the current map after its shard split or moved: a
// single-key op goes to its key's shard; a shard-wide op (rng, count) to every shard now covering
// what `old_range` covered.
std::vector<Part> replan(const Op& sub, const KeyRange& old_range, const ShardMap& map);

// Collects the replies of one op's parts and combines them into the op's reply (its id is the
// op's; the first failed part's error wins).
class OpMerge {
 public:
  OpMerge(const Op& op, std::size_t parts);
  // Takes one part's reply; returns the combined reply once every part has answered. Replies to
  // unknown parts, or after completion, are ignored.
  std::optional<Reply> add(std::size_t part, Reply reply);
  // Makes room for one more part (a shard-wide part re-planned onto several shards); its index.
  std::size_t add_part();

 private:
  Reply combine();

  std::string op_;
  std::optional<uint64_t> limit_;
  uint64_t id_ = 0;
  std::size_t total_ = 0;
  std::size_t missing_ = 0;
  std::vector<Reply> parts_;  // sized at the first reply that has to be kept
};

}  // namespace clossyne::broker
