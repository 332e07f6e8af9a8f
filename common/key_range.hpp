// KeyRange: a half-open range [lo, hi) of byte-string keys in memcmp order; no hi means +inf.
// An empty lo is -inf (the empty key is the smallest key). Plain value type.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace clossyne {

// memcmp order over unsigned bytes, which is what std::string_view::compare gives with
// char_traits<char> on every platform we build for (it compares as unsigned char).
inline int compare_keys(std::string_view a, std::string_view b) {
  return a.compare(b);
}

struct KeyRange {
  std::string lo;
  std::optional<std::string> hi;

  bool contains(std::string_view key) const {
    return compare_keys(key, lo) >= 0 && (!hi || compare_keys(key, *hi) < 0);
  }
  // True when [lo, hi) meets the closed interval [first, last].
  bool overlaps_closed(std::string_view first, std::string_view last) const {
    return compare_keys(last, lo) >= 0 && (!hi || compare_keys(first, *hi) < 0);
  }
  bool operator==(const KeyRange&) const = default;
};

// Printable form of a key: printable ASCII as is, other bytes as \xNN (for logs and admin output).
std::string escape_key(std::string_view key);
// Printable form of a range: ['lo', 'hi') or ['lo', +inf) (for logs).
std::string describe_range(std::string_view lo, const std::optional<std::string>& hi);

}  // namespace clossyne
