#include "shard_table.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "common/key_range.hpp"

namespace clossyne {
namespace {

// Appends rather than chaining operator+, which trips GCC 12's -Wrestrict false positive.
std::string describe_bounds(const ShardInfo& s) {
  std::string out = "['";
  out += escape_key(s.lo);
  out += "', ";
  if (s.hi) {
    out += '\'';
    out += escape_key(*s.hi);
    out += '\'';
  } else {
    out += "+inf";
  }
  out += ')';
  return out;
}

}  // namespace

void ShardTable::assign(const std::vector<ShardInfo>& shards) {
  std::set<uint32_t> listed;
  for (const ShardInfo& s : shards) {
    listed.insert(s.id);
    auto it = shards_.find(s.id);
    if (it == shards_.end()) {
      spdlog::info("shard {} assigned: {} epoch {}", s.id, describe_bounds(s), s.epoch);
      shards_.emplace(s.id, Shard(s));
    } else if (it->second.info().lo != s.lo || it->second.info().hi != s.hi ||
               it->second.info().epoch != s.epoch) {
      spdlog::info("shard {} updated: {} epoch {} -> {} epoch {}", s.id,
                   describe_bounds(it->second.info()), it->second.info().epoch, describe_bounds(s),
                   s.epoch);
      it->second.reassign(s);
    }
  }
  for (auto it = shards_.begin(); it != shards_.end();) {
    if (listed.count(it->first)) {
      ++it;
      continue;
    }
    spdlog::info("shard {} dropped ({} keys)", it->first, it->second.tree().size());
    it = shards_.erase(it);
  }
}

std::vector<ShardInfo> ShardTable::describe() const {
  std::vector<ShardInfo> out;
  out.reserve(shards_.size());
  for (const auto& [id, shard] : shards_) out.push_back(shard.describe());
  return out;
}

Reply ShardTable::execute(const Op& sub) {
  if (!sub.shard) {
    if (!Shard::knows(sub.op)) return Reply::Error(sub.id, "ERR unknown op '" + sub.op + "'");
    return Reply::Error(sub.id, "ERR missing field 'shard'");
  }
  auto it = shards_.find(*sub.shard);
  if (it == shards_.end()) {
    return Reply::Error(
        sub.id, "ERR shard " + std::to_string(*sub.shard) + " is not held by worker " + worker_id_);
  }
  Shard& shard = it->second;
  if (sub.epoch != shard.info().epoch) {
    return Reply::Error(sub.id, "ERR stale epoch for shard " + std::to_string(*sub.shard) +
                                    " (have " + std::to_string(shard.info().epoch) + ")");
  }
  spdlog::debug("shard {}: {} id {}", *sub.shard, sub.op, sub.id);
  return shard.apply(sub, worker_id_);
}

Reply ShardTable::execute_batch(const Op& batch) {
  Reply reply;
  reply.id = batch.id;
  reply.is_batch = true;
  reply.replies.reserve(batch.batch.size());
  for (const Op& sub : batch.batch) reply.replies.push_back(execute(sub));
  return reply;
}

const Shard* ShardTable::find(uint32_t id) const {
  auto it = shards_.find(id);
  return it == shards_.end() ? nullptr : &it->second;
}

}  // namespace clossyne
