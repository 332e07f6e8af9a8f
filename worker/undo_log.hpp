// UndoLog: how to take back the changes of a loop turn whose log commit failed, so that a write
// that was not persisted is not left applied in memory. One entry per change, newest last: the
// shard, the key and the value it had before (none: the key was absent). Cleared after every
// commit. Plain container; not thread-safe.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace clossyne {

class UndoLog {
 public:
  struct Entry {
    uint32_t shard = 0;
    std::string key;
    std::optional<std::string> before;
  };

  void remember(uint32_t shard, std::string_view key, const std::string* before) {
    Entry& e = entries_.emplace_back();
    e.shard = shard;
    e.key.assign(key);
    if (before) e.before.emplace(*before);
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
