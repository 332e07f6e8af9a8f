// The treap's hash index must agree with the tree through every kind of change.
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>

#include "common/hash.hpp"
#include "worker/treap.hpp"

using clossyne::Treap;

namespace {
void check_agrees(const Treap& t, const std::map<std::string, std::string>& ref) {
  REQUIRE(t.size() == ref.size());
  for (const auto& [k, v] : ref) {
    const std::optional<std::string_view> got = t.find(k);
    REQUIRE(got.has_value());
    REQUIRE(*got == v);
  }
  REQUIRE(t.check_invariants().empty());
}
}  // namespace

TEST_CASE("index: random sets, overwrites and deletes agree with a reference map") {
  Treap t(42);
  std::map<std::string, std::string> ref;
  std::mt19937 rng(7);
  for (int i = 0; i < 40000; ++i) {
    std::string k = std::to_string(rng() % 3000);
    k.insert(k.begin(), 'k');
    switch (rng() % 3) {
      case 0:
      case 1: {
        std::string v = std::to_string(i);
        CHECK(t.set(k, v) == (ref.count(k) == 0));
        ref[k] = v;
        break;
      }
      default:
        CHECK(t.erase(k) == (ref.erase(k) == 1));
    }
    if (i % 5000 == 0) check_agrees(t, ref);
  }
  check_agrees(t, ref);
  CHECK(t.find("absent") == std::nullopt);
  CHECK_FALSE(t.erase("absent"));
}

TEST_CASE("index: split and join keep both halves' lookups right") {
  Treap t(3);
  std::map<std::string, std::string> ref;
  for (int i = 0; i < 5000; ++i) {
    std::string k = std::to_string(i);
    k.insert(0, "key");
    t.set(k, k);
    ref[k] = k;
  }
  for (const char* at : {"key2", "key7", "key0", "key99999"}) {
    Treap right = t.split(at);
    std::map<std::string, std::string> lo(ref.begin(), ref.lower_bound(at));
    std::map<std::string, std::string> hi(ref.lower_bound(at), ref.end());
    check_agrees(t, lo);
    check_agrees(right, hi);
    for (const auto& [k, v] : hi) CHECK(t.find(k) == std::nullopt);
    t.join(std::move(right));
    check_agrees(t, ref);
  }
}

TEST_CASE("index: deleting most keys (arena compaction) keeps lookups right") {
  Treap t(9);
  std::map<std::string, std::string> ref;
  for (int i = 0; i < 20000; ++i) {
    t.set(std::to_string(i), "v");
    ref[std::to_string(i)] = std::string(1, 'v');
  }
  for (int i = 0; i < 20000; ++i) {
    if (i % 10 == 0) continue;
    t.erase(std::to_string(i));
    ref.erase(std::to_string(i));
  }
  check_agrees(t, ref);
}

TEST_CASE("prefetching is safe for any hash and changes nothing") {
  Treap empty(3);
  for (int step = 0; step < 3; ++step) empty.prefetch(0x123456789abcdefull, step);
  CHECK(empty.empty());

  Treap t(3);
  t.set("present", "v");
  t.set("", "");  // a node with no key+value block
  t.set("gone", "x");
  CHECK(t.erase("gone"));
  for (std::string_view k : {"present", "", "gone", "never"}) {
    for (int step = 0; step < 3; ++step) t.prefetch(clossyne::key_hash(k, t.seed()), step);
  }
  for (uint64_t h : {0ull, ~0ull, 0xffffffff00000000ull}) {
    for (int step = 0; step < 3; ++step) t.prefetch(h, step);
  }
  CHECK(t.size() == 2);
  CHECK(*t.find("present") == "v");
  CHECK(t.find("gone") == std::nullopt);
  CHECK(t.check_invariants().empty());
}
