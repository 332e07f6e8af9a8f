// Elastic sharding on the worker side: select by rank, the split sub-op (at a key and at the
// median; errors), importing shards (not reported, only import and sync reach them, the flag
// cleared by assign), and their durability: splits, imports and the importing flag come back after
// a crash with the same shapes, a failed commit undoes a split, and a snapshot holds the pieces.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "disk_node.hpp"
#include "shard_infos.hpp"
#include "temp_dir.hpp"
#include "worker/data_dir.hpp"
#include "worker/disk_storage.hpp"
#include "worker/shard_table.hpp"
#include "worker/treap.hpp"

using namespace clossyne;
using clossyne::testing::FsizeLimit;
using clossyne::testing::TempDir;

namespace {

constexpr uint64_t kSeed = 991;

ShardInfo shard_info(uint32_t id, std::string lo, std::optional<std::string> hi, uint64_t epoch = 1,
                     bool importing = false) {
  return testing::make_shard_info(id, std::move(lo), std::move(hi), epoch, kSeed, importing);
}

uint64_t next_id() {
  static uint64_t n = 1;
  return n++;
}

Op routed(const std::string& op, uint32_t shard, uint64_t epoch,
          std::optional<std::string> key = std::nullopt,
          std::optional<std::string> value = std::nullopt) {
  Op o;
  o.id = next_id();
  o.op = op;
  o.shard = shard;
  o.epoch = epoch;
  o.key = std::move(key);
  o.value = std::move(value);
  return o;
}

// The broker's split request: templates with new ids at epoch + 1, bounds copied from the shard.
Op split_op(const ShardInfo& whole, uint32_t left_id, uint32_t right_id,
            std::optional<std::string> key = std::nullopt) {
  Op o = routed("split", whole.id, whole.epoch, std::move(key));
  for (uint32_t id : {left_id, right_id}) {
    ShardInfo t = whole;
    t.id = id;
    t.epoch = whole.epoch + 1;
    o.shards.push_back(t);
  }
  return o;
}

Op import_op(uint32_t shard, uint64_t epoch, std::vector<KV> pairs) {
  Op o = routed("import", shard, epoch);
  o.pairs = std::move(pairs);
  return o;
}

std::string key_n(int i) {
  std::string k = "k";
  std::string n = std::to_string(i);
  k.append(5 - std::min<std::size_t>(5, n.size()), '0');
  k += n;
  return k;
}

std::string value_n(int i) {
  std::string v = "v";
  v += std::to_string(i);
  return v;
}

void fill(ShardTable& t, uint32_t shard, uint64_t epoch, int from, int to) {
  for (int i = from; i < to; ++i)
    REQUIRE(t.execute(routed("set", shard, epoch, key_n(i), value_n(i))).ok);
}

std::vector<std::string> keys_of(const Treap& tree) {
  std::vector<std::string> out;
  tree.for_each([&](std::string_view k, std::string_view) {
    out.emplace_back(k);
    return true;
  });
  return out;
}

// Every key's path in a treap built afresh from the same keys and seed: the shape a split must
// leave (a treap's shape is a function of its keys and seed).
std::map<std::string, std::string> fresh_paths(const std::vector<std::string>& keys) {
  Treap fresh(kSeed);
  for (const auto& k : keys) fresh.set(k, "x");
  std::map<std::string, std::string> out;
  for (const auto& k : keys) out[k] = fresh.path(k).turns;
  return out;
}

std::map<std::string, std::string> paths_of(const Treap& tree) {
  std::map<std::string, std::string> out;
  for (const auto& k : keys_of(tree)) out[k] = tree.path(k).turns;
  return out;
}

using Disk = testing::DiskNode;

// Everything a crash must not change: every held shard (importing ones too) with its info, and
// every key's value and path.
struct State {
  std::map<uint32_t, ShardInfo> infos;
  std::map<std::string, std::string> values;
  std::map<std::string, std::string> paths;
  bool operator==(const State&) const = default;
};

State capture(const ShardTable& t) {
  State s;
  for (const auto& [id, shard] : t.shards()) {
    s.infos[id] = shard.info();
    const std::string prefix = std::to_string(id) + "/";
    shard.tree().for_each([&](std::string_view k, std::string_view v) {
      const std::string key = std::string(prefix).append(k);
      s.values[key] = std::string(v);
      s.paths[key] = shard.tree().path(k).turns;
      return true;
    });
  }
  return s;
}

State recover_state(const std::string& dir) {
  Disk d(dir);
  const Status st = d.storage.recover(d.table);
  INFO(st.message());
  REQUIRE(st.ok());
  return capture(d.table);
}

}  // namespace

