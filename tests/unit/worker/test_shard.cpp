#include <catch2/catch.hpp>
#include <string>

#include "shard_infos.hpp"
#include "worker/shard.hpp"
#include "worker/shard_table.hpp"

using namespace clossyne;

namespace {

ShardInfo shard_info(uint32_t id, std::string lo, std::optional<std::string> hi,
                     uint64_t epoch = 1) {
  return testing::make_shard_info(id, std::move(lo), std::move(hi), epoch, 77);
}

Op sub_op(std::string op, std::optional<std::string> key = std::nullopt,
          std::optional<std::string> value = std::nullopt) {
  static uint64_t next_id = 1;
  Op o;
  o.id = next_id++;
  o.op = std::move(op);
  o.key = std::move(key);
  o.value = std::move(value);
  return o;
}

// Built with append: GCC 12 gives a false -Wrestrict warning on "k" + std::to_string(i).
std::string seq_key(int i) {
  std::string k = "k";
  k += std::to_string(i);
  return k;
}

}  // namespace

TEST_CASE("shard: set, get, exists, del") {
  Shard s(shard_info(3, "b", "m"));
  const Op set = sub_op("set", "c", "1");
  Reply r = s.apply(set, "w1");
  CHECK(r.ok);
  CHECK(r.id == set.id);

  r = s.apply(sub_op("get", "c"), "w1");
  CHECK(r.ok);
  CHECK(r.has_value);
  CHECK(r.value == "1");

  r = s.apply(sub_op("get", "d"), "w1");
  CHECK(r.has_value);
  CHECK_FALSE(r.value.has_value());

  CHECK(s.apply(sub_op("exists", "c"), "w1").n == 1);
  CHECK(s.apply(sub_op("exists", "d"), "w1").n == 0);
  CHECK(s.apply(sub_op("del", "c"), "w1").n == 1);
  CHECK(s.apply(sub_op("del", "c"), "w1").n == 0);
  CHECK(s.apply(sub_op("exists", "c"), "w1").n == 0);
}

TEST_CASE("shard: rng is inclusive, clipped to the shard, and honours limit") {
  Shard s(shard_info(1, "b", "d"));
  for (const char* k : {"b", "ba", "c", "cz"}) s.apply(sub_op("set", k, "v"), "w");
  auto keys = [](const Reply& r) {
    std::vector<std::string> out;
    for (const auto& kv : *r.items) out.push_back(kv.first);
    return out;
  };
  Op all = sub_op("rng");
  Reply r = s.apply(all, "w");
  REQUIRE(r.items.has_value());
  CHECK(keys(r) == std::vector<std::string>{"b", "ba", "c", "cz"});
  CHECK(r.id == all.id);

  Op some = sub_op("rng", "ba");
  some.end.emplace("c");
  CHECK(keys(s.apply(some, "w")) == std::vector<std::string>{"ba", "c"});

  Op wide = sub_op("rng", "a");
  wide.end.emplace("zzz");
  wide.limit = 3;
  CHECK(keys(s.apply(wide, "w")) == std::vector<std::string>{"b", "ba", "c"});

  Op none = sub_op("rng", "x");
  r = s.apply(none, "w");
  REQUIRE(r.items.has_value());
  CHECK(r.items->empty());
}

TEST_CASE("shard: count and where") {
  Shard s(shard_info(7, "", std::nullopt));
  for (int i = 0; i < 20; ++i) s.apply(sub_op("set", seq_key(i), "v"), "w");
  CHECK(s.apply(sub_op("count"), "w").n == 20);
  CHECK(s.describe().keys == 20);

  Reply r = s.apply(sub_op("where", seq_key(3)), "w9");
  REQUIRE(r.where.has_value());
  CHECK(r.where->shard == 7);
  CHECK(r.where->owner == "w9");
  CHECK(r.where->found);
  const auto path = s.tree().path(seq_key(3));
  CHECK(r.where->path == "7:" + path.turns);
  CHECK(r.where->depth == path.depth);

  r = s.apply(sub_op("where", "absent"), "w9");
  REQUIRE(r.where.has_value());
  CHECK_FALSE(r.where->found);
  CHECK(r.where->path.rfind("7:", 0) == 0);
  CHECK(r.where->depth + 2 == r.where->path.size());
}

