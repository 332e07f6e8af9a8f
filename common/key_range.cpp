#include "key_range.hpp"

#include <cstdio>

namespace clossyne {

std::string escape_key(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (unsigned char c : key) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// Appends rather than chaining operator+, which trips GCC 12's -Wrestrict false positive.
std::string describe_range(std::string_view lo, const std::optional<std::string>& hi) {
  std::string out = "['";
  out += escape_key(lo);
  out += "', ";
  if (hi) {
    out += '\'';
    out += escape_key(*hi);
    out += '\'';
  } else {
    out += "+inf";
  }
  out += ')';
  return out;
}

}  // namespace clossyne
