// Key expiry on the worker (issue 15): the ExpiryTable; a shard decides expiry at the op's `now`
// (GET, EXISTS, RNG, DBSIZE and WHERE see an expired key as gone at once); TTLs are logged,
// snapshotted and recovered, a plain SET removes one and SETRANGE keeps it; a failed commit puts
// the TTL back; a split and a move carry TTLs; active expiry deletes due keys, bounded per call,
// recorded as deletes.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "disk_node.hpp"
#include "shard_infos.hpp"
#include "temp_dir.hpp"
#include "worker/data_sync.hpp"
#include "worker/disk_storage.hpp"
#include "worker/expiry_table.hpp"
#include "worker/shard_table.hpp"

using namespace clossyne;
using clossyne::testing::TempDir;

namespace {

constexpr int64_t kT0 = 1'700'000'000'000;  // a fixed "now" (ms since the epoch)

ShardInfo whole(uint32_t id = 1, uint64_t epoch = 1) {
  return testing::make_shard_info(id, "", std::nullopt, epoch, 99);
}

Op op(std::string name, std::string key, int64_t now, std::vector<std::string> args = {},
      std::optional<std::string> value = std::nullopt, uint32_t shard = 1, uint64_t epoch = 1) {
  static uint64_t next = 1;
  Op o;
  o.id = next++;
  o.op = std::move(name);
  o.key = std::move(key);
  o.args = std::move(args);
  o.value = std::move(value);
  o.shard = shard;
  o.epoch = epoch;
  o.now = now;
  return o;
}

Op set_px(const std::string& key, const std::string& value, int64_t ms, int64_t now = kT0) {
  return op("set", key, now, {"PX", std::to_string(ms)}, value);
}

std::optional<std::string> get(ShardTable& t, const std::string& key, int64_t now) {
  Reply r = t.execute(op("get", key, now));
  REQUIRE(r.ok);
  return r.value;
}

int64_t n_of(ShardTable& t, Op o) {
  Reply r = t.execute(o);
  REQUIRE(r.ok);
  REQUIRE(r.n.has_value());
  return *r.n;
}

using Node = testing::DiskNode;

}  // namespace

TEST_CASE("expiry table: lookups, due keys earliest first, cut and merge", "[expiry]") {
  ExpiryTable t;
  CHECK(t.empty());
  t.set("b", 30);
  t.set("a", 10);
  t.set("c", 20);
  t.set("a", 40);  // a new time replaces the old one in both indexes
  CHECK(t.get("a") == 40);
  CHECK_FALSE(t.get("z"));
  CHECK(t.due(25, 10) == std::vector<std::string>{"c"});
  CHECK(t.due(100, 2) == std::vector<std::string>{"c", "b"});
  CHECK(t.count_due(35, "", std::nullopt) == 2);
  CHECK(t.count_due(35, "c", std::nullopt) == 1);
  CHECK(t.count_in("b", std::string("c")) == 1);
  ExpiryTable right = t.cut("b");
  CHECK(t.size() == 1);
  CHECK(right.size() == 2);
  CHECK(right.get("c") == 20);
  CHECK(t.due(100, 10) == std::vector<std::string>{"a"});
  t.merge(std::move(right));
  CHECK(t.size() == 3);
  CHECK(t.erase("b"));
  CHECK_FALSE(t.erase("b"));
  CHECK(t.due(100, 10) == std::vector<std::string>{"c", "a"});
}

