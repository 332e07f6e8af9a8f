// The commands that read or rewrite part of a value: APPEND, STRLEN, GETRANGE (SUBSTR), SETRANGE
// (t_string.c) and GETBIT, SETBIT, BITCOUNT (bitops.c). A write keeps the key's TTL; no value
// may grow past proto-max-bulk-len.
#include <bit>
#include <cstring>

#include "worker/string_command_util.hpp"

namespace clossyne::strcmd {
namespace {

// Redis's checkStringLength: `size` + `append` bytes would be too long (or overflow).
bool too_long(int64_t size, int64_t append) {
  int64_t total = 0;
  return __builtin_add_overflow(size, append, &total) || total > kMaxBulkLen;
}

Reply too_long_error() {
  return error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
}

// Redis's getBitOffsetFromArgument (no '#' form): an offset whose byte fits in a value.
bool parse_bit_offset(const std::string& word, uint64_t& out) {
  int64_t v = 0;
  if (!parse_ll(word, v) || v < 0 || (v >> 3) >= kMaxBulkLen) return false;
  out = static_cast<uint64_t>(v);
  return true;
}

int64_t popcount(std::string_view s) {
  int64_t n = 0;
  for (const char ch : s) n += std::popcount(static_cast<unsigned char>(ch));
  return n;
}

// BITCOUNT's range [start, end] (bytes, or bits when `bits`) clamped as Redis does; the count of
// the set bits in it.
int64_t count_range(std::string_view s, int64_t start, int64_t end, bool bits) {
  if (start < 0 && end < 0 && start > end) return 0;
  const int64_t total = static_cast<int64_t>(s.size()) * (bits ? 8 : 1);
  if (start < 0) start += total;
  if (end < 0) end += total;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= total) end = total - 1;
  if (start > end) return 0;
  if (!bits) return popcount(s.substr(start, end - start + 1));
  // Whole bytes, less the bits of the first and last byte outside the range.
  const unsigned first_out = ~((1u << (8 - (start & 7))) - 1) & 0xFF;
  const unsigned last_out = (1u << (7 - (end & 7))) - 1;
  const auto first = static_cast<unsigned char>(s[start >> 3]);
  const auto last = static_cast<unsigned char>(s[end >> 3]);
  return popcount(s.substr(start >> 3, (end >> 3) - (start >> 3) + 1)) -
         std::popcount(first & first_out) - std::popcount(last & last_out);
}

}  // namespace

Reply cmd_append(Ctx& c) {
  const std::optional<std::string_view> cur = c.key.get();
  if (!cur) {
    c.key.put(c.args[0], false);  // APPEND creates the key, even with ""
    return integer(static_cast<int64_t>(c.args[0].size()));
  }
  if (too_long(static_cast<int64_t>(cur->size()), static_cast<int64_t>(c.args[0].size()))) {
    return too_long_error();
  }
  std::string s(*cur);
  s += c.args[0];
  c.key.put(s, true);
  return integer(static_cast<int64_t>(s.size()));
}

Reply cmd_strlen(Ctx& c) {
  const std::optional<std::string_view> cur = c.key.get();
  return integer(cur ? static_cast<int64_t>(cur->size()) : 0);
}

Reply cmd_getrange(Ctx& c) {
  int64_t start = 0;
  int64_t end = 0;
  if (!parse_ll(c.args[0], start) || !parse_ll(c.args[1], end)) return not_integer();
  const std::optional<std::string_view> cur = c.key.get();
  if (!cur) return bulk("");  // an empty string, not nil
  const auto len = static_cast<int64_t>(cur->size());
  if (start < 0 && end < 0 && start > end) return bulk("");
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len == 0) return bulk("");
  return bulk(std::string(cur->substr(start, end - start + 1)));
}

Reply cmd_setrange(Ctx& c) {
  int64_t offset = 0;
  if (!parse_ll(c.args[0], offset)) return not_integer();
  if (offset < 0) return error("ERR offset is out of range");
  const std::string& part = c.args[1];
  const std::optional<std::string_view> cur = c.key.get();
  // Writing nothing answers the length and creates no key.
  if (part.empty()) return integer(cur ? static_cast<int64_t>(cur->size()) : 0);
  if (too_long(offset, static_cast<int64_t>(part.size()))) return too_long_error();
  std::string s(cur.value_or(std::string_view{}));
  const size_t need = static_cast<size_t>(offset) + part.size();
  if (s.size() < need) s.resize(need, '\0');
  s.replace(static_cast<size_t>(offset), part.size(), part);
  write_back(c.key, cur.has_value(), s);
  return integer(static_cast<int64_t>(s.size()));
}

Reply cmd_getbit(Ctx& c) {
  uint64_t offset = 0;
  if (!parse_bit_offset(c.args[0], offset)) {
    return error("ERR bit offset is not an integer or out of range");
  }
  const std::optional<std::string_view> cur = c.key.get();
  const uint64_t byte = offset >> 3;
  if (!cur || byte >= cur->size()) return integer(0);
  return integer((static_cast<unsigned char>((*cur)[byte]) >> (7 - (offset & 7))) & 1);
}

Reply cmd_setbit(Ctx& c) {
  uint64_t offset = 0;
  if (!parse_bit_offset(c.args[0], offset)) {
    return error("ERR bit offset is not an integer or out of range");
  }
  int64_t on = 0;
  if (!parse_ll(c.args[1], on) || (on & ~1))
    return error("ERR bit is not an integer or out of range");
  const std::optional<std::string_view> cur = c.key.get();
  const uint64_t byte = offset >> 3;
  std::string s(cur.value_or(std::string_view{}));
  const bool grows = !cur || s.size() < byte + 1;
  if (grows) s.resize(byte + 1, '\0');
  const unsigned mask = 1u << (7 - (offset & 7));
  const bool old = static_cast<unsigned char>(s[byte]) & mask;
  // Redis writes only when the key is new, grows or the bit changes.
  if (grows || old != (on == 1)) {
    s[byte] = static_cast<char>(on ? (s[byte] | mask) : (s[byte] & ~mask));
    write_back(c.key, cur.has_value(), s);
  }
  return integer(old ? 1 : 0);
}

Reply cmd_bitcount(Ctx& c) {
  const size_t n = c.args.size();
  if (n != 0 && n != 2 && n != 3) return syntax_error();
  int64_t start = 0;
  int64_t end = -1;
  bool bits = false;
  if (n >= 2) {
    if (!parse_ll(c.args[0], start) || !parse_ll(c.args[1], end)) return not_integer();
    if (n == 3) {
      if (option_is(c.args[2], "bit")) {
        bits = true;
      } else if (!option_is(c.args[2], "byte")) {
        return syntax_error();
      }
    }
  }
  const std::optional<std::string_view> cur = c.key.get();
  if (!cur) return integer(0);
  return integer(count_range(*cur, start, end, bits));
}

}  // namespace clossyne::strcmd