TEST_CASE("treap: select finds the key at each rank in O(depth)") {
  Treap t(kSeed);
  CHECK(t.select(0) == std::nullopt);
  for (int i = 0; i < 500; ++i) t.set(key_n(i * 7 % 500), "v");
  const auto keys = keys_of(t);
  for (std::size_t r = 0; r < keys.size(); ++r) {
    const std::optional<std::string_view> k = t.select(r);
    REQUIRE(k.has_value());
    CHECK(*k == keys[r]);
    CHECK(t.rank(*k) == r);
  }
  CHECK(t.select(keys.size()) == std::nullopt);
}

TEST_CASE("split at a given key: two shards covering the old one, every key in exactly one") {
  ShardTable t("w1");
  REQUIRE(t.assign({shard_info(1, "b", "y", 3)}).ok());
  // Keys "k00000".. all lie in [b, y).
  fill(t, 1, 3, 0, 1000);
  const auto all = keys_of(t.find(1)->tree());

  const Reply r = t.execute(split_op(t.find(1)->info(), 10, 11, key_n(300)));
  INFO(r.error);
  REQUIRE(r.ok);
  REQUIRE(r.shards.size() == 2);
  const ShardInfo& a = r.shards[0];
  const ShardInfo& b = r.shards[1];
  CHECK(a.id == 10);
  CHECK(b.id == 11);
  CHECK(a.epoch == 4);
  CHECK(b.epoch == 4);
  CHECK(a.lo == "b");
  CHECK(a.hi == key_n(300));
  CHECK(b.lo == key_n(300));
  CHECK(b.hi == "y");
  CHECK(a.seed == kSeed);
  CHECK(b.seed == kSeed);
  CHECK(a.keys == 300);
  CHECK(b.keys == 700);
  CHECK(a.bytes > 0);

  CHECK(t.find(1) == nullptr);
  REQUIRE(t.size() == 2);
  const Treap& left = t.find(10)->tree();
  const Treap& right = t.find(11)->tree();
  CHECK(left.check_invariants().empty());
  CHECK(right.check_invariants().empty());
  CHECK(left.size() == 300);
  CHECK(right.size() == 700);
  // In order, disjoint, and together exactly the old keys.
  auto lk = keys_of(left);
  auto rk = keys_of(right);
  CHECK(lk.back() < rk.front());
  std::vector<std::string> joined = lk;
  joined.insert(joined.end(), rk.begin(), rk.end());
  CHECK(joined == all);
  // The pieces have the shape of treaps built from their keys (same seed): same WHERE paths.
  CHECK(paths_of(left) == fresh_paths(lk));
  CHECK(paths_of(right) == fresh_paths(rk));

  // The old shard is gone (the broker re-routes); the pieces serve their halves.
  CHECK(t.execute(routed("get", 1, 3, key_n(5))).error == "ERR shard 1 is not held by worker w1");
  CHECK(t.execute(routed("get", 10, 4, key_n(5))).value == value_n(5));
  CHECK(t.execute(routed("get", 11, 4, key_n(300))).value == value_n(300));
  CHECK(t.execute(routed("get", 10, 4, key_n(300))).error == "ERR key outside shard 10");
  CHECK(t.execute(routed("get", 10, 3, key_n(5))).error == "ERR stale epoch for shard 10 (have 4)");
  // Both pieces are reported with their counts.
  const auto reported = t.describe();
  REQUIRE(reported.size() == 2);
  CHECK(reported[0].keys + reported[1].keys == 1000);
}

TEST_CASE("split at the median: both halves non-empty, sizes n/2 and n - n/2") {
  const int n = GENERATE(2, 3, 1001, 4096);
  CAPTURE(n);
  ShardTable t("w1");
  REQUIRE(t.assign({shard_info(1, "", std::nullopt, 7)}).ok());
  fill(t, 1, 7, 0, n);
  const auto all = keys_of(t.find(1)->tree());
  const Reply r = t.execute(split_op(t.find(1)->info(), 2, 3));
  INFO(r.error);
  REQUIRE(r.ok);
  REQUIRE(r.shards.size() == 2);
  const std::string& key = *r.shards[0].hi;
  CHECK(key == all[static_cast<std::size_t>(n / 2)]);  // the key at rank size/2
  CHECK(r.shards[0].lo.empty());
  CHECK(r.shards[1].lo == key);
  CHECK_FALSE(r.shards[1].hi.has_value());
  CHECK(r.shards[0].keys == static_cast<uint64_t>(n / 2));
  CHECK(r.shards[1].keys == static_cast<uint64_t>(n - n / 2));
  CHECK(t.find(2)->tree().size() == static_cast<std::size_t>(n / 2));
  CHECK(t.find(3)->tree().size() == static_cast<std::size_t>(n - n / 2));
  CHECK(t.find(2)->tree().check_invariants().empty());
  CHECK(t.find(3)->tree().check_invariants().empty());
  CHECK(keys_of(t.find(2)->tree()).back() < keys_of(t.find(3)->tree()).front());
}