TEST_CASE("expiry: an expired key is gone for every read at the op's time", "[expiry]") {
  ShardTable t("w1");
  REQUIRE(t.assign({whole()}).ok());
  REQUIRE(t.execute(set_px("k", "v", 1000)).ok);
  REQUIRE(t.execute(op("set", "plain", kT0, {}, "p")).ok);
  CHECK(get(t, "k", kT0 + 999) == "v");
  CHECK(get(t, "k", kT0 + 1000) == std::nullopt);
  CHECK(n_of(t, op("exists", "k", kT0 + 999)) == 1);
  CHECK(n_of(t, op("exists", "k", kT0 + 1000)) == 0);
  Op count = op("count", "", kT0 + 1000);
  count.key.reset();
  CHECK(n_of(t, count) == 1);  // only "plain"
  count.args = {"expires"};
  count.now = kT0;
  CHECK(n_of(t, count) == 1);  // "k" has a TTL and is not due yet
  Op rng = op("rng", "", kT0 + 1000);
  rng.key.reset();
  Reply r = t.execute(rng);
  REQUIRE(r.ok);
  REQUIRE(r.items);
  CHECK(*r.items == std::vector<KV>{{"plain", "p"}});
  Reply w = t.execute(op("where", "k", kT0 + 1000));
  REQUIRE(w.where);
  CHECK_FALSE(w.where->found);
  // DEL of an expired key deletes it and counts nothing, as Redis.
  CHECK(n_of(t, op("del", "k", kT0 + 1000)) == 0);
  CHECK_FALSE(t.find(1)->tree().find("k"));
}

TEST_CASE("expiry: RNG with a limit skips expired keys and reports TTLs", "[expiry]") {
  ShardTable t("w1");
  REQUIRE(t.assign({whole()}).ok());
  REQUIRE(t.execute(set_px("a", "1", 10)).ok);
  REQUIRE(t.execute(set_px("b", "2", 5000)).ok);
  REQUIRE(t.execute(op("set", "c", kT0, {}, "3")).ok);
  Op rng = op("rng", "", kT0 + 100);
  rng.key.reset();
  rng.limit = 2;
  Reply r = t.execute(rng);
  REQUIRE(r.items);
  CHECK(*r.items == std::vector<KV>{{"b", "2"}, {"c", "3"}});
  CHECK(r.expires == std::vector<KeyExpiry>{{"b", kT0 + 5000}});
}

TEST_CASE("expiry: a write on an expired key acts on no key", "[expiry]") {
  ShardTable t("w1");
  REQUIRE(t.assign({whole()}).ok());
  REQUIRE(t.execute(op("set", "n", kT0, {}, "41")).ok);
  REQUIRE(t.execute(op("pexpire", "n", kT0, {"100"})).ok);
  CHECK(n_of(t, op("incr", "n", kT0 + 50)) == 42);
  CHECK(n_of(t, op("pttl", "n", kT0 + 50)) == 50);  // INCR keeps the TTL
  CHECK(n_of(t, op("incr", "n", kT0 + 100)) == 1);  // expired: a new key, without a TTL
  CHECK(n_of(t, op("pttl", "n", kT0 + 100)) == -1);
}

TEST_CASE("expiry: TTLs survive a restart, from the log and from a snapshot", "[expiry]") {
  TempDir dir;
  const bool snapshot = GENERATE(false, true);
  {
    Node n(dir.path());
    REQUIRE(n.open().ok());
    REQUIRE(n.table.assign({whole()}).ok());
    REQUIRE(n.table.execute(set_px("ttl", "v", 60000)).ok);
    REQUIRE(n.table.execute(set_px("cleared", "v", 60000)).ok);
    REQUIRE(n.table.execute(op("set", "cleared", kT0, {}, "w")).ok);  // a plain SET drops it
    REQUIRE(n.table.execute(set_px("kept", "hello", 60000)).ok);
    REQUIRE(n.table.execute(op("setrange", "kept", kT0, {"0", "J"})).ok);  // keeps it
    REQUIRE(n.table.execute(op("set", "persisted", kT0, {}, "v")).ok);
    REQUIRE(n.table.execute(op("expire", "persisted", kT0, {"100"})).ok);
    REQUIRE(n.table.execute(op("persist", "persisted", kT0)).ok);
    REQUIRE(n.table.commit().ok());
    if (snapshot) REQUIRE(n.storage.compact(n.table).ok());
  }
  Node n(dir.path());
  REQUIRE(n.open().ok());
  const Shard& s = *n.table.find(1);
  CHECK(s.expiry().get("ttl") == kT0 + 60000);
  CHECK(s.expiry().get("kept") == kT0 + 60000);
  CHECK(s.tree().find("kept") == "Jello");
  CHECK_FALSE(s.expiry().get("cleared"));
  CHECK_FALSE(s.expiry().get("persisted"));
  CHECK(s.expiry().size() == 2);
}

