#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "worker/treap.hpp"

using namespace clossyne;

namespace {

std::string seq_key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "key%08d", i);
  return buf;
}

std::vector<std::string> keys_of(const Treap& t) {
  std::vector<std::string> out;
  t.for_each([&out](std::string_view k, std::string_view) {
    out.emplace_back(k);
    return true;
  });
  return out;
}

std::vector<std::string> keys_of(const std::vector<KV>& items) {
  std::vector<std::string> out;
  for (const auto& kv : items) out.push_back(kv.first);
  return out;
}

// Erases one key whose node has `children` children and checks that the rest is intact.
void erase_node_with(int children) {
  Treap t(7);
  std::map<std::string, std::string> model;
  for (int i = 0; i < 200; ++i) {
    t.set(seq_key(i), std::to_string(i));
    model[seq_key(i)] = std::to_string(i);
  }
  std::string victim;
  for (const auto& [k, v] : model) {
    if (t.child_count(k) == children) {
      victim = k;
      break;
    }
  }
  REQUIRE_FALSE(victim.empty());
  const std::string path_before = t.path(victim).turns;
  REQUIRE(t.erase(victim));
  model.erase(victim);
  CHECK(t.find(victim) == std::nullopt);
  CHECK_FALSE(t.path(victim).found);
  // An absent key reports the empty slot where it would go; a leaf leaves its own slot behind.
  if (children == 0) CHECK(t.path(victim).turns == path_before);
  CHECK(t.check_invariants().empty());
  CHECK(t.size() == model.size());
  std::vector<std::string> expected;
  for (const auto& [k, v] : model) {
    expected.push_back(k);
    const std::optional<std::string_view> got = t.find(k);
    REQUIRE(got.has_value());
    CHECK(*got == v);
  }
  CHECK(keys_of(t) == expected);
}

}  // namespace

TEST_CASE("treap: set, find, overwrite and erase") {
  Treap t(1);
  CHECK(t.empty());
  CHECK(t.find("a") == std::nullopt);
  CHECK(t.set("a", "1"));
  CHECK(t.set("b", "2"));
  CHECK_FALSE(t.set("a", "3"));
  CHECK(t.size() == 2);
  REQUIRE(t.find("a") != std::nullopt);
  CHECK(*t.find("a") == "3");
  CHECK(*t.find("b") == "2");
  CHECK(t.erase("a"));
  CHECK_FALSE(t.erase("a"));
  CHECK(t.find("a") == std::nullopt);
  CHECK(t.size() == 1);
  CHECK(t.erase("b"));
  CHECK(t.empty());
  CHECK(t.max_depth() == 0);
  CHECK(t.check_invariants().empty());
}

TEST_CASE("treap: empty key and binary keys are ordinary keys") {
  Treap t(2);
  const std::string zero("\0", 1), ff("\xff", 1), mid("a\0b", 3);
  t.set("", "empty");
  t.set(zero, "zero");
  t.set(ff, "ff");
  t.set(mid, "mid");
  t.set("a", "a");
  CHECK(keys_of(t) == std::vector<std::string>{"", zero, "a", mid, ff});
  CHECK(*t.find("") == "empty");
  CHECK(*t.find(mid) == "mid");
  CHECK(t.find(std::string("a\0", 2)) == std::nullopt);
}

TEST_CASE("treap: deleting a leaf") {
  erase_node_with(0);
}
TEST_CASE("treap: deleting a node with one child") {
  erase_node_with(1);
}
TEST_CASE("treap: deleting a node with two children") {
  erase_node_with(2);
}

TEST_CASE("treap: deleting the root keeps every other key") {
  Treap t(3);
  for (int i = 0; i < 100; ++i) t.set(seq_key(i), "x");
  std::string root;
  for (int i = 0; i < 100; ++i) {
    if (t.path(seq_key(i)).depth == 0) root = seq_key(i);
  }
  REQUIRE_FALSE(root.empty());
  CHECK(t.erase(root));
  CHECK(t.size() == 99);
  CHECK(t.check_invariants().empty());
}