TEST_CASE("shard: errors name what is wrong and keep the id") {
  Shard s(shard_info(4, "b", "m"));
  Op missing_key = sub_op("get");
  Reply r = s.apply(missing_key, "w");
  CHECK_FALSE(r.ok);
  CHECK(r.id == missing_key.id);
  CHECK(r.error == "ERR missing field 'key'");
  CHECK(s.apply(sub_op("set", "c"), "w").error == "ERR missing field 'value'");
  CHECK(s.apply(sub_op("frob", "c"), "w").error == "ERR unknown op 'frob'");
  CHECK(s.apply(sub_op("set", "a", "v"), "w").error == "ERR key outside shard 4");
  CHECK(s.apply(sub_op("get", "m"), "w").error == "ERR key outside shard 4");
  CHECK(s.apply(sub_op("where", "z"), "w").error == "ERR key outside shard 4");
  CHECK(s.apply(sub_op("count"), "w").n == 0);
}

TEST_CASE("shard: keys left outside shrunk bounds are hidden, not counted") {
  Shard s(shard_info(1, "", std::nullopt));
  for (const char* k : {"a", "b", "c", "d"}) s.apply(sub_op("set", k, "v"), "w");
  s.reassign(shard_info(1, "b", "d", 2));
  CHECK(s.info().epoch == 2);
  CHECK(s.count() == 2);
  Reply r = s.apply(sub_op("rng"), "w");
  CHECK(r.items->size() == 2);
}

TEST_CASE("shard table: assign creates and updates shards, drops only on an epoch-checked word") {
  ShardTable t("w1");
  t.assign({shard_info(1, "", "m"), shard_info(2, "m", std::nullopt)});
  CHECK(t.size() == 2);
  Op set = sub_op("set", "a", "1");
  set.shard = 1;
  set.epoch = 1;
  CHECK(t.execute(set).ok);

  t.assign({shard_info(1, "", "m", 5)});
  REQUIRE(t.find(1) != nullptr);
  CHECK(t.find(1)->info().epoch == 5);
  CHECK(t.find(1)->count() == 1);  // data survives an epoch change
  // Not mentioned is no reason to delete a shard: it stays until a handoff names it.
  CHECK(t.size() == 2);
  REQUIRE(t.find(2) != nullptr);
  // A drop naming another epoch than the one held is not about this copy: kept.
  ShardInfo other_epoch = shard_info(2, "m", std::nullopt, 2);
  REQUIRE(t.assign({shard_info(1, "", "m", 5)}, {other_epoch}).ok());
  CHECK(t.find(2) != nullptr);
  // A drop of a listed shard is ignored (the listing wins).
  REQUIRE(t.assign({shard_info(1, "", "m", 5)}, {shard_info(1, "", "m", 5)}).ok());
  CHECK(t.find(1) != nullptr);
  // The held epoch exactly: dropped.
  REQUIRE(t.assign({shard_info(1, "", "m", 5)}, {shard_info(2, "m", std::nullopt, 1)}).ok());
  CHECK(t.find(2) == nullptr);
  CHECK(t.size() == 1);

  const auto described = t.describe();
  REQUIRE(described.size() == 1);
  CHECK(described[0].keys == 1);
  CHECK(described[0].seed == 77);
}

TEST_CASE("shard table: routing errors") {
  ShardTable t("w1");
  t.assign({shard_info(1, "", std::nullopt, 3)});
  Op op = sub_op("get", "a");
  CHECK(t.execute(op).error == "ERR missing field 'shard'");
  CHECK(t.execute(sub_op("nope")).error == "ERR unknown op 'nope'");
  op.shard = 9;
  CHECK(t.execute(op).error == "ERR shard 9 is not held by worker w1");
  op.shard = 1;
  op.epoch = 2;
  Reply r = t.execute(op);
  CHECK(r.error == "ERR stale epoch for shard 1 (have 3)");
  CHECK(r.id == op.id);
  op.epoch = 3;
  CHECK(t.execute(op).ok);
}

TEST_CASE("shard table: a batch is answered in order") {
  ShardTable t("w1");
  t.assign({shard_info(1, "", "m"), shard_info(2, "m", std::nullopt)});
  Op batch;
  batch.id = 50;
  batch.op = "batch";
  for (auto [op, key, shard] : {std::tuple{"set", "a", 1u}, std::tuple{"set", "x", 2u},
                                std::tuple{"get", "a", 1u}, std::tuple{"get", "x", 1u}}) {
    Op sub = sub_op(op, key, std::string("v") + key);
    if (std::string(op) == "get") sub.value.reset();
    sub.shard = shard;
    sub.epoch = 1;
    batch.batch.push_back(sub);
  }
  Reply r = t.execute_batch(batch);
  CHECK(r.id == 50);
  CHECK(r.is_batch);
  REQUIRE(r.replies.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(r.replies[i].id == batch.batch[i].id);
  CHECK(r.replies[0].ok);
  CHECK(r.replies[1].ok);
  CHECK(r.replies[2].value == "va");
  CHECK(r.replies[3].error == "ERR key outside shard 1");
}
