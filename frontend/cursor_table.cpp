#include "cursor_table.hpp"

namespace clossyne::frontend {

uint64_t CursorTable::put(std::string next_key) {
  const uint64_t id = next_id_++;
  if (next_id_ == 0) next_id_ = 1;  // 2^64 cursors later; 0 stays reserved
  lru_.emplace_front(id, std::move(next_key));
  index_[id] = lru_.begin();
  while (index_.size() > capacity_ && !lru_.empty()) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return id;
}

std::optional<std::string> CursorTable::get(uint64_t id) {
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

}  // namespace clossyne::frontend