TEST_CASE("expiry: a failed commit puts the old TTL back", "[expiry]") {
  TempDir dir;
  Node n(dir.path());
  REQUIRE(n.open().ok());
  REQUIRE(n.table.assign({whole()}).ok());
  REQUIRE(n.table.execute(set_px("k", "v", 60000)).ok);
  REQUIRE(n.table.commit().ok());
  REQUIRE(n.table.execute(op("pexpire", "k", kT0, {"5"})).ok);
  REQUIRE(n.table.execute(op("set", "k2", kT0, {"EX", "10"}, "x")).ok);
  inject_sync_failures(SyncTarget::kLog, 1);
  CHECK_FALSE(n.table.commit().ok());
  inject_sync_failures(SyncTarget::kLog, 0);
  CHECK(n.table.find(1)->expiry().get("k") == kT0 + 60000);
  CHECK_FALSE(n.table.find(1)->expiry().get("k2"));
  CHECK_FALSE(n.table.find(1)->tree().find("k2"));
}

TEST_CASE("expiry: a split gives each piece its keys' TTLs, an import takes them", "[expiry]") {
  ShardTable t("w1");
  REQUIRE(t.assign({whole()}).ok());
  REQUIRE(t.execute(set_px("apple", "1", 1000)).ok);
  REQUIRE(t.execute(set_px("zebra", "2", 2000)).ok);
  Op split;
  split.id = 900;
  split.op = "split";
  split.shard = 1;
  split.epoch = 1;
  split.key = "m";
  split.shards = {testing::make_shard_info(2, "", "m", 2, 99),
                  testing::make_shard_info(3, "m", std::nullopt, 2, 99)};
  REQUIRE(t.execute(split).ok);
  CHECK(t.find(2)->expiry().get("apple") == kT0 + 1000);
  CHECK_FALSE(t.find(2)->expiry().get("zebra"));
  CHECK(t.find(3)->expiry().get("zebra") == kT0 + 2000);

  ShardTable target("w2");
  REQUIRE(target.assign({testing::make_shard_info(3, "m", std::nullopt, 3, 99, true)}).ok());
  Op import;
  import.id = 901;
  import.op = "import";
  import.shard = 3;
  import.epoch = 3;
  import.pairs = {{"zebra", "2"}, { "zoo", "3" }};
  import.expires = {{ "zebra", kT0 + 2000 }};
  REQUIRE(target.execute(import).ok);
  CHECK(target.find(3)->expiry().get("zebra") == kT0 + 2000);
  CHECK_FALSE(target.find(3)->expiry().get("zoo"));
}

TEST_CASE("expiry: active expiry deletes due keys, a bounded number per call, durably",
          "[expiry]") {
  TempDir dir;
  {
    Node n(dir.path());
    REQUIRE(n.open().ok());
    REQUIRE(n.table.assign({whole()}).ok());
    for (int i = 0; i < 10; ++i) {
      std::string key = "k";  // (not "k" + to_string: gcc 12 warns falsely, -Wrestrict)
      key += std::to_string(i);
      REQUIRE(n.table.execute(set_px(key, "v", 10 + i)).ok);
    }
    REQUIRE(n.table.execute(set_px("later", "v", 60000)).ok);
    REQUIRE(n.table.execute(op("set", "plain", kT0, {}, "v")).ok);
    REQUIRE(n.table.commit().ok());
    CHECK(n.table.expire_due(kT0 + 5, 100) == 0);  // none due yet
    CHECK(n.table.expire_due(kT0 + 1000, 4) == 4);
    CHECK(n.table.expire_due(kT0 + 1000, 100) == 6);
    CHECK(n.table.expire_due(kT0 + 1000, 100) == 0);
    REQUIRE(n.table.commit().ok());
    CHECK(n.table.find(1)->tree().size() == 2);
  }
  Node n(dir.path());
  REQUIRE(n.open().ok());
  CHECK(n.table.find(1)->tree().size() == 2);  // the deletes were logged
  CHECK(n.table.find(1)->expiry().get("later") == kT0 + 60000);
}
