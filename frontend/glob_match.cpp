#include "glob_match.hpp"

#include <cctype>
#include <utility>

namespace clossyne::frontend {
namespace {

// Pattern and subject as cursors over views, so no read goes past either end.
struct Cursor {
  std::string_view s;
  char at(std::size_t i = 0) const { return i < s.size() ? s[i] : '\0'; }
  void skip(std::size_t n = 1) { s.remove_prefix(n); }
};

int fold(int c, bool nocase) {
  return nocase ? std::tolower(c) : c;
}

bool same(char a, char b, bool nocase) {
  return fold(static_cast<unsigned char>(a), nocase) == fold(static_cast<unsigned char>(b), nocase);
}

bool match_impl(Cursor p, Cursor s, bool nocase, bool& skip_longer, int nesting);

// '*': try the rest of the pattern at every position of the subject (Redis's skipLongerMatches:
// once the rest fails everywhere, earlier stars need not try longer runs).
bool match_star(Cursor p, Cursor s, bool nocase, bool& skip_longer, int nesting) {
  while (p.s.size() >= 2 && p.at(1) == '*') p.skip();
  if (p.s.size() == 1) return true;
  if (nesting >= kMaxGlobNesting) return false;
  Cursor rest{p.s.substr(1)};
  while (!s.s.empty()) {
    if (match_impl(rest, s, nocase, skip_longer, nesting + 1)) return true;
    if (skip_longer) return false;
    s.skip();
  }
  skip_longer = true;
  return false;
}

// '[...]' at p (p.at(0) == '['); on return p is at the set's closing ']' (or its last byte).
bool match_set(Cursor& p, char c, bool nocase) {
  p.skip();
  const bool negate = p.at() == '^';
  if (negate) p.skip();
  bool match = false;
  while (true) {
    if (p.s.empty()) {
      // Unterminated: Redis steps back so the shared advance lands at the end.
      p.s = std::string_view(p.s.data() - 1, 1);
      break;
    }
    if (p.at() == '\\' && p.s.size() >= 2) {
      p.skip();
      if (p.at() == c) match = true;
    } else if (p.at() == ']') {
      break;
    } else if (p.s.size() >= 3 && p.at(1) == '-') {
      int start = static_cast<signed char>(p.at()), end = static_cast<signed char>(p.at(2));
      int ch = static_cast<signed char>(c);
      if (start > end) std::swap(start, end);
      if (nocase) start = std::tolower(start), end = std::tolower(end), ch = std::tolower(ch);
      p.skip(2);
      if (ch >= start && ch <= end) match = true;
    } else if (same(p.at(), c, nocase)) {
      match = true;
    }
    p.skip();
  }
  return negate ? !match : match;
}

bool match_impl(Cursor p, Cursor s, bool nocase, bool& skip_longer, int nesting) {
  while (!p.s.empty() && !s.s.empty()) {
    switch (p.at()) {
      case '*':
        return match_star(p, s, nocase, skip_longer, nesting);
      case '?':
        break;
      case '[':
        if (!match_set(p, s.at(), nocase)) return false;
        break;
      case '\\':
        if (p.s.size() >= 2) p.skip();
        [[fallthrough]];
      default:
        if (!same(p.at(), s.at(), nocase)) return false;
        break;
    }
    s.skip();
    p.skip();
    if (s.s.empty()) {
      while (p.at() == '*' && !p.s.empty()) p.skip();
      break;
    }
  }
  return p.s.empty() && s.s.empty();
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view str, bool nocase) {
  bool skip_longer = false;
  return match_impl(Cursor{pattern}, Cursor{str}, nocase, skip_longer, 0);
}

std::string glob_literal_prefix(std::string_view pattern) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '*' || c == '?' || c == '[') break;
    if (c == '\\' && i + 1 < pattern.size()) ++i;
    out.push_back(pattern[i]);
  }
  return out;
}

std::optional<std::string> prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return std::nullopt;
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

}  // namespace clossyne::frontend
