#include <catch2/catch.hpp>

#include "frontend/cursor_table.hpp"

using namespace clossyne::frontend;

TEST_CASE("cursors are non-zero, distinct, and name their key") {
  CursorTable t;
  const uint64_t a = t.put("apple");
  const uint64_t b = t.put("banana");
  CHECK(a != 0);
  CHECK(b != 0);
  CHECK(a != b);
  CHECK(t.get(a) == std::optional<std::string>("apple"));
  CHECK(t.get(b) == std::optional<std::string>("banana"));
  CHECK(t.get(a) == std::optional<std::string>("apple"));  // a retried call still works
  CHECK_FALSE(t.get(0).has_value());
  CHECK_FALSE(t.get(12345).has_value());
}

TEST_CASE("the table is bounded and forgets the least recently used cursor") {
  CursorTable t(3);
  const uint64_t a = t.put("a");
  const uint64_t b = t.put("b");
  const uint64_t c = t.put("c");
  CHECK(t.get(a).has_value());  // a is now the most recent; b the least
  const uint64_t d = t.put("d");
  CHECK(t.size() == 3);
  CHECK_FALSE(t.get(b).has_value());
  CHECK(t.get(a).has_value());
  CHECK(t.get(c).has_value());
  CHECK(t.get(d) == std::optional<std::string>("d"));
}
