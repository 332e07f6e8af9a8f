#include <catch2/catch.hpp>

#include "broker/balancer.hpp"

using namespace clossyne;
using namespace clossyne::broker;

namespace {
// Shards split at "b", "c", ... with the given owners and key counts.
ShardMap make_map(const std::vector<std::pair<std::string, uint64_t>>& shards) {
  std::vector<std::string> points;
  for (std::size_t i = 1; i < shards.size(); ++i) points.push_back(std::string(1, char('a' + i)));
  ShardMap map;
  map.create(points, 1);
  for (std::size_t i = 0; i < shards.size(); ++i) {
    map.at(i).owner = shards[i].first;
    map.at(i).info.keys = shards[i].second;
  }
  return map;
}
WorkerRegistry workers(std::vector<std::string> ids) {
  WorkerRegistry r;
  for (const auto& id : ids) r.touch_alive(id, 0);
  return r;
}
}  // namespace

TEST_CASE("a shard over the key limit is split, one under it is not") {
  auto map = make_map({{"w1", 2500}, {"w1", 1999}});
  BalancePolicy p;
  p.shard_max_keys = 2000;
  auto a = plan_balance(map, workers({"w1"}), p, 0, 0);
  CHECK(a.splits == std::vector<uint32_t>{map.at(0).info.id});
  CHECK(a.moves.empty());
}

TEST_CASE("splits under way count against the limit") {
  auto map = make_map({{"w1", 2500}, {"w1", 2500}});
  BalancePolicy p;
  p.shard_max_keys = 2000;
  p.max_splits = 1;
  CHECK(plan_balance(map, workers({"w1"}), p, 1, 0).splits.empty());
}

TEST_CASE("a new empty worker gets a shard from the busiest") {
  auto map = make_map({{"w1", 1000}, {"w1", 1000}, {"w1", 1000}});
  BalancePolicy p;
  auto a = plan_balance(map, workers({"w1", "w2"}), p, 0, 0);
  REQUIRE(a.moves.size() == 1);
  CHECK(a.moves[0].to == "w2");
}

TEST_CASE("a balanced cluster stays put") {
  auto map = make_map({{"w1", 1000}, {"w2", 1000}, {"w3", 990}});
  auto a = plan_balance(map, workers({"w1", "w2", "w3"}), BalancePolicy{}, 0, 0);
  CHECK(a.moves.empty());
}

TEST_CASE("a draining worker's shards move first, never onto a draining worker") {
  auto map = make_map({{"w1", 10}, {"w2", 5000}});
  auto reg = workers({"w1", "w2", "w3"});
  reg.set_draining("w1", true);
  auto a = plan_balance(map, reg, BalancePolicy{}, 0, 0);
  REQUIRE(a.moves.size() == 1);
  CHECK(a.moves[0].shard == map.at(0).info.id);
  CHECK(a.moves[0].to == "w3");
}

TEST_CASE("no move while the limit of moves is reached") {
  auto map = make_map({{"w1", 1000}, {"w1", 1000}});
  CHECK(plan_balance(map, workers({"w1", "w2"}), BalancePolicy{}, 0, 1).moves.empty());
}

TEST_CASE("keys per worker sums the shards of alive workers") {
  auto map = make_map({{"w1", 10}, {"w2", 5}, {"w1", 1}});
  auto load = keys_per_worker(map, workers({"w1", "w2"}));
  CHECK(load["w1"] == 11);
  CHECK(load["w2"] == 5);
}
