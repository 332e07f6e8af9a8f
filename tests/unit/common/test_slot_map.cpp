#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>

#include "common/slot_map.hpp"

using clossyne::SlotMap;

TEST_CASE("slot map ids find their value until erased, and never again after reuse") {
  SlotMap<std::string> m;
  const uint64_t a = m.insert("a");
  const uint64_t b = m.insert("b");
  CHECK(a != 0);
  CHECK(a != b);
  CHECK((a >> 63) == 0);
  REQUIRE(m.find(a));
  CHECK(*m.find(a) == "a");
  m.erase(a);
  CHECK(m.find(a) == nullptr);
  const uint64_t c = m.insert("c");  // reuses a's slot under a new generation
  CHECK(static_cast<uint32_t>(c) == static_cast<uint32_t>(a));
  CHECK(c != a);
  CHECK(m.find(a) == nullptr);
  CHECK(*m.find(c) == "c");
  CHECK(m.size() == 2);
  CHECK(m.find(12345) == nullptr);
  CHECK(m.find(0) == nullptr);
}

TEST_CASE("slot map agrees with a reference map through random inserts and erases") {
  SlotMap<int> m;
  std::map<uint64_t, int> ref;
  std::vector<uint64_t> dead;
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    if (ref.empty() || rng() % 3 != 0) {
      const uint64_t id = m.insert(i);
      REQUIRE(ref.count(id) == 0);
      ref[id] = i;
    } else {
      auto it = std::next(ref.begin(), static_cast<long>(rng() % ref.size()));
      m.erase(it->first);
      dead.push_back(it->first);
      ref.erase(it);
    }
  }
  REQUIRE(m.size() == ref.size());
  for (const auto& [id, v] : ref) REQUIRE(*m.find(id) == v);
  for (uint64_t id : dead) REQUIRE(m.find(id) == nullptr);
  std::size_t seen = 0;
  m.for_each([&](uint64_t id, int v) {
    ++seen;
    CHECK(ref.at(id) == v);
  });
  CHECK(seen == ref.size());
}

TEST_CASE("after release, old ids stay dead and new ids are fresh") {
  SlotMap<int> m;
  std::vector<uint64_t> old;
  for (int i = 0; i < 100; ++i) old.push_back(m.insert(i));
  m.release();  // something is live: nothing happens
  CHECK(m.capacity() == 100);
  for (uint64_t id : old) m.erase(id);
  m.release();
  CHECK(m.capacity() == 0);
  for (int i = 0; i < 100; ++i) {
    const uint64_t id = m.insert(i);
    for (uint64_t o : old) REQUIRE(id != o);
  }
  for (uint64_t o : old) CHECK(m.find(o) == nullptr);
}
