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

bool differs(const ShardInfo& a, const ShardInfo& b) {
  return a.lo != b.lo || a.hi != b.hi || a.epoch != b.epoch || a.seed != b.seed;
}

// The storage of tables without one: stateless, so one instance serves them all.
MemoryStorage& memory_storage() {
  static MemoryStorage storage;
  return storage;
}

}  // namespace

ShardTable::ShardTable(std::string worker_id, Storage* storage)
    : worker_id_(std::move(worker_id)),
      storage_(storage ? storage : &memory_storage()),
      undo_(std::make_unique<UndoLog>()) {}

Status ShardTable::assign(const std::vector<ShardInfo>& shards) {
  // Log first: the records say what the shards will be, then the change is made.
  std::set<uint32_t> listed;
  bool changed = false;
  for (const ShardInfo& s : shards) {
    listed.insert(s.id);
    auto it = shards_.find(s.id);
    if (it == shards_.end()) {
      ShardInfo info = s;
      info.keys = 0;
      storage_->record_shard(info);
      changed = true;
    } else if (const ShardInfo next = it->second.effective(s); differs(it->second.info(), next)) {
      storage_->record_shard(next);
      changed = true;
    }
  }
  for (const auto& [id, shard] : shards_) {
    if (!listed.count(id)) {
      storage_->record_drop(id);
      changed = true;
    }
  }
  if (changed && storage_->persistent()) {
    if (Status st = storage_->commit(true); !st.ok()) return st;
  }

  for (const ShardInfo& s : shards) {
    auto it = shards_.find(s.id);
    if (it == shards_.end()) {
      spdlog::info("shard {} assigned: {} epoch {}", s.id, describe_bounds(s), s.epoch);
      it = shards_.emplace(s.id, Shard(s)).first;
      it->second.attach(storage_, undo_.get());
    } else if (differs(it->second.info(), it->second.effective(s))) {
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
    spdlog::info("shard {} dropped ({} keys){}", it->first, it->second.tree().size(),
                 storage_->persistent() ? "; the drop is persisted" : "");
    it = shards_.erase(it);
  }
  return Status::Ok();
}

Status ShardTable::commit(bool force_sync) {
  Status st = storage_->commit(force_sync);
  if (st.ok()) {
    undo_->clear();
  } else {
    rollback();
  }
  return st;
}

void ShardTable::rollback() {
  undo_->unwind([this](const UndoLog::Entry& e) {
    auto it = shards_.find(e.shard);
    if (it == shards_.end()) return;
    it->second.restore(e.key, e.before ? &*e.before : nullptr);
  });
}

void ShardTable::restore(std::map<uint32_t, Shard> shards) {
  shards_ = std::move(shards);
  undo_->clear();
  for (auto& [id, shard] : shards_) shard.attach(storage_, undo_.get());
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
