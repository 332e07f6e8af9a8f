// Replicated shards (--replicas 2) in the broker's loop, with fake workers: a write reaches every
// member with a seq and is acknowledged only when all answered; a member that fails leaves the
// configuration, which is recorded (assign + confirming sync) before anything waiting is
// acknowledged; a dead primary is replaced by its follower; a follower that missed a write is not
// promoted; after a broker restart a shard is served only once every member has reported it.
#include "broker_harness.hpp"

namespace clossyne::testing {
namespace {

broker::BrokerConfig replicated_config(int liveness_ms = 3500) {
  broker::BrokerConfig cfg;
  cfg.min_workers = 2;
  cfg.replicas = 2;
  cfg.liveness_ms = liveness_ms;
  cfg.op_timeout_ms = 2000;
  cfg.balance.auto_balance = false;
  return cfg;
}

// A new two-worker cluster with one shard (no split points): w1 and w2 both register empty.
struct Pair {
  explicit Pair(BrokerHarness& h) : a(h.worker("w1")), b(h.worker("w2")) {
    a.register_with({}, "");
    b.register_with({}, "");
    REQUIRE(h.expect_assign(a));
    REQUIRE(h.expect_assign(b));
  }
  FakeWorker& a;
  FakeWorker& b;
};

ShardInfo only_shard(FakeWorker& w) {
  REQUIRE(w.held.size() == 1);
  return w.held.begin()->second;
}

}  // namespace

TEST_CASE("a fresh replicated shard has two members and both are assigned it") {
  BrokerHarness h(replicated_config());
  Pair p(h);
  const ShardInfo sa = only_shard(p.a), sb = only_shard(p.b);
  CHECK(sa.id == sb.id);
  CHECK(sa.epoch == sb.epoch);
  REQUIRE(sa.replicas.size() == 2);
  CHECK(sa.replicas == sb.replicas);
  CHECK(sa.replicas[0] != sa.replicas[1]);
}

TEST_CASE("a replicated write is acknowledged only when every member answered") {
  BrokerHarness h(replicated_config());
  Pair p(h);
  const ShardInfo s = only_shard(p.a);
  FakeWorker& primary = s.replicas[0] == "w1" ? p.a : p.b;
  FakeWorker& follower = s.replicas[0] == "w1" ? p.b : p.a;
  const uint64_t id = h.send(BrokerHarness::set_op("k", "v"));
  auto at_primary = h.expect_sub(primary, "set");
  auto at_follower = h.expect_sub(follower, "set");
  REQUIRE(at_primary);
  REQUIRE(at_follower);
  CHECK(at_primary->seq == std::optional<uint64_t>(1));
  CHECK(at_follower->seq == std::optional<uint64_t>(1));
  CHECK(at_primary->id == at_follower->id);
  primary.ok(*at_primary);
  h.pump(200);
  CHECK_FALSE(h.answered(id));  // the follower has not answered
  follower.ok(*at_follower);
  auto r = h.reply(id);
  REQUIRE(r);
  CHECK(r->ok);
  // The next write takes the next seq; reads go to the primary alone, with no seq.
  h.send(BrokerHarness::set_op("k2", "v"));
  auto second = h.expect_sub(follower, "set");
  REQUIRE(second);
  CHECK(second->seq == std::optional<uint64_t>(2));
  h.send(BrokerHarness::get_op("k"));
  auto read = h.expect_sub(primary, "get");
  REQUIRE(read);
  CHECK_FALSE(read->seq.has_value());
  CHECK(h.quiet(
      follower, [](const Received& r) { return r.in_batch && r.op.op == "get"; }, 200));
}

TEST_CASE("a follower that refuses a write leaves the configuration before the write is acked") {
  BrokerHarness h(replicated_config());
  Pair p(h);
  const ShardInfo s = only_shard(p.a);
  FakeWorker& primary = s.replicas[0] == "w1" ? p.a : p.b;
  FakeWorker& follower = s.replicas[0] == "w1" ? p.b : p.a;
  const uint64_t id = h.send(BrokerHarness::set_op("k", "v"));
  auto at_primary = h.expect_sub(primary, "set");
  auto at_follower = h.expect_sub(follower, "set");
  REQUIRE(at_primary);
  REQUIRE(at_follower);
  primary.ok(*at_primary);
  follower.fail(*at_follower, ErrorCode::kReplicaGap, "ERR replication gap");
  // A new configuration without the follower, at a higher epoch, goes to the primary; the write
  // waits for the primary to confirm it.
  auto assign = h.expect_assign(primary);
  REQUIRE(assign);
  auto listed = std::find_if(assign->shards.begin(), assign->shards.end(),
                             [&](const ShardInfo& x) { return x.id == s.id; });
  REQUIRE(listed != assign->shards.end());
  CHECK(listed->epoch == s.epoch + 1);
  CHECK(listed->replicas == std::vector<std::string>{primary.id()});
  auto confirm = h.expect_sub(primary, "sync");
  REQUIRE(confirm);
  CHECK(confirm->epoch == s.epoch + 1);
  h.pump(200);
  CHECK_FALSE(h.answered(id));
  primary.ok(*confirm);
  auto r = h.reply(id);
  REQUIRE(r);
  CHECK(r->ok);
  // Writes now go to the primary alone, at the new epoch, seq from 1 again.
  h.send(BrokerHarness::set_op("k3", "v"));
  auto next = h.expect_sub(primary, "set");
  REQUIRE(next);
  CHECK(next->epoch == s.epoch + 1);
  CHECK(next->seq == std::optional<uint64_t>(1));
  CHECK(h.quiet(
      follower, [](const Received& r) { return r.in_batch && r.op.op == "set"; }, 200));
}

TEST_CASE("a dead primary is replaced by its follower, which serves every later op") {
  BrokerHarness h(replicated_config(600));
  Pair p(h);
  const ShardInfo s = only_shard(p.a);
  FakeWorker& primary = s.replicas[0] == "w1" ? p.a : p.b;
  FakeWorker& follower = s.replicas[0] == "w1" ? p.b : p.a;
  follower.auto_serve = true;
  primary.auto_serve = true;
  REQUIRE(h.call(BrokerHarness::set_op("k", "v")).ok);
  primary.heartbeats = false;
  primary.auto_serve = false;  // dead: answers nothing
  auto assign = h.expect(
      follower,
      [&](const Received& r) {
        return !r.in_batch && r.op.op == "assign" && !r.op.shards.empty() &&
               r.op.shards[0].replicas == std::vector<std::string>{follower.id()};
      },
      4000);
  REQUIRE(assign);
  CHECK(assign->shards[0].epoch > s.epoch);
  auto got = h.get("k");
  REQUIRE(got.ok);
  CHECK(got.value == served_by(follower.id(), s.id, assign->shards[0].epoch));
}

TEST_CASE("a follower that still owes a write when it confirms is not made primary") {
  BrokerHarness h(replicated_config(600));
  Pair p(h);
  const ShardInfo s = only_shard(p.a);
  FakeWorker& primary = s.replicas[0] == "w1" ? p.a : p.b;
  FakeWorker& follower = s.replicas[0] == "w1" ? p.b : p.a;
  const uint64_t id = h.send(BrokerHarness::set_op("k", "v"));
  auto at_primary = h.expect_sub(primary, "set");
  auto at_follower = h.expect_sub(follower, "set");
  REQUIRE(at_primary);
  REQUIRE(at_follower);
  primary.ok(*at_primary);     // applied at the primary (a read there would see it) ...
  primary.heartbeats = false;  // ... which then dies; the follower's copy of the write was "lost"
  auto confirm = h.expect_sub(follower, "sync", 4000);
  REQUIRE(confirm);
  follower.ok(*confirm);  // it confirms without ever answering the write: it missed it
  auto r = h.reply(id, 4000);
  REQUIRE(r);
  CHECK_FALSE(r->ok);  // never acknowledged
  auto got = h.get("k");
  CHECK_FALSE(got.ok);  // no member is known to hold every write: unavailable, not stale
  CHECK(got.code == ErrorCode::kUnavailable);
}

TEST_CASE("after a broker restart a replicated shard waits for every member to report it") {
  BrokerHarness h(replicated_config());
  FakeWorker& a = h.worker("w1");
  FakeWorker& b = h.worker("w2");
  ShardInfo s = shard(7, "", std::nullopt, 4);
  s.replicas = {"w1", "w2"};
  a.register_with({s}, "c1");
  REQUIRE(h.expect_assign(a));
  auto early = h.get("k");
  CHECK_FALSE(early.ok);
  CHECK(early.code == ErrorCode::kUnavailable);
  CHECK(early.error.find("w1,w2") != std::string::npos);
  a.auto_serve = true;
  b.auto_serve = true;
  b.register_with({s}, "c1");
  // Served once both reported, from the recorded primary, at a new epoch both recorded.
  for (int i = 0; i < 50; ++i) {
    auto got = h.get("k");
    if (got.ok) {
      CHECK(got.value == served_by("w1", 7, 5));
      return;
    }
    h.pump(50);
  }
  FAIL("the shard was not served after both members registered");
}

TEST_CASE("a member that registers without the shard is left out and the other serves it") {
  BrokerHarness h(replicated_config());
  FakeWorker& a = h.worker("w1");
  FakeWorker& b = h.worker("w2");
  ShardInfo s = shard(7, "", std::nullopt, 4);
  s.replicas = {"w1", "w2"};
  a.auto_serve = true;
  b.auto_serve = true;
  b.register_with({s}, "c1");
  a.register_with({}, "c1");  // w1 lost its disk: it holds nothing, so no later configuration
  for (int i = 0; i < 50; ++i) {
    auto got = h.get("k");
    if (got.ok) {
      CHECK(got.value == served_by("w2", 7, 5));
      return;
    }
    h.pump(50);
  }
  FAIL("the shard was not served by its remaining member");
}

TEST_CASE("the members of a shard go to distinct zones when there are enough") {
  broker::BrokerConfig cfg = replicated_config();
  cfg.min_workers = 4;
  cfg.split_points = {"d", "h", "m", "r"};
  BrokerHarness h(cfg);
  const std::map<std::string, std::string> zone = {
      {"w1", "rack-a"}, {"w2", "rack-a"}, {"w3", "rack-b"}, {"w4", "rack-b"}};
  for (const auto& [id, z] : zone) h.worker(id).register_with({}, "", {}, false, z);
  std::map<uint32_t, std::vector<std::string>> members;
  for (const auto& [id, z] : zone) {
    auto a = h.expect_assign(h.worker(id));
    REQUIRE(a);
    for (const auto& s : a->shards) members[s.id] = s.replicas;
  }
  REQUIRE(members.size() == 5);
  std::map<std::string, int> copies;
  for (const auto& [id, m] : members) {
    REQUIRE(m.size() == 2);
    CHECK(zone.at(m[0]) != zone.at(m[1]));
    for (const auto& w : m) ++copies[w];
  }
  for (const auto& [w, n] : copies) CHECK(n <= 3);  // 10 copies over 4 workers: spread
}

}  // namespace clossyne::testing
