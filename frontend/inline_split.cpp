#include "inline_split.hpp"

#include <cctype>

namespace clossyne::frontend {
namespace {

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

char unescape(char c) {
  switch (c) {
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'b':
      return '\b';
    case 'a':
      return '\a';
    default:
      return c;
  }
}

// Reads a "double quoted" argument starting after the opening quote; `i` ends after the closing
// quote. False when unbalanced.
bool read_double_quoted(std::string_view s, std::size_t& i, std::string& out) {
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"') {
      ++i;
      return i == s.size() || is_space(s[i]);
    }
    if (c == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && hex_value(s[i + 2]) >= 0 &&
        hex_value(s[i + 3]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 2]) * 16 + hex_value(s[i + 3])));
      i += 4;
    } else if (c == '\\' && i + 1 < s.size()) {
      out.push_back(unescape(s[i + 1]));
      i += 2;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return false;
}

bool read_single_quoted(std::string_view s, std::size_t& i, std::string& out) {
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\'') {
      ++i;
      return i == s.size() || is_space(s[i]);
    }
    if (c == '\\' && i + 1 < s.size() && s[i + 1] == '\'') {
      out.push_back('\'');
      i += 2;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return false;
}

// Reads one argument at `i` (not whitespace). Quotes may start mid-argument, as in sdssplitargs.
bool read_arg(std::string_view s, std::size_t& i, std::string& out) {
  while (i < s.size() && !is_space(s[i])) {
    const char c = s[i++];
    if (c == '"') return read_double_quoted(s, i, out);
    if (c == '\'') return read_single_quoted(s, i, out);
    out.push_back(c);
  }
  return true;
}

}  // namespace

std::optional<std::vector<std::string>> split_inline_args(std::string_view line) {
  std::vector<std::string> args;
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i == line.size()) return args;
    if (!read_arg(line, i, args.emplace_back())) return std::nullopt;
  }
}

}  // namespace clossyne::frontend
