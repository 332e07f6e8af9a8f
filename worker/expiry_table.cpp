#include "expiry_table.hpp"

#include "common/key_range.hpp"

namespace clossyne {

std::optional<int64_t> ExpiryTable::get(std::string_view key) const {
  if (by_key_.empty()) return std::nullopt;  // the common case: no key has a TTL
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

void ExpiryTable::set(std::string_view key, int64_t at) {
  auto it = by_key_.find(key);
  if (it != by_key_.end()) {
    if (it->second == at) return;
    by_time_.erase({it->second, it->first});
    it->second = at;
  } else {
    it = by_key_.emplace(std::string(key), at).first;
  }
  by_time_.emplace(at, it->first);
}

bool ExpiryTable::erase(std::string_view key) {
  if (by_key_.empty()) return false;
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return false;
  by_time_.erase({it->second, it->first});
  by_key_.erase(it);
  return true;
}

std::vector<std::string> ExpiryTable::due(int64_t now, std::size_t limit) const {
  std::vector<std::string> out;
  for (auto it = by_time_.begin(); it != by_time_.end() && it->first <= now; ++it) {
    if (out.size() >= limit) break;
    out.push_back(it->second);
  }
  return out;
}

uint64_t ExpiryTable::count_due(int64_t now, std::string_view lo,
                                const std::optional<std::string>& hi) const {
  uint64_t n = 0;
  for (auto it = by_time_.begin(); it != by_time_.end() && it->first <= now; ++it) {
    if (compare_keys(it->second, lo) >= 0 && (!hi || compare_keys(it->second, *hi) < 0)) ++n;
  }
  return n;
}

uint64_t ExpiryTable::count_in(std::string_view lo, const std::optional<std::string>& hi) const {
  uint64_t n = 0;
  for (auto it = by_key_.lower_bound(lo); it != by_key_.end(); ++it) {
    if (hi && compare_keys(it->first, *hi) >= 0) break;
    ++n;
  }
  return n;
}

ExpiryTable ExpiryTable::cut(std::string_view key) {
  ExpiryTable right;
  auto it = by_key_.lower_bound(key);
  while (it != by_key_.end()) {
    by_time_.erase({it->second, it->first});
    right.set(it->first, it->second);
    it = by_key_.erase(it);
  }
  return right;
}

void ExpiryTable::merge(ExpiryTable&& other) {
  for (const auto& [key, at] : other.by_key_) set(key, at);
  other = ExpiryTable();
}

void ExpiryTable::for_each(const std::function<void(std::string_view, int64_t)>& fn) const {
  for (const auto& [key, at] : by_key_) fn(key, at);
}

}  // namespace clossyne
