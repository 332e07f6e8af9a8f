// The glob matcher against Redis's stringmatchlen behaviour, edge cases included.
#include <catch2/catch.hpp>
#include <chrono>

#include "frontend/glob_match.hpp"

using namespace clossyne::frontend;

TEST_CASE("glob: stars, question marks and literals") {
  CHECK(glob_match("*", "abc"));
  CHECK_FALSE(glob_match("*", ""));  // as Redis: KEYS * special-cases "*" itself
  CHECK(glob_match("", ""));
  CHECK_FALSE(glob_match("", "a"));
  CHECK(glob_match("a*", "abc"));
  CHECK(glob_match("a*", "a"));
  CHECK(glob_match("*c", "abc"));
  CHECK_FALSE(glob_match("*c", "abd"));
  CHECK(glob_match("h*llo", "heeeello"));
  CHECK(glob_match("h*llo*", "hllo"));
  CHECK(glob_match("a**b", "axxb"));
  CHECK(glob_match("a?c", "abc"));
  CHECK_FALSE(glob_match("a?c", "ac"));
  CHECK_FALSE(glob_match("a?c", "abbc"));
  CHECK(glob_match("user:*:name", "user:42:name"));
  CHECK_FALSE(glob_match("user:*:name", "user:42:age"));
  CHECK(glob_match(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
}

TEST_CASE("glob: sets and ranges") {
  CHECK(glob_match("h[ae]llo", "hello"));
  CHECK(glob_match("h[ae]llo", "hallo"));
  CHECK_FALSE(glob_match("h[ae]llo", "hillo"));
  CHECK(glob_match("h[^e]llo", "hallo"));
  CHECK_FALSE(glob_match("h[^e]llo", "hello"));
  CHECK(glob_match("h[a-b]llo", "hbllo"));
  CHECK_FALSE(glob_match("h[a-b]llo", "hcllo"));
  CHECK(glob_match("[c-a]", "b"));  // reversed range, as Redis swaps the ends
  CHECK(glob_match("[\\]]", "]"));
  CHECK(glob_match("[\\-]", "-"));
  CHECK_FALSE(glob_match("[a-]", "-"));  // as Redis: "a-]" is read as the range a..]
  CHECK(glob_match("[a-]", "^"));
  CHECK(glob_match("a[b", "ab"));  // unterminated set runs to the end of the pattern
  CHECK_FALSE(glob_match("a[", "a"));
  CHECK_FALSE(glob_match("[", "a"));
}

TEST_CASE("glob: escapes and case folding") {
  CHECK(glob_match("\\*", "*"));
  CHECK_FALSE(glob_match("\\*", "a"));
  CHECK(glob_match("a\\?", "a?"));
  CHECK_FALSE(glob_match("a\\?", "ab"));
  CHECK(glob_match("a\\", "a\\"));  // a lone trailing backslash is literal
  CHECK(glob_match("MaxClients", "maxclients", /*nocase=*/true));
  CHECK_FALSE(glob_match("MaxClients", "maxclients"));
  CHECK(glob_match("[A-C]x", "bx", true));
}

TEST_CASE("glob: hostile patterns end quickly") {
  const std::string subject(60, 'a');
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(glob_match("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", subject));
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "*a";
  CHECK_FALSE(glob_match(deep, std::string(6000, 'a')));  // deeper than kMaxGlobNesting
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
}

TEST_CASE("glob: literal prefix and its key range") {
  CHECK(glob_literal_prefix("user:*") == "user:");
  CHECK(glob_literal_prefix("a\\*b?c") == "a*b");
  CHECK(glob_literal_prefix("*") == "");
  CHECK(glob_literal_prefix("abc") == "abc");
  CHECK(glob_literal_prefix("ab[c]") == "ab");
  CHECK(prefix_end("ab") == std::optional<std::string>("ac"));
  CHECK(prefix_end("a\xff") == std::optional<std::string>("b"));
  CHECK_FALSE(prefix_end("\xff\xff").has_value());
  CHECK_FALSE(prefix_end("").has_value());
}
