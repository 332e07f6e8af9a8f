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

// Collects the replies of one op's parts and combines them.
class OpMerge {
 public:
  OpMerge(const Op& op, std::size_t parts);
  void add(std::size_t part, Reply reply);
  // The combined reply; the first failed part's error wins.
  Reply finish(uint64_t id);

 private:
  std::string op_;
  std::optional<uint64_t> limit_;
  std::vector<Reply> parts_;
};

}  // namespace clossyne::broker
