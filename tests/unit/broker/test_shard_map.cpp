#include <catch2/catch.hpp>

#include "broker/shard_map.hpp"

using namespace clossyne;
using namespace clossyne::broker;

namespace {
ShardInfo info(uint32_t id, std::string hi, uint64_t epoch, std::string lo = {}) {
  ShardInfo s;
  s.id = id;
  s.lo = std::move(lo);
  s.hi = std::move(hi);
  s.epoch = epoch;
  s.seed = 5;
  return s;
}
}  // namespace

TEST_CASE("split points make ordered half-open shards covering every key") {
  ShardMap map;
  map.create({"g", "m"}, 7);
  REQUIRE(map.size() == 3);
  CHECK(map.at(0).info.lo.empty());
  CHECK(*map.at(0).info.hi == "g");
  CHECK_FALSE(map.at(2).info.hi.has_value());
  CHECK(map.find("") == 0);
  CHECK(map.find("a") == 0);
  CHECK(map.find("g") == 1);
  CHECK(map.find("lzz") == 1);
  CHECK(map.find("m") == 2);
  CHECK(map.find("\xff\xff") == 2);
  for (std::size_t i = 0; i < map.size(); ++i) CHECK(map.at(i).info.seed == 7);
}

TEST_CASE("overlapping shards of a closed range come in key order") {
  ShardMap map;
  map.create({"g", "m"}, 1);
  CHECK(map.overlapping(std::string("a"), std::string("b")) == std::vector<std::size_t>{0});
  CHECK(map.overlapping(std::string("a"), std::string("g")) == std::vector<std::size_t>{0, 1});
  CHECK(map.overlapping(std::string("h"), std::nullopt) == std::vector<std::size_t>{1, 2});
  CHECK(map.overlapping(std::nullopt, std::nullopt).size() == 3);
  CHECK(map.overlapping(std::string("m"), std::string("z")) == std::vector<std::size_t>{2});
}

TEST_CASE("an existing cluster's map starts as one unavailable gap and is filled by splicing") {
  ShardMap map;
  map.create_unknown();
  REQUIRE(map.size() == 1);
  CHECK(map.at(0).gap());
  CHECK_FALSE(map.complete());

  ShardEntry middle;
  middle.info = info(4, "m", 3, "g");
  middle.owner = "w1";
  auto [first, last] = map.overlap("g", std::string("m"));
  CHECK(first == 0);
  CHECK(last == 1);
  map.splice(first, last, middle);
  REQUIRE(map.size() == 3);  // gap [-inf, g), shard 4 [g, m), gap [m, +inf)
  CHECK(map.at(0).gap());
  CHECK(*map.at(0).info.hi == "g");
  CHECK(map.at(1).info.id == 4);
  CHECK(map.at(2).gap());
  CHECK(map.at(2).info.lo == "m");
  CHECK_FALSE(map.at(2).info.hi.has_value());
  CHECK(map.find("h") == 1);
  CHECK(map.find("a") == 0);
  CHECK(map.find("z") == 2);
  CHECK_FALSE(map.complete());
}

TEST_CASE("a newer shard replaces what it overlaps, leftovers become gaps that merge") {
  ShardMap map;
  map.create({"g", "m"}, 1);  // [-inf,g) 1, [g,m) 2, [m,+inf) 3
  for (auto& e : map.entries()) e.owner = "w1";
  CHECK(map.complete());
  ShardEntry wide;
  wide.info = info(9, "h", 5, "c");
  wide.owner = "w2";
  auto [first, last] = map.overlap("c", std::string("h"));
  CHECK(first == 0);
  CHECK(last == 2);
  map.splice(first, last, wide);
  // gap [-inf, c), 9 [c, h), gap [h, m), 3 [m, +inf)
  REQUIRE(map.size() == 4);
  CHECK(map.at(0).gap());
  CHECK(map.at(1).info.id == 9);
  CHECK(map.at(2).gap());
  CHECK(map.at(2).info.lo == "h");
  CHECK(*map.at(2).info.hi == "m");
  CHECK(map.at(3).info.id == 3);
  CHECK(map.max_epoch() == 5);

  // Gaps next to each other become one after the shard between them is replaced by a gap.
  ShardEntry gap;
  gap.info = info(0, "h", 0, "c");
  map.splice(1, 2, gap);
  map.merge_gaps();
  REQUIRE(map.size() == 2);
  CHECK(map.at(0).gap());
  CHECK(*map.at(0).info.hi == "m");
  CHECK(map.at(1).info.id == 3);
}
