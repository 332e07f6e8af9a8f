// Hostile shapes: a list-shaped treap (Treap::list_shaped_for_tests, priorities falling as keys
// rise) of a million keys, depth 999,999, is what crafted keys could build if they knew the seed.
// Every operation must work on it with a stack that does not grow with the depth: the operations
// run on a thread with a 256 KiB stack (the recursive code this replaced needed a frame per level,
// tens of megabytes at this depth, and died on the 8 MiB main stack). Also pins the key paths of a
// normal treap to the figures the recursive code gave, so the iterative code keeps the shape.
#include <pthread.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/hash.hpp"
#include "worker/treap.hpp"

using namespace clossyne;

namespace {

// Keys whose first 4 bytes are i big-endian: byte order is numeric order, and the list-shaped
// priorities (the complemented first 8 bytes) are distinct, so the hash index stays O(1).
std::string deep_key(uint32_t i) {
  std::string k(4, '\0');
  for (int b = 0; b < 4; ++b) k[b] = static_cast<char>((i >> (24 - 8 * b)) & 0xff);
  return k + "-k";
}

// Runs fn on a thread with a small stack and waits for it. Assertions stay on the calling thread
// (Catch2 is not thread-safe): fn records what it saw and the caller checks it.
void run_on_small_stack(const std::function<void()>& fn, std::size_t stack_bytes = 256 * 1024) {
  pthread_attr_t attr;
  REQUIRE(pthread_attr_init(&attr) == 0);
  REQUIRE(pthread_attr_setstacksize(&attr, stack_bytes) == 0);
  pthread_t th;
  auto body = [](void* arg) -> void* {
    (*static_cast<const std::function<void()>*>(arg))();
    return nullptr;
  };
  REQUIRE(pthread_create(&th, &attr, body, const_cast<std::function<void()>*>(&fn)) == 0);
  REQUIRE(pthread_join(th, nullptr) == 0);
  pthread_attr_destroy(&attr);
}

std::string path_digest(const Treap& t, const std::vector<std::string>& keys) {
  uint64_t h = 0;
  for (const auto& k : keys) h = key_hash(t.path(k).turns, h);
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

TEST_CASE("deep treap: a list of 1,000,000 keys survives every operation on a 256 KiB stack") {
  constexpr uint32_t kN = 1'000'000;
  struct Seen {
    uint32_t depth = 0, depth_after_append = 0, left_size = 0, right_size = 0;
    uint32_t left_depth = 0, right_depth = 0, depth_after_join = 0, depth_after_compaction = 0;
    std::size_t size_after_append = 0, scanned = 0, ranged = 0, rank_last = 0;
    std::size_t size_after_erases = 0, size_after_compaction = 0;
    std::string deepest_path, select_last, first_of_right, invariants, invariants_after_split,
        invariants_after_join, invariants_after_compaction;
    bool found_deepest = false, erased_deepest = false, erased_middle = false, erased_root = false,
         middle_gone = false, scan_in_order = true;
    std::string deepest_value;
  } seen;

  run_on_small_stack([&seen] {
    Treap t = Treap::list_shaped_for_tests(42);
    // Descending inserts put each new key at the root (O(1) each); the shape is the same list an
    // ascending insert would build, since the shape depends only on the key set.
    for (uint32_t i = kN; i-- > 0;) t.set(deep_key(i), "v");
    seen.depth = t.max_depth();
    seen.invariants = t.check_invariants();
    const std::string last = deep_key(kN - 1);
    const Treap::PathInfo p = t.path(last);
    seen.found_deepest = p.found;
    seen.deepest_path = p.turns;
    seen.rank_last = t.rank(last);
    seen.select_last = std::string(t.select(kN - 1).value_or("none"));
    seen.deepest_value = std::string(t.find(last).value_or("absent"));

    // Insert at the very bottom: a full walk down the spine.
    t.set(deep_key(kN), "appended");
    seen.size_after_append = t.size();
    seen.depth_after_append = t.max_depth();

    // Erase the deepest key, one in the middle and the root.
    seen.erased_deepest = t.erase(deep_key(kN));
    seen.erased_middle = t.erase(deep_key(kN / 2));
    seen.middle_gone = !t.find(deep_key(kN / 2)).has_value();
    seen.erased_root = t.erase(deep_key(0));
    seen.size_after_erases = t.size();

    // Full scan and a bounded range scan deep down.
    std::string prev;
    t.for_each([&](std::string_view k, std::string_view) {
      if (!prev.empty() && !(prev < k)) seen.scan_in_order = false;
      prev.assign(k);
      ++seen.scanned;
      return true;
    });
    seen.ranged = t.range(deep_key(kN - 1000), std::nullopt, std::nullopt).size();

    // Split in the middle (the cut walks half the spine, then half a million nodes change
    // arenas), then join back (the merge walks the left half's right spine).
    Treap right = t.split(deep_key(kN / 4 * 3));
    seen.left_size = static_cast<uint32_t>(t.size());
    seen.right_size = static_cast<uint32_t>(right.size());
    seen.left_depth = t.max_depth();
    seen.right_depth = right.max_depth();
    seen.first_of_right = std::string(right.select(0).value_or("none"));
    seen.invariants_after_split = t.check_invariants() + right.check_invariants();
    t.join(std::move(right));
    seen.depth_after_join = t.max_depth();
    seen.invariants_after_join = t.check_invariants();

    // Erase from the top until the arena is mostly empty: compaction copies the deep list.
    for (uint32_t i = 1; i < kN / 4 * 3; ++i) t.erase(deep_key(i));
    seen.size_after_compaction = t.size();
    seen.depth_after_compaction = t.max_depth();
    seen.invariants_after_compaction = t.check_invariants();
  });

  CHECK(seen.depth == kN - 1);
  CHECK(seen.invariants.empty());
  CHECK(seen.found_deepest);
  CHECK(seen.deepest_path == std::string(kN - 1, 'R'));
  CHECK(seen.rank_last == kN - 1);
  CHECK(seen.select_last == deep_key(kN - 1));
  CHECK(seen.deepest_value == "v");
  CHECK(seen.size_after_append == kN + 1);
  CHECK(seen.depth_after_append == kN);
  CHECK(seen.erased_deepest);
  CHECK(seen.erased_middle);
  CHECK(seen.middle_gone);
  CHECK(seen.erased_root);
  CHECK(seen.size_after_erases == kN - 2);
  CHECK(seen.scanned == kN - 2);
  CHECK(seen.scan_in_order);
  CHECK(seen.ranged == 1000);
  // Keys 1 .. 3N/4-1 less the middle one go left; 3N/4 .. N-1 go right.
  CHECK(seen.left_size == kN / 4 * 3 - 2);
  CHECK(seen.right_size == kN / 4);
  CHECK(seen.left_depth == kN / 4 * 3 - 3);
  CHECK(seen.right_depth == kN / 4 - 1);
  CHECK(seen.first_of_right == deep_key(kN / 4 * 3));
  CHECK(seen.invariants_after_split.empty());
  CHECK(seen.depth_after_join == kN - 3);
  CHECK(seen.invariants_after_join.empty());
  CHECK(seen.size_after_compaction == kN / 4);
  CHECK(seen.depth_after_compaction == kN / 4 - 1);
  CHECK(seen.invariants_after_compaction.empty());
}

TEST_CASE("deep treap: ascending inserts build the same list, key by key at the bottom") {
  constexpr uint32_t kN = 4000;  // each insert walks the whole spine: O(n^2) steps
  Treap up = Treap::list_shaped_for_tests();
  Treap down = Treap::list_shaped_for_tests();
  std::vector<std::string> keys;
  for (uint32_t i = 0; i < kN; ++i) keys.push_back(deep_key(i));
  for (const auto& k : keys) up.set(k, k);
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) down.set(*it, *it);
  CHECK(up.max_depth() == kN - 1);
  CHECK(up.check_invariants().empty());
  for (uint32_t i = 0; i < kN; i += 97) {
    INFO("key " << i);
    CHECK(up.path(keys[i]).turns == std::string(i, 'R'));
    CHECK(down.path(keys[i]).turns == up.path(keys[i]).turns);
  }
}

TEST_CASE("deep treap: random churn with splits and joins agrees with a reference map") {
  // List-shaped and normal treaps alike: sets, overwrites, erases, splits, joins and range scans
  // against std::map, with the full invariant check (order, heap, subtree sizes) along the way.
  for (bool list : {true, false}) {
    INFO((list ? "list-shaped" : "seeded"));
    std::mt19937 rng(list ? 11 : 12);
    Treap t = list ? Treap::list_shaped_for_tests() : Treap(99);
    std::map<std::string, std::string> model;
    auto some_key = [&rng] { return deep_key(static_cast<uint32_t>(rng() % 3000)); };
    for (int step = 0; step < 20000; ++step) {
      const unsigned what = rng() % 10;
      const std::string k = some_key();
      if (what < 5) {
        const std::string v = std::to_string(rng() % 1000) + std::string(rng() % 3, 'x');
        CHECK(t.set(k, v) == (model.count(k) == 0));
        model[k] = v;
      } else if (what < 8) {
        CHECK(t.erase(k) == (model.erase(k) == 1));
      } else if (what == 8) {
        Treap right = t.split(k);
        CHECK(t.size() ==
              static_cast<std::size_t>(std::distance(model.begin(), model.lower_bound(k))));
        if (!right.empty()) CHECK(std::string(*right.select(0)) == model.lower_bound(k)->first);
        CHECK(right.check_invariants().empty());
        t.join(std::move(right));
      } else {
        const std::string hi = some_key();
        const uint64_t limit = rng() % 50;
        std::vector<KV> want;
        for (auto it = model.lower_bound(k);
             it != model.end() && it->first <= hi && want.size() < limit; ++it)
          want.emplace_back(it->first, it->second);
        CHECK(t.range(k, hi, limit) == want);
      }
      if (step % 1000 == 0) REQUIRE(t.check_invariants().empty());
    }
    REQUIRE(t.check_invariants().empty());
    REQUIRE(t.size() == model.size());
    std::size_t i = 0;
    bool same = true;
    t.for_each([&](std::string_view k, std::string_view v) {
      auto it = std::next(model.begin(), static_cast<long>(i++));
      same = same && it->first == k && it->second == v;
      return true;
    });
    CHECK(same);
    for (const auto& [k, v] : model)
      CHECK(t.rank(k) == static_cast<std::size_t>(std::distance(model.begin(), model.find(k))));
  }
}

TEST_CASE("deep treap: key paths are the ones the recursive treap gave") {
  // Digests of every key's path, recorded from the recursive implementation (same keys, seeds and
  // operations): the loops must build exactly the same trees.
  std::vector<std::string> keys;
  for (int i = 0; i < 5000; ++i) keys.push_back("key:" + std::to_string(i * 7919 % 100003));
  Treap t(42);
  for (const auto& k : keys) t.set(k, "v");
  CHECK(path_digest(t, keys) == "0ef71d676257cd79");
  for (int i = 0; i < 5000; i += 3) t.erase(keys[i]);
  CHECK(path_digest(t, keys) == "81c9ec2ff1377a35");
  Treap right = t.split("key:5");
  CHECK(path_digest(t, keys) + path_digest(right, keys) == "1bca53086d4233fe77fd5396b9cc7ebd");
  t.join(std::move(right));
  CHECK(path_digest(t, keys) == "81c9ec2ff1377a35");
  Treap other(0xfedcba9876543210ull);
  for (const auto& k : keys) other.set(k, k);
  CHECK(path_digest(other, keys) == "bd7656908eef123b");
}