TEST_CASE("treap: sequential inserts stay shallow for several seeds") {
  const int n = 100000;
  const double bound = 3 * std::log2(n);
  for (uint64_t seed : {0ull, 1ull, 42ull, 0xdeadbeefull, 0xffffffffffffffffull}) {
    Treap t(seed);
    for (int i = 0; i < n; ++i) t.set(seq_key(i), "v");
    INFO("seed " << seed << " depth " << t.max_depth());
    CHECK(t.size() == static_cast<std::size_t>(n));
    CHECK(t.max_depth() <= bound);
    WARN("max depth for 100k sequential keys, seed " << seed << ": " << t.max_depth());
  }
}

TEST_CASE("treap: the shape depends only on the key set and the seed") {
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) keys.push_back(seq_key(i * 7919 % 10007));
  Treap ascending(99), shuffled(99), descending(99);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& k : sorted) ascending.set(k, "a");
  std::mt19937 rng(5);
  std::shuffle(keys.begin(), keys.end(), rng);
  for (const auto& k : keys) shuffled.set(k, "s");
  for (auto it = sorted.rbegin(); it != sorted.rend(); ++it) descending.set(*it, "d");
  // Insert and delete extra keys too: deletes must also leave the canonical shape.
  for (int i = 0; i < 300; ++i) shuffled.set("extra" + std::to_string(i), "e");
  for (int i = 0; i < 300; ++i) shuffled.erase("extra" + std::to_string(i));
  for (const auto& k : sorted) {
    const auto a = ascending.path(k);
    CHECK(a.found);
    CHECK(shuffled.path(k).turns == a.turns);
    CHECK(descending.path(k).turns == a.turns);
  }
  CHECK(ascending.path("absent").turns == shuffled.path("absent").turns);
}

TEST_CASE("treap: path reports turns and depth") {
  Treap t(4);
  CHECK(t.path("x").depth == 0);
  CHECK_FALSE(t.path("x").found);
  for (int i = 0; i < 50; ++i) t.set(seq_key(i), "v");
  uint32_t deepest = 0;
  for (int i = 0; i < 50; ++i) {
    const auto p = t.path(seq_key(i));
    CHECK(p.found);
    CHECK(p.depth == p.turns.size());
    CHECK(p.turns.find_first_not_of("LR") == std::string::npos);
    deepest = std::max(deepest, p.depth);
  }
  CHECK(deepest == t.max_depth());
}

TEST_CASE("treap: range scans") {
  Treap t(5);
  for (int i = 0; i < 100; ++i) t.set(seq_key(i), std::to_string(i));
  auto keys = [&](Treap::Bound a, Treap::Bound b, std::optional<uint64_t> limit = std::nullopt) {
    return keys_of(t.range(a, b, limit));
  };
  SECTION("both bounds inclusive") {
    CHECK(keys(seq_key(10), seq_key(12)) ==
          std::vector<std::string>{seq_key(10), seq_key(11), seq_key(12)});
    CHECK(keys(seq_key(5), seq_key(5)) == std::vector<std::string>{seq_key(5)});
  }
  SECTION("bounds between keys") {
    CHECK(keys("key00000010a", "key00000012a") ==
          std::vector<std::string>{seq_key(11), seq_key(12)});
  }
  SECTION("open bounds") {
    CHECK(keys(std::nullopt, seq_key(2)) ==
          std::vector<std::string>{seq_key(0), seq_key(1), seq_key(2)});
    CHECK(keys(seq_key(98), std::nullopt) == std::vector<std::string>{seq_key(98), seq_key(99)});
    CHECK(keys(std::nullopt, std::nullopt).size() == 100);
  }
  SECTION("limits") {
    CHECK(keys(seq_key(50), std::nullopt, 3) ==
          std::vector<std::string>{seq_key(50), seq_key(51), seq_key(52)});
    CHECK(keys(std::nullopt, std::nullopt, 0).empty());
    CHECK(keys(std::nullopt, std::nullopt, 1000).size() == 100);
  }
  SECTION("empty ranges") {
    CHECK(keys(seq_key(12), seq_key(10)).empty());
    CHECK(keys("zzz", std::nullopt).empty());
    CHECK(keys(std::nullopt, "a").empty());
    CHECK(Treap(1).range(std::nullopt, std::nullopt).empty());
  }
  SECTION("values come with their keys") {
    const auto items = t.range(seq_key(7), seq_key(7));
    REQUIRE(items.size() == 1);
    CHECK(items[0].second == "7");
  }
  SECTION("the visitor can stop early") {
    int seen = 0;
    t.range(std::nullopt, std::nullopt, std::nullopt,
            [&](std::string_view, std::string_view) { return ++seen < 4; });
    CHECK(seen == 4);
  }
}

