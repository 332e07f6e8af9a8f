// The merge sub-op (worker/shard_merge.cpp): two adjacent shards become one holding every key with
// the shape a treap built afresh from them has; refusals change nothing; asked again it answers
// the merged shard; TTLs follow; a crash after the merge recovers it (join record).
#include <catch2/catch.hpp>
#include <cstdio>
#include <optional>
#include <string>

#include "disk_node.hpp"
#include "shard_infos.hpp"
#include "temp_dir.hpp"
#include "worker/shard_table.hpp"
#include "worker/treap.hpp"

using namespace clossyne;

namespace {

constexpr uint64_t kSeed = 4242;
constexpr int64_t kNow = 1'000'000'000'000;

ShardInfo info(uint32_t id, std::string lo, std::optional<std::string> hi, uint64_t epoch = 1) {
  return testing::make_shard_info(id, std::move(lo), std::move(hi), epoch, kSeed, false);
}

Op routed(const std::string& op, uint32_t shard, uint64_t epoch,
          std::optional<std::string> key = std::nullopt,
          std::optional<std::string> value = std::nullopt) {
  static uint64_t id = 1;
  Op o;
  o.id = id++;
  o.op = op;
  o.shard = shard;
  o.epoch = epoch;
  o.key = std::move(key);
  o.value = std::move(value);
  return o;
}

Op merge_op(const ShardInfo& a, const ShardInfo& b, uint32_t new_id, uint64_t new_epoch) {
  Op o = routed("merge", a.id, a.epoch);
  ShardInfo c = a;
  c.id = new_id;
  c.epoch = new_epoch;
  o.shards = {b, c};
  return o;
}

std::string key_n(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%05d", i);
  return buf;
}

// Shards 1 = [, k00500) and 2 = [k00500, ) holding k00000..k00999.
void two_shards(ShardTable& t) {
  REQUIRE(t.assign({info(1, "", key_n(500)), info(2, key_n(500), std::nullopt)}).ok());
  for (int i = 0; i < 1000; ++i) {
    const uint32_t s = i < 500 ? 1 : 2;
    REQUIRE(
        t.execute(routed("set", s, 1, key_n(i), std::string("v").append(std::to_string(i)))).ok);
  }
  Op ttl = routed("pexpire", 2, 1, key_n(700));
  ttl.args = {"100000"};
  ttl.now = kNow;
  REQUIRE(t.execute(ttl).ok);
  REQUIRE(t.commit().ok());
}

void check_merged(const ShardTable& t) {
  REQUIRE(t.size() == 1);
  const Shard* c = t.find(3);
  REQUIRE(c != nullptr);
  CHECK(c->info().lo.empty());
  CHECK(!c->info().hi);
  CHECK(c->info().epoch == 2);
  CHECK(c->tree().size() == 1000);
  CHECK(c->tree().check_invariants().empty());
  Treap fresh(kSeed);
  for (int i = 0; i < 1000; ++i) fresh.set(key_n(i), "x");
  for (int i = 0; i < 1000; i += 37)
    CHECK(c->tree().path(key_n(i)).turns == fresh.path(key_n(i)).turns);
  CHECK(c->tree().find(key_n(999)) == std::optional<std::string_view>("v999"));
}

}  // namespace

TEST_CASE("merge joins two adjacent shards into a new one with every key and TTL") {
  ShardTable t("w1");
  two_shards(t);
  const Reply r = t.execute(merge_op(t.find(1)->info(), t.find(2)->info(), 3, 2));
  INFO(r.error);
  REQUIRE(r.ok);
  REQUIRE(r.shards.size() == 1);
  CHECK(r.shards[0].id == 3);
  CHECK(r.shards[0].keys == 1000);
  check_merged(t);
  Op pttl = routed("pttl", 3, 2, key_n(700));
  pttl.now = kNow + 10;
  CHECK(t.execute(pttl).n.value_or(-1) == 99990);
  // Asked again (the reply was lost): the same answer, nothing changes.
  const Reply again =
      t.execute(merge_op(info(1, "", key_n(500)), info(2, key_n(500), std::nullopt), 3, 2));
  CHECK(again.ok);
  REQUIRE(again.shards.size() == 1);
  CHECK(again.shards[0].id == 3);
  check_merged(t);
}

TEST_CASE("merge refusals change nothing") {
  ShardTable t("w1");
  two_shards(t);
  const ShardInfo a = t.find(1)->info(), b = t.find(2)->info();
  CHECK_THAT(t.execute(merge_op(b, a, 3, 2)).error, Catch::Contains("not adjacent"));
  ShardInfo stale = b;
  stale.epoch = 7;
  CHECK_THAT(t.execute(merge_op(a, stale, 3, 2)).error, Catch::Contains("stale epoch"));
  CHECK_THAT(t.execute(merge_op(a, b, 2, 2)).error, Catch::Contains("id is in use"));
  CHECK_THAT(t.execute(merge_op(a, b, 3, 1)).error, Catch::Contains("above both"));
  CHECK(t.execute(merge_op(a, info(9, key_n(500), std::nullopt), 3, 2)).code ==
        ErrorCode::kNotHeld);
  Op bad = merge_op(a, b, 3, 2);
  bad.shards.pop_back();
  CHECK_FALSE(t.execute(bad).ok);
  CHECK(t.size() == 2);
  CHECK(t.find(1)->tree().size() == 500);
  CHECK(t.find(2)->tree().size() == 500);
}

TEST_CASE("a merge survives a crash: the join record is replayed") {
  testing::TempDir dir;
  {
    testing::DiskNode d(dir.path());
    REQUIRE(d.open().ok());
    two_shards(d.table);
    REQUIRE(d.table.execute(merge_op(d.table.find(1)->info(), d.table.find(2)->info(), 3, 2)).ok);
    REQUIRE(d.table.commit().ok());
  }
  testing::DiskNode d(dir.path());
  REQUIRE(d.open().ok());
  check_merged(d.table);
}
