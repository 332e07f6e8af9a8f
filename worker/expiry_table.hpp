// ExpiryTable: the TTLs of one shard's keys, as absolute times (ms since the Unix epoch). Only keys
// that have a TTL have an entry, so a shard whose keys have none pays nothing per key. Two
// indexes: by key (lookups, and cutting the table where its shard is cut) and by time (the keys
// that are due, earliest first, for active expiry). Not thread-safe.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace clossyne {

class ExpiryTable {
 public:
  std::optional<int64_t> get(std::string_view key) const;
  void set(std::string_view key, int64_t at);
  // True when the key had a TTL.
  bool erase(std::string_view key);
  bool empty() const { return by_key_.empty(); }
  std::size_t size() const { return by_key_.size(); }

  // Up to `limit` keys whose time is <= now, earliest first.
  std::vector<std::string> due(int64_t now, std::size_t limit) const;
  // How many keys in [lo, hi) (hi none: no upper bound) are due at `now`; O(due keys).
  uint64_t count_due(int64_t now, std::string_view lo, const std::optional<std::string>& hi) const;
  // How many keys in [lo, hi) have a TTL; O(log n + those keys).
  uint64_t count_in(std::string_view lo, const std::optional<std::string>& hi) const;
  // Moves the entries of keys >= key into the returned table.
  ExpiryTable cut(std::string_view key);
  // Takes every entry of `other`.
  void merge(ExpiryTable&& other);
  // fn(key, at) for every key with a TTL, in key order.
  void for_each(const std::function<void(std::string_view, int64_t)>& fn) const;

 private:
  std::map<std::string, int64_t, std::less<>> by_key_;
  std::set<std::pair<int64_t, std::string>> by_time_;
};

}  // namespace clossyne