TEST_CASE("treap: range scans over binary keys") {
  Treap t(6);
  const std::string a0("a\0", 2), a00("a\0\0", 3), aff("a\xff", 2), ff("\xff\xff", 2);
  for (const auto& k : {std::string("a"), a0, a00, aff, std::string("b"), ff}) t.set(k, "v");
  CHECK(keys_of(t.range(a0, aff)) == std::vector<std::string>{a0, a00, aff});
  CHECK(keys_of(t.range(std::string("\xff", 1), std::nullopt)) == std::vector<std::string>{ff});
  CHECK(keys_of(t.range(std::string("a"), std::string("a"))) == std::vector<std::string>{"a"});
}

TEST_CASE("treap: split and join round trip") {
  for (int cut : {0, 1, 250, 500, 999, 1000}) {
    Treap t(8);
    for (int i = 0; i < 1000; ++i) t.set(seq_key(i), std::to_string(i));
    std::vector<std::string> paths;
    for (int i = 0; i < 1000; ++i) paths.push_back(t.path(seq_key(i)).turns);

    Treap right = t.split(seq_key(cut));
    INFO("cut " << cut);
    CHECK(t.size() == static_cast<std::size_t>(cut));
    CHECK(right.size() == static_cast<std::size_t>(1000 - cut));
    CHECK(t.check_invariants().empty());
    CHECK(right.check_invariants().empty());
    if (cut > 0) CHECK(keys_of(t).back() == seq_key(cut - 1));
    if (cut < 1000) CHECK(keys_of(right).front() == seq_key(cut));
    CHECK(right.seed() == t.seed());

    t.join(std::move(right));
    CHECK(t.size() == 1000);
    CHECK(t.check_invariants().empty());
    for (int i = 0; i < 1000; ++i) {
      REQUIRE(t.find(seq_key(i)) != std::nullopt);
      CHECK(*t.find(seq_key(i)) == std::to_string(i));
      CHECK(t.path(seq_key(i)).turns == paths[i]);  // the same key set: the same shape
    }
  }
}

TEST_CASE("treap: split at a key between keys, and join into an empty treap") {
  Treap t(9);
  for (int i = 0; i < 100; i += 2) t.set(seq_key(i), "v");
  Treap right = t.split(seq_key(51));
  CHECK(keys_of(t).back() == seq_key(50));
  CHECK(keys_of(right).front() == seq_key(52));
  Treap empty(9);
  empty.join(std::move(t));
  empty.join(std::move(right));
  CHECK(empty.size() == 50);
  CHECK(empty.check_invariants().empty());
}

TEST_CASE("treap: subtree sizes stay consistent under random churn") {
  Treap t(10);
  std::map<std::string, std::string> model;
  std::mt19937 rng(11);
  for (int step = 0; step < 20000; ++step) {
    const std::string k = seq_key(static_cast<int>(rng() % 3000));
    if (rng() % 3 == 0) {
      CHECK(t.erase(k) == (model.erase(k) == 1));
    } else {
      CHECK(t.set(k, "v") == model.emplace(k, "v").second);
    }
  }
  CHECK(t.check_invariants().empty());
  CHECK(t.size() == model.size());
  CHECK(t.rank(seq_key(1500)) ==
        static_cast<std::size_t>(std::distance(model.begin(), model.lower_bound(seq_key(1500)))));
  CHECK(t.memory_bytes() > 0);
}

TEST_CASE("treap: memory follows the key count after mass deletes") {
  Treap t(12);
  for (int i = 0; i < 20000; ++i) t.set(seq_key(i), std::string(100, 'v'));
  const std::size_t full = t.memory_bytes();
  for (int i = 0; i < 19900; ++i) t.erase(seq_key(i));
  CHECK(t.size() == 100);
  CHECK(t.memory_bytes() < full / 10);
  CHECK(t.check_invariants().empty());
}