TEST_CASE("split at the median counts only the keys inside the shard's bounds") {
  ShardTable t("w1");
  REQUIRE(t.assign({shard_info(1, "", std::nullopt, 1)}).ok());
  fill(t, 1, 1, 0, 100);
  // Narrow the bounds: keys k00000..k00049 stay in the tree but are outside [k00050, +inf).
  REQUIRE(t.assign({shard_info(1, key_n(50), std::nullopt, 2)}).ok());
  const Reply r = t.execute(split_op(t.find(1)->info(), 2, 3));
  REQUIRE(r.ok);
  CHECK(*r.shards[0].hi == key_n(75));
  CHECK(r.shards[0].keys == 25);
  CHECK(r.shards[1].keys == 25);
}

TEST_CASE("split errors: unknown shard, stale epoch, key outside, fewer than 2 keys") {
  ShardTable t("w1");
  REQUIRE(t.assign({shard_info(1, "c", "p", 5), shard_info(2, "p", std::nullopt, 5)}).ok());
  const ShardInfo s1 = t.find(1)->info();

  CHECK(t.execute(split_op(shard_info(9, "", std::nullopt, 5), 20, 21)).error ==
        "ERR shard 9 is not held by worker w1");
  ShardInfo stale = s1;
  stale.epoch = 4;
  CHECK(t.execute(split_op(stale, 20, 21)).error == "ERR stale epoch for shard 1 (have 5)");

  CHECK(t.execute(split_op(s1, 20, 21)).error == "ERR cannot split shard 1: fewer than 2 keys");
  REQUIRE(t.execute(routed("set", 1, 5, "d", "1")).ok);
  CHECK(t.execute(split_op(s1, 20, 21)).error == "ERR cannot split shard 1: fewer than 2 keys");
  REQUIRE(t.execute(routed("set", 1, 5, "e", "2")).ok);

  for (const std::string bad : {"c", "a", "p", "q", ""}) {
    CAPTURE(bad);
    const Reply r = t.execute(split_op(s1, 20, 21, bad));
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.error, Catch::StartsWith("ERR split key outside shard 1"));
  }
  CHECK_THAT(t.execute(split_op(s1, 2, 21)).error, Catch::Contains("must be distinct and unused"));
  CHECK_THAT(t.execute(split_op(s1, 20, 20)).error, Catch::Contains("must be distinct and unused"));
  Op no_templates = split_op(s1, 20, 21);
  no_templates.shards.pop_back();
  CHECK(t.execute(no_templates).error == "ERR split needs two shard templates");
  Op same_epoch = split_op(s1, 20, 21);
  same_epoch.shards[1].epoch = 5;
  CHECK_THAT(t.execute(same_epoch).error, Catch::Contains("the new epochs must be above 5"));

  // Nothing changed; a good split still works, and an empty half is allowed with a given key.
  REQUIRE(t.size() == 2);
  CHECK(t.find(1)->count() == 2);
  const Reply r = t.execute(split_op(s1, 20, 21, "o"));
  REQUIRE(r.ok);
  CHECK(r.shards[0].keys == 2);
  CHECK(r.shards[1].keys == 0);
}

