// UndoLog: how to take back the changes of a loop turn whose log commit failed, so that a change
// that was not persisted is not left applied in memory. One entry per change, newest last:
//   - a key change: the shard, the key, the value it had before (none: the key was absent) and
//     its TTL then (none: no TTL);
//   - a split: the ids of the two pieces and the shard they were cut from (undone by joining the
//     pieces back, O(log n));
//   - a merge: the merged shard and the two it was joined from (undone by cutting it again).
// Cleared after every commit. Plain container; not thread-safe.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/envelope.hpp"

namespace clossyne {

class UndoLog {
 public:
  enum class Kind : uint8_t { kKey, kSplit, kMerge };
  struct Entry {
    Kind kind = Kind::kKey;
    uint32_t shard = 0;  // kKey: the shard; kSplit: the left piece; kMerge: the merged shard
    std::string key;
    std::optional<std::string> before;
    std::optional<int64_t> expiry_before;  // kKey: the key's TTL before the change
    uint32_t right = 0;                    // kSplit: the right piece
    ShardInfo whole;                       // kSplit: the shard as it was before the split
    ShardInfo left_info;                   // kMerge: the two shards as they were before it
    ShardInfo right_info;
  };

  void remember(uint32_t shard, std::string_view key, std::optional<std::string_view> before,
                std::optional<int64_t> expiry_before = std::nullopt) {
    Entry& e = entries_.emplace_back();
    e.shard = shard;
    e.key.assign(key);
    if (before) e.before.emplace(*before);
    e.expiry_before = expiry_before;
  }
  void remember_split(uint32_t left, uint32_t right, const ShardInfo& whole) {
    Entry& e = entries_.emplace_back();
    e.kind = Kind::kSplit;
    e.shard = left;
    e.right = right;
    e.whole = whole;
  }
  void remember_merge(uint32_t merged, const ShardInfo& left, const ShardInfo& right) {
    Entry& e = entries_.emplace_back();
    e.kind = Kind::kMerge;
    e.shard = merged;
    e.left_info = left;
    e.right_info = right;
  }
  bool empty() const { return entries_.empty(); }
  // Newest first, the order in which they must be undone.
  template <typename Fn>
  void unwind(Fn&& fn) {
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) fn(*it);
    entries_.clear();
  }
  void clear() { entries_.clear(); }

 private:
  std::vector<Entry> entries_;
};

}  // namespace clossyne
