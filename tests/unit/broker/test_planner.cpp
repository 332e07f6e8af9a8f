#include <catch2/catch.hpp>

#include "broker/planner.hpp"

using namespace clossyne;
using namespace clossyne::broker;

namespace {
ShardMap two_shards() {
  ShardMap map;
  map.create({"m"}, 1);
  return map;
}
Op make(std::string name) {
  Op o;
  o.id = 11;
  o.op = std::move(name);
  return o;
}
Reply n_reply(int64_t n) {
  Reply r;
  r.n = n;
  return r;
}
}  // namespace

TEST_CASE("single-key ops go to the shard of their key") {
  auto map = two_shards();
  Op o = make("set");
  o.key.emplace("zebra");
  o.value.emplace("v");
  Plan p = plan(o, map);
  REQUIRE(p.parts.size() == 1);
  CHECK(p.parts[0].shard == 1);
  CHECK(*p.parts[0].op.value == "v");
  CHECK_FALSE(p.immediate);
}

TEST_CASE("multi-key ops fan out per key and sum their counts") {
  auto map = two_shards();
  Op o = make("del");
  o.keys = {"a", "z", "b"};
  Plan p = plan(o, map);
  REQUIRE(p.parts.size() == 3);
  CHECK(p.parts[1].shard == 1);
  OpMerge m(o, 3);
  CHECK_FALSE(m.add(0, n_reply(1)));
  CHECK_FALSE(m.add(1, n_reply(0)));
  std::optional<Reply> r = m.add(2, n_reply(1));
  REQUIRE(r);
  CHECK(r->ok);
  CHECK(*r->n == 2);
  CHECK_FALSE(m.add(2, n_reply(1)));  // after completion: ignored
}

TEST_CASE("mget keeps request order across shards") {
  auto map = two_shards();
  Op o = make("mget");
  o.keys = {"z", "a"};
  Plan p = plan(o, map);
  REQUIRE(p.parts.size() == 2);
  CHECK(p.parts[0].op.op == "get");
  OpMerge m(o, 2);
  Reply rz, ra;
  rz.has_value = ra.has_value = true;
  rz.value.emplace("zv");
  CHECK_FALSE(m.add(1, ra));
  std::optional<Reply> r = m.add(0, rz);
  REQUIRE(r);
  REQUIRE(r->values);
  CHECK((*r->values)[0] == std::optional<std::string>("zv"));
  CHECK_FALSE((*r->values)[1].has_value());
}

TEST_CASE("rng fans out to the overlapping shards and merges in key order with the limit") {
  auto map = two_shards();
  Op o = make("rng");
  o.key.emplace("k");
  o.end.emplace("n");
  o.limit = 3;
  Plan p = plan(o, map);
  REQUIRE(p.parts.size() == 2);
  OpMerge m(o, 2);
  Reply low, high;
  low.items = std::vector<KV>{{"k", "1"}, {"l", "2"}};
  high.items = std::vector<KV>{{"m", "3"}, {"n", "4"}};
  CHECK_FALSE(m.add(1, high));
  std::optional<Reply> r = m.add(0, low);
  REQUIRE(r);
  REQUIRE(r->items);
  CHECK(*r->items == std::vector<KV>{{"k", "1"}, {"l", "2"}, {"m", "3"}});
}

TEST_CASE("an inverted range is empty without asking any worker") {
  auto map = two_shards();
  Op o = make("rng");
  o.key.emplace("z");
  o.end.emplace("a");
  Plan p = plan(o, map);
  CHECK(p.parts.empty());
  REQUIRE(p.immediate);
  CHECK(p.immediate->items->empty());
}

TEST_CASE("bad ops are answered at once with an error") {
  auto map = two_shards();
  CHECK_FALSE(plan(make("set"), map).immediate->ok);
  CHECK_FALSE(plan(make("get"), map).immediate->ok);
  Plan empty_mget = plan(make("mget"), map);  // no keys: nothing to ask, an empty answer
  REQUIRE(empty_mget.immediate);
  CHECK(empty_mget.immediate->values->empty());
  CHECK(*plan(make("del"), map).immediate->n == 0);
  Plan unknown = plan(make("frobnicate"), map);
  REQUIRE(unknown.immediate);
  CHECK(unknown.immediate->error.find("unknown op") != std::string::npos);
  CHECK(plan(make("ping"), map).immediate->ok);
  CHECK(plan(make("dbsize"), map).parts.size() == 2);
}

TEST_CASE("a failed part makes the whole op fail with its error") {
  Op o = make("exists");
  o.keys = {"a", "z"};
  OpMerge m(o, 2);
  CHECK_FALSE(m.add(0, n_reply(1)));
  std::optional<Reply> r = m.add(1, Reply::Error(0, "ERR shard unavailable"));
  REQUIRE(r);
  CHECK_FALSE(r->ok);
  CHECK(r->error == "ERR shard unavailable");
  CHECK(r->id == 11);
}

TEST_CASE("a single-key op's one part is its reply, under the op's id") {
  Op o = make("get");
  o.key.emplace("k");
  OpMerge m(o, 1);
  Reply part;
  part.id = 99;
  part.has_value = true;
  part.value.emplace("v");
  std::optional<Reply> r = m.add(0, part);
  REQUIRE(r);
  CHECK(r->id == 11);
  CHECK(r->has_value);
  CHECK(*r->value == "v");
  OpMerge failed(o, 1);
  r = failed.add(0, Reply::Error(99, "ERR shard unavailable"));
  REQUIRE(r);
  CHECK_FALSE(r->ok);
  CHECK(r->id == 11);
  CHECK(r->error == "ERR shard unavailable");
}

TEST_CASE("planning can take the keys and values out of the op instead of copying them") {
  auto map = two_shards();
  Op o = make("mset");
  o.pairs = {{"a", std::string(100, 'x')}, {"z", "2"}};
  Plan p;
  plan_into(o, map, p);
  REQUIRE(p.parts.size() == 2);
  CHECK(*p.parts[0].op.key == "a");
  CHECK(*p.parts[0].op.value == std::string(100, 'x'));
  CHECK(p.parts[1].shard == 1);
  CHECK(o.op == "mset");
  CHECK(o.id == 11);
}

TEST_CASE("plan_into appends a batch's parts one op after another") {
  auto map = two_shards();
  Plan p;
  Op set = make("set");
  set.key.emplace("a");
  set.value.emplace("1");
  plan_into(set, map, p);
  CHECK(p.parts.size() == 1);
  CHECK_FALSE(p.immediate);

  Op inverted = make("rng");  // answered at once: adds no part, keeps the earlier ones
  inverted.key.emplace("z");
  inverted.end.emplace("a");
  plan_into(inverted, map, p);
  CHECK(p.parts.size() == 1);
  REQUIRE(p.immediate);
  CHECK(p.immediate->items->empty());

  Op all = make("rng");  // both shards
  plan_into(all, map, p);
  CHECK_FALSE(p.immediate);
  REQUIRE(p.parts.size() == 3);
  CHECK(p.parts[0].op.op == "set");
  CHECK(p.parts[1].op.op == "rng");
  CHECK(p.parts[1].shard == 0);
  CHECK(p.parts[2].shard == 1);
}
