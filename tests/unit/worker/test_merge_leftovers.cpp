// What a merge leaves behind on a worker: an assignment never creates an empty shard over a held
// shard it does not list or drop (an abandoned merge's join has those keys), and a join keeps only
// each piece's keys inside its own range (a key hidden by narrowed bounds is no live value).
#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "shard_infos.hpp"
#include "worker/shard.hpp"
#include "worker/shard_table.hpp"

using namespace clossyne;

namespace {

constexpr uint64_t kSeed = 4242;

ShardInfo info(uint32_t id, std::string lo, std::optional<std::string> hi, uint64_t epoch) {
  return testing::make_shard_info(id, std::move(lo), std::move(hi), epoch, kSeed, false);
}

Op routed(const std::string& op, uint32_t shard, uint64_t epoch, std::string key,
          std::string value = {}) {
  static uint64_t id = 1;
  Op o;
  o.id = id++;
  o.op = op;
  o.shard = shard;
  o.epoch = epoch;
  o.key = std::move(key);
  if (op == "set") o.value = std::move(value);
  return o;
}

}  // namespace

TEST_CASE("an assignment that would create an empty shard over a held merged shard is refused") {
  ShardTable t("w1");
  const ShardInfo a = info(1, "", "m", 1), b = info(2, "m", std::nullopt, 1);
  REQUIRE(t.assign({a, b}).ok());
  REQUIRE(t.execute(routed("set", 1, 1, "a", "1")).ok);
  REQUIRE(t.execute(routed("set", 2, 1, "x", "2")).ok);
  Op merge = routed("merge", 1, 1, "");
  merge.key.reset();
  ShardInfo c = a;
  c.id = 3;
  c.epoch = 2;
  merge.shards = {b, c};
  REQUIRE(t.execute(merge).ok);
  REQUIRE(t.find(3) != nullptr);
  // The merge was abandoned by the broker, which assigns the pair again, above C's epoch.
  const Status st = t.assign({info(1, "", "m", 3), info(2, "m", std::nullopt, 3)});
  CHECK_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains("refusing to create shard 1"));
  REQUIRE(t.size() == 1);
  CHECK(t.find(3)->tree().size() == 2);
  // Dropped in the same assignment, the merged shard no longer stands in the way.
  const ShardInfo held = t.find(3)->info();
  CHECK(t.assign({info(1, "", "m", 3)}, {held}).ok());
  CHECK(t.find(1) != nullptr);
  CHECK(t.find(3) == nullptr);
}

TEST_CASE("a join keeps only the keys inside each piece's range") {
  ShardInfo whole = info(1, "", std::nullopt, 1);
  // The left piece still holds "p" (hidden: out of its range) and, in another seed's tree, the
  // right piece's live "p" differs: the live value must win.
  Shard wide(info(1, "", std::nullopt, 1));
  REQUIRE(wide.apply(routed("set", 1, 1, "a", "left"), "w1").ok);
  REQUIRE(wide.apply(routed("set", 1, 1, "p", "hidden"), "w1").ok);
  wide.reassign(info(1, "", "m", 1));
  ShardInfo other_seed = info(2, "m", std::nullopt, 1);
  other_seed.seed = kSeed + 1;
  Shard live(other_seed);
  REQUIRE(live.apply(routed("set", 2, 1, "p", "live"), "w1").ok);
  Shard joined = Shard::join(std::move(wide), std::move(live), whole);
  CHECK(joined.tree().find("p") == std::optional<std::string_view>("live"));
  CHECK(joined.tree().find("a") == std::optional<std::string_view>("left"));
  CHECK(joined.tree().size() == 2);
  // Ordered pieces of one seed: a hidden key in the gap is not brought back to life either.
  Shard wide2(info(1, "", std::nullopt, 1));
  REQUIRE(wide2.apply(routed("set", 1, 1, "n", "dead"), "w1").ok);
  wide2.reassign(info(1, "", "m", 1));
  Shard right2(info(2, "m", std::nullopt, 1));
  REQUIRE(right2.apply(routed("set", 2, 1, "q", "live"), "w1").ok);
  Shard joined2 = Shard::join(std::move(wide2), std::move(right2), whole);
  CHECK_FALSE(joined2.tree().find("n").has_value());
  CHECK(joined2.tree().size() == 1);
}
