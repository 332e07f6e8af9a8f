// CursorTable: SCAN cursors. A cursor is an integer (clients parse it as one) naming the key
// where the next SCAN call resumes. The table is shared by every connection, as Redis cursors
// are, and bounded: past `capacity` the least recently used cursor is forgotten (a client that
// comes back with it gets "ERR invalid cursor" and starts again). Ids are never 0 (0 means
// "start" and "done") and never reused. Not thread-safe.
#pragma once
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace clossyne::frontend {

inline constexpr std::size_t kDefaultCursorCapacity = 100000;

class CursorTable {
 public:
  explicit CursorTable(std::size_t capacity = kDefaultCursorCapacity) : capacity_(capacity) {}

  // Remembers `next_key` and returns its new cursor id (> 0).
  uint64_t put(std::string next_key);

  // The key a cursor resumes at (the cursor stays valid: a client may retry a call); nullopt when
  // unknown or forgotten.
  std::optional<std::string> get(uint64_t id);

  std::size_t size() const { return index_.size(); }

 private:
  using Entry = std::pair<uint64_t, std::string>;
  std::size_t capacity_;
  uint64_t next_id_ = 1;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<uint64_t, std::list<Entry>::iterator> index_;
};

}  // namespace clossyne::frontend
