// ShardTable: the shards one worker holds, by id. Applies the broker's "assign" (the full list of
// shards to own) and routes sub-ops to their shard after checking that the shard is held and the
// sub-op's epoch is the shard's current one. Every call answers; nothing throws on bad input.
// Not thread-safe: it belongs to the worker's event loop.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/envelope.hpp"
#include "worker/shard.hpp"

namespace clossyne {

class ShardTable {
 public:
  explicit ShardTable(std::string worker_id) : worker_id_(std::move(worker_id)) {}

  // Creates the listed shards that are missing (empty), updates bounds and epoch of held ones and
  // drops the ones not listed.
  void assign(const std::vector<ShardInfo>& shards);
  // Every held shard with keys = its key count, in id order (the "register" payload).
  std::vector<ShardInfo> describe() const;

  // One routed sub-op (needs `shard` and `epoch`); the reply carries sub.id.
  Reply execute(const Op& sub);
  // A "batch": one Reply with is_batch and one sub-reply per sub-op, in order.
  Reply execute_batch(const Op& batch);

  const Shard* find(uint32_t id) const;
  std::size_t size() const { return shards_.size(); }

 private:
  std::string worker_id_;
  std::map<uint32_t, Shard> shards_;
};

}  // namespace clossyne
