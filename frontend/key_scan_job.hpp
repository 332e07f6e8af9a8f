// KEYS and SCAN: walks of the cluster's key space in key order, by RNG pages (the broker fans a
// page out to every shard and merges it in key order). A glob MATCH pattern with a literal prefix
// ("user:*") narrows the walk to that prefix's key range; the pattern itself is matched here.
// SCAN does one page per call and hands out an integer cursor (see CursorTable) naming the key
// where the next call resumes, so `redis-cli --scan` and redis-py's scan_iter see every key that
// exists throughout the walk exactly once. KEYS walks every page and answers one array, up to
// kMaxKeysReplyBytes (beyond: an error telling to use SCAN).
// Pages carry values too (RNG has no keys-only form): a page of very large values is heavy.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "action.hpp"
#include "cursor_table.hpp"

namespace clossyne::frontend {

inline constexpr uint64_t kKeysPageSize = 1000;
inline constexpr uint64_t kMaxScanCount = 100000;
inline constexpr std::size_t kMaxKeysReplyBytes = 512u * 1024 * 1024;

// One walk: the keys in [start, end] (end none: +inf) that match `pattern` (none: all).
struct KeyWalk {
  std::string start;
  std::optional<std::string> end;
  std::optional<std::string> pattern;

  // The walk for `pattern` from `resume` on, narrowed to the pattern's literal prefix.
  static KeyWalk for_pattern(std::optional<std::string> pattern, std::string resume);
  // The RNG op for the next `limit` keys from `start`.
  Op page(uint64_t limit) const;
  bool matches(const std::string& key) const;
  // Moves start past `last_key`; false when that leaves the walk's range.
  bool advance_past(const std::string& last_key);
};

// REQUIRES: args passed check_arity for "keys" (KEYS pattern).
Action build_keys(std::vector<std::string>& args);

// REQUIRES: args passed check_arity for "scan". SCAN cursor [MATCH p] [COUNT n] [TYPE t]; a bad
// option gives its error at once.
Action build_scan(std::vector<std::string>& args, CursorTable& cursors);

}  // namespace clossyne::frontend
