#include <catch2/catch.hpp>

#include "broker/shard_map.hpp"

using namespace clossyne;
using namespace clossyne::broker;

namespace {
ShardInfo info(uint32_t id, std::string hi, uint64_t epoch) {
  ShardInfo s;
  s.id = id;
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

TEST_CASE("adopting reported shards keeps the highest epoch and fills gaps") {
  ShardMap map;
  std::vector<std::pair<std::string, ShardInfo>> reported{
      {"w1", info(1, "m", 3)},
      {"w2", info(1, "m", 4)},  // newer epoch of the same shard
  };
  auto created = map.adopt(reported, 9);
  REQUIRE(map.size() == 2);
  CHECK(map.at(0).owner == "w2");
  CHECK(map.at(0).info.epoch == 4);
  CHECK(created.size() == 1);
  CHECK(map.at(1).info.lo == "m");
  CHECK(map.at(1).owner.empty());
  CHECK(map.at(1).info.id != 1);
  CHECK(map.owned_by("w2").size() == 1);
}