TEST_CASE("importing shards: not reported, only import and sync reach them, assign ends it") {
  ShardTable t("w1");
  REQUIRE(t.assign({shard_info(1, "", "m", 2), shard_info(2, "m", std::nullopt, 6, true)}).ok());
  REQUIRE(t.size() == 2);
  CHECK(t.find(2)->info().importing);
  auto reported = t.describe();
  REQUIRE(reported.size() == 1);
  CHECK(reported[0].id == 1);

  // Ordinary ops are refused as for a shard not held (the broker re-routes those).
  const Reply get = t.execute(routed("get", 2, 6, "q"));
  CHECK_THAT(get.error, Catch::StartsWith("ERR shard 2 is not held by worker w1"));
  CHECK_THAT(t.execute(routed("set", 2, 6, "q", "1")).error,
             Catch::StartsWith("ERR shard 2 is not held by worker w1"));
  CHECK_THAT(t.execute(split_op(t.find(2)->info(), 7, 8)).error,
             Catch::StartsWith("ERR shard 2 is not held by worker w1"));

  // Import: only into the importing shard, at its epoch, and only keys inside it.
  Reply r = t.execute(import_op(2, 6, {{"n", "1"}, {"q", "2"}, {"z", "3"}}));
  INFO(r.error);
  REQUIRE(r.ok);
  CHECK(r.n == 3);
  CHECK(t.execute(import_op(2, 5, {{"n", "1"}})).error == "ERR stale epoch for shard 2 (have 6)");
  CHECK(t.execute(import_op(1, 2, {{"a", "1"}})).error ==
        "ERR shard 1 is not being imported by worker w1");
  CHECK(t.execute(import_op(3, 2, {{"a", "1"}})).error == "ERR shard 3 is not held by worker w1");
  r = t.execute(import_op(2, 6, {{"p", "1"}, {"a", "outside"}}));
  CHECK_THAT(r.error, Catch::StartsWith("ERR import: key 'a' outside shard 2"));
  CHECK(t.find(2)->tree().size() == 3);  // nothing of the refused chunk was written
  CHECK(t.execute(import_op(2, 6, {})).n == 0);
  CHECK(t.execute(routed("sync", 2, 6)).ok);
  CHECK(t.execute(routed("sync", 2, 5)).error == "ERR stale epoch for shard 2 (have 6)");
  CHECK(t.describe().size() == 1);

  // Re-sent with the same import (another shard changed): kept with its keys.
  REQUIRE(t.assign({shard_info(1, "", "m", 2), shard_info(2, "m", std::nullopt, 6, true)}).ok());
  CHECK(t.find(2)->tree().size() == 3);
  // The move finished: listed without the flag, it is an ordinary shard with its keys.
  REQUIRE(t.assign({shard_info(1, "", "m", 2), shard_info(2, "m", std::nullopt, 6)}).ok());
  CHECK_FALSE(t.find(2)->info().importing);
  reported = t.describe();
  REQUIRE(reported.size() == 2);
  CHECK(reported[1].keys == 3);
  CHECK(t.execute(routed("get", 2, 6, "q")).value == "2");
  CHECK(t.execute(import_op(2, 6, {{"n", "1"}})).error ==
        "ERR shard 2 is not being imported by worker w1");

  // A new import of a held shard (or of an import at another epoch) starts from empty.
  REQUIRE(t.assign({shard_info(1, "", "m", 2), shard_info(2, "m", std::nullopt, 8, true)}).ok());
  CHECK(t.find(2)->info().importing);
  CHECK(t.find(2)->tree().size() == 0);
  REQUIRE(t.execute(import_op(2, 8, {{"x", "1"}})).ok);
  REQUIRE(t.assign({shard_info(1, "", "m", 2), shard_info(2, "m", std::nullopt, 9, true)}).ok());
  CHECK(t.find(2)->tree().size() == 0);
  // Omitted: kept (a partial import may still be the only copy a handoff points at).
  REQUIRE(t.assign({shard_info(1, "", "m", 2)}).ok());
  REQUIRE(t.find(2) != nullptr);
  CHECK(t.find(2)->info().importing);
  // Dropped when the broker names it at its epoch.
  REQUIRE(t.assign({shard_info(1, "", "m", 2)}, {shard_info(2, "m", std::nullopt, 9)}).ok());
  CHECK(t.find(2) == nullptr);
}