namespace {

// Bytes 0..255 repeated, shifted by `salt`: binary, with zeros and 0xff inside.
std::string binary_bytes(std::size_t n, int salt) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i + static_cast<std::size_t>(salt)) & 0xff);
  return s;
}

}  // namespace

TEST_CASE("treap: keys and values of every size round-trip, binary bytes included") {
  const std::vector<std::size_t> sizes{0, 1, 15, 16, 17, 1u << 20};
  Treap t(13);
  std::map<std::string, std::string> model;
  auto check_all = [&](const Treap& tr, const std::map<std::string, std::string>& m) {
    REQUIRE(tr.size() == m.size());
    for (const auto& [k, v] : m) {
      const auto got = tr.find(k);
      REQUIRE(got.has_value());
      CHECK(*got == v);
    }
    std::map<std::string, std::string> scanned;
    tr.for_each([&](std::string_view k, std::string_view v) {
      scanned.emplace(std::string(k), std::string(v));
      return true;
    });
    CHECK(scanned == m);
    const auto items = tr.range(std::nullopt, std::nullopt);
    CHECK(std::vector<KV>(m.begin(), m.end()) == items);
    CHECK(tr.check_invariants().empty());
  };
  int salt = 0;
  for (std::size_t ks : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{16},
                         std::size_t{17}, std::size_t{300}}) {
    for (std::size_t vs : sizes) {
      std::string k = binary_bytes(ks, salt);
      if (ks > 0) k[0] = static_cast<char>(salt);  // distinct keys of equal length
      const std::string v = binary_bytes(vs, salt + 7);
      ++salt;
      CHECK(t.set(k, v) == model.emplace(k, v).second);
      model[k] = v;
    }
  }
  check_all(t, model);

  SECTION("overwrites with every size, the same size included") {
    int n = 0;
    for (auto& [k, v] : model) {
      const std::size_t vs = sizes[static_cast<std::size_t>(n++) % sizes.size()];
      const std::string nv = binary_bytes(vs, n + 100);
      CHECK_FALSE(t.set(k, nv));
      v = nv;
    }
    check_all(t, model);
    for (auto& [k, v] : model) {
      std::string same(v.size(), '\x5a');
      CHECK_FALSE(t.set(k, same));  // same length: rewritten in place
      v = same;
    }
    check_all(t, model);
  }
  SECTION("a value taken from the treap itself can be written back") {
    const std::string big = model.rbegin()->first;
    const std::string other = model.begin()->first;
    const std::string big_value(*t.find(big));
    t.set(other, *t.find(big));  // a view into another node's block
    model[other] = big_value;
    const std::string tail(t.find(other)->substr(1));
    t.set(other, t.find(other)->substr(1));  // into the node's own block, shorter
    model[other] = tail;
    t.set(other, *t.find(other));  // into its own block, the same length
    check_all(t, model);
  }
  SECTION("split and join keep every byte") {
    for (const auto& [cut, _] : model) {
      Treap right = t.split(cut);
      std::map<std::string, std::string> lo(model.begin(), model.find(cut));
      std::map<std::string, std::string> hi(model.find(cut), model.end());
      check_all(t, lo);
      check_all(right, hi);
      t.join(std::move(right));
      check_all(t, model);
    }
  }
  SECTION("erase frees them") {
    for (const auto& [k, v] : model) CHECK(t.erase(k));
    CHECK(t.empty());
    CHECK(t.check_invariants().empty());
  }
}

TEST_CASE("treap: memory per key for 16-byte keys and 32-byte values") {
  // One arena node (32 bytes, at capacity), one 64-byte malloc chunk for the 48 key+value bytes,
  // and the hash index (8 bytes a slot, load 3/8..3/4). Was ~185 bytes with std::string fields.
  const int n = 100000;
  Treap t(14);
  char key[32], value[40];
  for (int i = 0; i < n; ++i) {
    std::snprintf(key, sizeof key, "key:%012d", i);
    std::snprintf(value, sizeof value, "v%031d", i);
    t.set(std::string_view(key, 16), std::string_view(value, 32));
  }
  const double per_key = static_cast<double>(t.memory_bytes()) / n;
  WARN("treap memory_bytes per 16+32-byte key at 100k keys: " << per_key);
  CHECK(per_key < 130);
  CHECK(per_key > 64 + 32);  // the estimate counts the nodes and their blocks at least
}
