// Redis glob patterns (KEYS, SCAN MATCH, CONFIG GET): a faithful port of Redis's stringmatchlen —
//   *  any run of bytes          ?  any one byte
//   [abc] [^abc] [a-z]  a byte in (not in) the set or range (ends may come in either order)
//   \x  the byte x itself (also inside [...])
// Like Redis, an unterminated '[' set runs to the end of the pattern, a lone trailing '\' is a
// literal backslash, and bytes compare as signed chars in ranges. Unlike the C original it never
// reads past either buffer, and its recursion depth is bounded by kMaxGlobNesting (deeper star
// nesting does not match). Pure functions, safe from any thread.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace clossyne::frontend {

inline constexpr int kMaxGlobNesting = 1000;

// True when `str` matches `pattern`; `nocase` folds ASCII case (CONFIG GET does, KEYS does not).
bool glob_match(std::string_view pattern, std::string_view str, bool nocase = false);

// The literal bytes every match must start with ("user:*" -> "user:", "a\*b?" -> "a*b", "*" -> "").
std::string glob_literal_prefix(std::string_view pattern);

// The smallest key greater than every key starting with `prefix`, or nullopt when there is none
// ("" or all 0xff bytes). Keys with the prefix lie in [prefix, prefix_end(prefix)).
std::optional<std::string> prefix_end(std::string_view prefix);

}  // namespace clossyne::frontend