TEST_CASE("durability: splits, imports and the importing flag survive a crash") {
  TempDir dir;
  State before;
  {
    Disk d(dir.path());
    REQUIRE(d.storage.recover(d.table).ok());
    REQUIRE(d.table
                .assign({shard_info(1, "", "m", 1), shard_info(2, "m", std::nullopt, 1),
                         shard_info(5, "x", "y", 3, true)})
                .ok());
    std::vector<KV> pairs;
    for (int i = 0; i < 200; ++i) {
      std::string k = "x";
      k += key_n(i);
      pairs.emplace_back(k, value_n(i));
    }
    fill(d.table, 1, 1, 0, 1500);  // all in [, m): "k..." < "m"
    REQUIRE(d.table.execute(import_op(5, 3, pairs)).ok);
    REQUIRE(d.table.commit().ok());
    Reply r = d.table.execute(split_op(d.table.find(1)->info(), 10, 11));
    REQUIRE(r.ok);
    // Writes after the split go to the pieces, in the same turn.
    REQUIRE(d.table.execute(routed("set", 10, 2, key_n(3), "after")).ok);
    REQUIRE(d.table.execute(routed("del", 11, 2, key_n(1400))).n == 1);
    r = d.table.execute(split_op(d.table.find(11)->info(), 12, 13, key_n(1000)));
    REQUIRE(r.ok);
    REQUIRE(d.table.commit().ok());
    before = capture(d.table);
  }  // a crash: nothing more is written
  const State after = recover_state(dir.path());
  CHECK(after == before);
  REQUIRE(after.infos.size() == 5);
  CHECK(after.infos.count(1) == 0);
  CHECK(after.infos.count(11) == 0);
  CHECK(after.infos.at(10).hi == key_n(750));
  CHECK(after.infos.at(10).epoch == 2);
  CHECK(after.infos.at(12).lo == key_n(750));
  CHECK(after.infos.at(12).hi == key_n(1000));
  CHECK(after.infos.at(13).epoch == 3);
  CHECK(after.infos.at(5).importing);
  CHECK_FALSE(after.infos.at(10).importing);
  CHECK(after.values.at("10/" + key_n(3)) == "after");
  CHECK(after.values.count("13/" + key_n(1400)) == 0);
  CHECK(after.values.size() == 1500 - 1 + 200);

  // After a restart: the importing shard is still not reported; the move completes (flag
  // cleared, persisted), then a compaction writes the pieces into a snapshot.
  {
    Disk d(dir.path());
    REQUIRE(d.storage.recover(d.table).ok());
    for (const auto& s : d.table.describe()) CHECK(s.id != 5);
    std::vector<ShardInfo> all;
    for (const auto& [id, shard] : d.table.shards()) {
      ShardInfo s = shard.info();
      s.importing = false;
      all.push_back(s);
    }
    REQUIRE(d.table.assign(all).ok());
    REQUIRE(d.storage.compact(d.table).ok());
    before = capture(d.table);
  }
  const State compacted = recover_state(dir.path());
  CHECK(compacted == before);
  CHECK_FALSE(compacted.infos.at(5).importing);
  CHECK(compacted.values.size() == 1500 - 1 + 200);
}

TEST_CASE("durability: an importing shard stays flagged through a snapshot") {
  TempDir dir;
  {
    Disk d(dir.path());
    REQUIRE(d.storage.recover(d.table).ok());
    REQUIRE(d.table.assign({shard_info(4, "", std::nullopt, 2, true)}).ok());
    REQUIRE(d.table.execute(import_op(4, 2, {{"a", "1"}, {"b", "2"}})).ok);
    REQUIRE(d.table.commit().ok());
    REQUIRE(d.storage.compact(d.table).ok());
  }
  const State s = recover_state(dir.path());
  REQUIRE(s.infos.size() == 1);
  CHECK(s.infos.at(4).importing);
  CHECK(s.values.size() == 2);
}

TEST_CASE("durability: a split that cannot be persisted is undone, shapes included") {
  TempDir dir;
  auto disk = std::make_unique<Disk>(dir.path());
  Disk& d = *disk;
  REQUIRE(d.storage.recover(d.table).ok());
  REQUIRE(d.table.assign({shard_info(1, "", std::nullopt, 1)}).ok());
  fill(d.table, 1, 1, 0, 2000);
  REQUIRE(d.table.commit().ok());
  const State before = capture(d.table);
  uint64_t size = 0;
  REQUIRE(file_size(log_path(dir.path(), 1), size).ok());
  {
    FsizeLimit limit(size + 10);
    REQUIRE(d.table.execute(routed("set", 1, 1, key_n(7), "before-split")).ok);
    REQUIRE(d.table.execute(split_op(d.table.find(1)->info(), 2, 3)).ok);
    REQUIRE(d.table.execute(routed("set", 2, 2, key_n(8), "after-split")).ok);
    REQUIRE(d.table.execute(routed("set", 3, 2, "zz", "new key")).ok);
    REQUIRE_FALSE(d.table.commit().ok());
    CHECK(capture(d.table) == before);
    CHECK(d.table.find(1)->tree().check_invariants().empty());
  }
  // The worker goes on with the old shard, and the split can be made again.
  REQUIRE(d.table.execute(split_op(d.table.find(1)->info(), 2, 3)).ok);
  REQUIRE(d.table.commit().ok());
  const State done = capture(d.table);
  disk.reset();
  CHECK(recover_state(dir.path()) == done);
}

