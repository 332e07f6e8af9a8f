// The balancer's merge policy (broker/balancer_merge.cpp): small neighbours on one owner merge, on
// two owners one moves first, never below one shard per serving worker, hysteresis checked.
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
BalancePolicy merging(uint64_t min_keys) {
  BalancePolicy p;
  p.shard_min_keys = min_keys;
  p.auto_balance = false;
  return p;
}
}  // namespace

TEST_CASE("small neighbours on one owner merge, big ones do not") {
  auto map = make_map({{"w1", 10}, {"w1", 20}, {"w1", 500}, {"w2", 5}});
  auto a = plan_balance(map, workers({"w1", "w2"}), merging(100), 0, 0);
  REQUIRE(a.merges.size() == 1);
  CHECK(a.merges[0] == std::make_pair(map.at(0).info.id, map.at(1).info.id));
  CHECK(a.moves.empty());
}

TEST_CASE("merging is off when both limits are 0") {
  auto map = make_map({{"w1", 1}, {"w1", 1}, {"w1", 1}});
  CHECK(plan_balance(map, workers({"w1"}), merging(0), 0, 0).merges.empty());
}

TEST_CASE("small neighbours on two owners, the smaller moves to the other's owner first") {
  auto map = make_map({{"w1", 30}, {"w2", 10}, {"w2", 900}, {"w1", 900}});
  auto a = plan_balance(map, workers({"w1", "w2"}), merging(100), 0, 0);
  CHECK(a.merges.empty());
  REQUIRE(a.moves.size() == 1);
  CHECK(a.moves[0].shard == map.at(1).info.id);
  CHECK(a.moves[0].to == "w1");
}

TEST_CASE("never below one shard per serving worker") {
  auto map = make_map({{"w1", 1}, {"w1", 1}, {"w2", 1}});
  CHECK(plan_balance(map, workers({"w1", "w2", "w3"}), merging(100), 0, 0).merges.empty());
  auto a = plan_balance(map, workers({"w1", "w2"}), merging(100), 0, 0);
  CHECK(a.merges.size() == 1);
}

TEST_CASE("merges under way count against the limit") {
  auto map = make_map({{"w1", 1}, {"w1", 1}, {"w1", 1}, {"w1", 1}});
  BalancePolicy p = merging(100);
  p.max_merges = 1;
  CHECK(plan_balance(map, workers({"w1"}), p, 0, 0, 1).merges.empty());
  CHECK(plan_balance(map, workers({"w1"}), p, 0, 0, 0).merges.size() == 1);
}

TEST_CASE("merge limits default to a quarter of the split limits and at most half") {
  BalancePolicy p;
  p.shard_max_keys = 1000;
  p.shard_max_bytes = 64 << 20;
  CHECK(settle_merge_limits(p, false, false).empty());
  CHECK(p.shard_min_keys == 250);
  CHECK(p.shard_min_bytes == 16 << 20);
  p.shard_min_keys = 501;
  CHECK_FALSE(settle_merge_limits(p, true, false).empty());
  p.shard_min_keys = 0;
  p.shard_min_bytes = 0;
  CHECK(settle_merge_limits(p, true, true).empty());
  CHECK(p.shard_min_bytes == 0);
}

TEST_CASE("a merge limit of 0 beside a split limit of the same measure is refused") {
  BalancePolicy p;
  p.shard_max_keys = 1000;
  p.shard_max_bytes = 64 << 20;
  p.shard_min_keys = 0;  // --shard-max-keys 1000 --shard-min-keys 0: split by keys, merged by bytes
  CHECK_THAT(settle_merge_limits(p, true, false), Catch::Contains("--shard-min-keys 0"));
  BalancePolicy q;
  q.shard_max_keys = 1000;
  q.shard_max_bytes = 64 << 20;
  q.shard_min_bytes = 0;
  CHECK_THAT(settle_merge_limits(q, false, true), Catch::Contains("--shard-min-bytes 0"));
  // Both 0: merging is off, whatever the split limits.
  BalancePolicy off;
  off.shard_max_keys = 1000;
  off.shard_max_bytes = 64 << 20;
  off.shard_min_keys = 0;
  off.shard_min_bytes = 0;
  CHECK(settle_merge_limits(off, true, true).empty());
  // No split limit for keys: a merge limit of 0 for keys is fine.
  BalancePolicy bytes_only;
  bytes_only.shard_max_keys = 0;
  bytes_only.shard_max_bytes = 64 << 20;
  CHECK(settle_merge_limits(bytes_only, false, false).empty());
}

TEST_CASE("a merge under way counts as one shard against the one-per-worker floor") {
  // Six shards, the first two merging: five once that ends; four workers: one merge more, not two.
  auto map = make_map({{"w1", 1}, {"w1", 1}, {"w1", 1}, {"w1", 1}, {"w1", 1}, {"w1", 1}});
  map.at(0).busy = ShardBusy::kMerging;
  map.at(1).busy = ShardBusy::kMerging;
  BalancePolicy p = merging(100);
  p.max_merges = 8;
  auto a = plan_balance(map, workers({"w1", "w2", "w3", "w4"}), p, 0, 0, 1);
  CHECK(a.merges.size() == 1);
}