TEST_CASE("a split the broker never learned of is joined back when it assigns the old shard") {
  ShardTable t("w1");
  REQUIRE(t.assign({shard_info(1, "", std::nullopt, 3), shard_info(2, "zz", "zzz", 3)}).ok());
  fill(t, 1, 3, 0, 500);
  const auto paths = paths_of(t.find(1)->tree());
  REQUIRE(t.execute(split_op(t.find(1)->info(), 10, 11)).ok);
  // The broker still has shard 1 at epoch 3 here (its split reply never arrived).
  REQUIRE(t.assign({shard_info(1, "", std::nullopt, 3), shard_info(2, "zz", "zzz", 3)}).ok());
  REQUIRE(t.size() == 2);
  const Shard* whole = t.find(1);
  REQUIRE(whole != nullptr);
  CHECK(whole->info() == shard_info(1, "", std::nullopt, 3));
  CHECK(whole->count() == 500);
  CHECK(whole->tree().check_invariants().empty());
  CHECK(paths_of(whole->tree()) == paths);
  CHECK(t.execute(routed("get", 1, 3, key_n(499))).value == value_n(499));

  // Pieces that do not tile a newly listed shard are kept (only a drop deletes them), and no
  // empty shard is created over them: the assignment is refused.
  REQUIRE(t.execute(split_op(t.find(1)->info(), 10, 11)).ok);
  const Status refused = t.assign({shard_info(12, "", key_n(100), 5)});
  CHECK_FALSE(refused.ok());
  CHECK_THAT(refused.message(), Catch::Contains("refusing to create shard 12"));
  REQUIRE(t.size() == 3);  // 2 and the pieces 10 and 11
  CHECK(t.find(12) == nullptr);
  CHECK(t.find(10)->count() + t.find(11)->count() == 500);
}

TEST_CASE("durability: a joined-back split survives a crash") {
  TempDir dir;
  State before;
  {
    Disk d(dir.path());
    REQUIRE(d.storage.recover(d.table).ok());
    REQUIRE(d.table.assign({shard_info(1, "", "q", 3)}).ok());
    fill(d.table, 1, 3, 0, 800);
    REQUIRE(d.table.commit().ok());
    before = capture(d.table);
    REQUIRE(d.table.execute(split_op(d.table.find(1)->info(), 10, 11)).ok);
    REQUIRE(d.table.execute(split_op(d.table.find(11)->info(), 12, 13)).ok);
    REQUIRE(d.table.commit().ok());
  }
  {
    // Restarted (the split is on disk), the worker registers with 10, 12, 13; a broker that
    // never saw the splits answers with shard 1.
    Disk d(dir.path());
    REQUIRE(d.storage.recover(d.table).ok());
    REQUIRE(d.table.size() == 3);
    REQUIRE(d.table.assign({shard_info(1, "", "q", 3)}).ok());
    CHECK(capture(d.table) == before);
  }
  CHECK(recover_state(dir.path()) == before);
}

TEST_CASE("export: rng from a cursor below the shard's low bound starts at the bound") {
  ShardTable t("w1");
  REQUIRE(t.assign({shard_info(1, "", std::nullopt, 1)}).ok());
  fill(t, 1, 1, 0, 100);
  // Narrowed to [k00040, k00060): the other keys stay in the tree, hidden.
  REQUIRE(t.assign({shard_info(1, key_n(40), key_n(60), 2)}).ok());
  Op first = routed("rng", 1, 2);
  first.limit = 15;
  Reply r = t.execute(first);
  REQUIRE(r.items.has_value());
  REQUIRE(r.items->size() == 15);
  CHECK(r.items->front().first == key_n(40));
  Op next = routed("rng", 1, 2, "a");  // a cursor below lo
  next.limit = 100;
  r = t.execute(next);
  REQUIRE(r.items->size() == 20);
  CHECK(r.items->front().first == key_n(40));
  CHECK(r.items->back().first == key_n(59));
  Op cursor = routed("rng", 1, 2, key_n(54) + std::string(1, '\0'));
  r = t.execute(cursor);
  REQUIRE(r.items->size() == 5);
  CHECK(r.items->front().first == key_n(55));
}
