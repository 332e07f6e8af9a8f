// Merges in the broker's loop, with fake workers: a member failing mid-merge defers the writes
// that waited only for it (on either shard) until a configuration without it is recorded; an
// abandoned merge removes every member that did not refuse it, at an epoch above the merged
// shard's, and leaves no shard wedged (held ops released, later writes acknowledged).
#include "broker_harness.hpp"

namespace clossyne::testing {
namespace {

broker::BrokerConfig merge_config(int replicas, int liveness_ms = 3500) {
  broker::BrokerConfig cfg;
  cfg.liveness_ms = liveness_ms;
  cfg.min_workers = replicas;
  cfg.replicas = replicas;
  cfg.op_timeout_ms = 5000;
  cfg.split_points = {"m"};
  cfg.balance.auto_balance = false;
  cfg.balance.shard_min_keys = 0;
  cfg.balance.shard_min_bytes = 0;
  cfg.balance.shard_max_bytes = 0;
  cfg.balance.shard_max_keys = 0;
  return cfg;
}

Op merge_op(uint32_t a, uint32_t b) {
  Op o;
  o.op = "merge";
  o.shard = a;
  o.args = {std::to_string(b)};
  return o;
}

// A fresh cluster split at "m": w1 and w2 both hold A = [, m) and B = [m, +inf).
struct Pair {
  explicit Pair(BrokerHarness& h) : w1(h.worker("w1")), w2(h.worker("w2")) {
    w1.register_with({}, "");
    w2.register_with({}, "");
    REQUIRE(h.expect_assign(w1));
    REQUIRE(h.expect_assign(w2));
    REQUIRE(w1.held.size() == 2);
    for (const auto& [id, s] : w1.held) (s.lo.empty() ? a : b) = s;
    REQUIRE(a.replicas.size() == 2);
    primary = &(a.replicas[0] == "w1" ? w1 : w2);
    follower = &(a.replicas[0] == "w1" ? w2 : w1);
  }
  FakeWorker& w1;
  FakeWorker& w2;
  FakeWorker* primary = nullptr;
  FakeWorker* follower = nullptr;
  ShardInfo a, b;
};

bool lists(const Op& assign, uint32_t id) {
  return std::any_of(assign.shards.begin(), assign.shards.end(),
                     [&](const ShardInfo& s) { return s.id == id; });
}

const ShardInfo* listed(const Op& assign, uint32_t id) {
  for (const auto& s : assign.shards) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("broker loop: a write on the right shard that a member fails mid-merge waits") {
  BrokerHarness h(merge_config(2));
  Pair p(h);
  // B's own primary and follower (A's may be the other way round).
  FakeWorker& primary = p.b.replicas[0] == "w1" ? p.w1 : p.w2;
  FakeWorker& follower = p.b.replicas[0] == "w1" ? p.w2 : p.w1;
  const uint64_t id = h.send(BrokerHarness::set_op("x", "v"));  // on B
  auto at_primary = h.expect_sub(primary, "set");
  auto at_follower = h.expect_sub(follower, "set");
  REQUIRE(at_primary);
  REQUIRE(at_follower);
  primary.ok(*at_primary);
  REQUIRE(h.call(merge_op(p.a.id, p.b.id)).ok);
  auto merge_p = h.expect_sub(primary, "merge");
  auto merge_f = h.expect_sub(follower, "merge");
  REQUIRE(merge_p);
  REQUIRE(merge_f);
  REQUIRE(merge_p->shards.size() == 2);
  const ShardInfo c = merge_p->shards[1];
  // The follower fails the write: it leaves; the write waited only for it, but no configuration
  // without it is recorded yet.
  follower.fail(*at_follower, ErrorCode::kReplicaGap, "ERR replication gap");
  h.pump(300);
  CHECK_FALSE(h.answered(id));
  // The primary merges: C without the follower, recorded on the primary, then the write is acked.
  Reply merged;
  merged.id = merge_p->id;
  ShardInfo made = c;
  made.keys = 1;
  merged.shards = {made};
  primary.answer(merged, merge_p->id);
  auto confirm = h.expect(primary, [&](const Received& r) {
    return r.in_batch && r.op.op == "sync" && r.op.shard == c.id;
  });
  REQUIRE(confirm);
  h.pump(200);
  CHECK_FALSE(h.answered(id));
  primary.ok(*confirm);
  auto r = h.reply(id);
  REQUIRE(r);
  CHECK(r->ok);
}

TEST_CASE("broker loop: an abandoned merge removes members that did not refuse it, above C") {
  BrokerHarness h(merge_config(2));
  Pair p(h);
  const uint64_t id = h.send(BrokerHarness::set_op("a", "v"));  // on A
  auto at_primary = h.expect_sub(*p.primary, "set");
  auto at_follower = h.expect_sub(*p.follower, "set");
  REQUIRE(at_primary);
  REQUIRE(at_follower);
  REQUIRE(h.call(merge_op(p.a.id, p.b.id)).ok);
  auto merge_p = h.expect_sub(*p.primary, "merge");
  auto merge_f = h.expect_sub(*p.follower, "merge");
  REQUIRE(merge_p);
  REQUIRE(merge_f);
  const ShardInfo c = merge_p->shards[1];
  // The primary's answer to the merge is lost, then it fails the old write: it may hold C.
  p.follower->ok(*at_follower);
  p.primary->fail(*at_primary, ErrorCode::kReplicaGap, "ERR replication gap");
  // The follower refuses the merge: nobody left merged, the merge is abandoned.
  p.follower->fail(*merge_f, ErrorCode::kOther, "ERR no merge");
  auto r = h.reply(id);
  REQUIRE(r);
  CHECK_FALSE(r->ok);  // its primary failed it
  // A and B go on with the follower alone, recorded above C's epoch.
  for (const ShardInfo& s : {p.a, p.b}) {
    auto assign = h.expect(*p.follower, [&](const Received& x) {
      return !x.in_batch && x.op.op == "assign" && lists(x.op, s.id) &&
             listed(x.op, s.id)->replicas == std::vector<std::string>{p.follower->id()};
    });
    REQUIRE(assign);
    CHECK(listed(*assign, s.id)->epoch > c.epoch);
  }
  CHECK(h.quiet(
      *p.primary,
      [&](const Received& x) {
        return !x.in_batch && x.op.op == "assign" && (lists(x.op, p.a.id) || lists(x.op, p.b.id));
      },
      200));
  // Confirmed, A serves again: a new write is acknowledged from the follower alone.
  for (int i = 0; i < 2; ++i) {
    auto confirm = h.expect_sub(*p.follower, "sync");
    REQUIRE(confirm);
    p.follower->ok(*confirm);
  }
  const uint64_t next = h.send(BrokerHarness::set_op("b", "v"));
  auto write = h.expect_sub(*p.follower, "set");
  REQUIRE(write);
  CHECK(write->epoch > c.epoch);
  p.follower->ok(*write);
  auto acked = h.reply(next);
  REQUIRE(acked);
  CHECK(acked->ok);
}

TEST_CASE("broker loop: an abandoned merge that leaves no member asks live ones what they hold") {
  BrokerHarness h(merge_config(2, 800));
  Pair p(h);
  const uint64_t id = h.send(BrokerHarness::set_op("a", "v"));  // on A
  auto at_primary = h.expect_sub(*p.primary, "set");
  auto at_follower = h.expect_sub(*p.follower, "set");
  REQUIRE(at_primary);
  REQUIRE(at_follower);
  REQUIRE(h.call(merge_op(p.a.id, p.b.id)).ok);
  REQUIRE(h.expect_sub(*p.primary, "merge"));
  REQUIRE(h.expect_sub(*p.follower, "merge"));
  // The primary (slow: its merge answer is lost) fails the old write; then the follower dies.
  p.follower->ok(*at_follower);
  p.primary->fail(*at_primary, ErrorCode::kReplicaGap, "ERR replication gap");
  p.follower->heartbeats = false;
  auto r = h.reply(id);
  REQUIRE(r);
  CHECK_FALSE(r->ok);
  // Neither refused: both may hold the merged shard. The live one is not told to hold A or B
  // (it may have joined them), it is asked to register again.
  auto again = h.expect(*p.primary,
                        [](const Received& x) { return !x.in_batch && x.op.op == "reregister"; });
  CHECK(again);
  CHECK(h.quiet(
      *p.primary,
      [&](const Received& x) {
        return !x.in_batch && x.op.op == "assign" && (lists(x.op, p.a.id) || lists(x.op, p.b.id));
      },
      200));
}

TEST_CASE("broker loop: a newer copy of one shard of a merging pair releases the other's ops") {
  BrokerHarness h(merge_config(1));
  FakeWorker& w1 = h.worker("w1");
  w1.register_with({shard(1, "", "m", 3), shard(2, "m", std::nullopt, 3)}, "c1");
  REQUIRE(h.expect_assign(w1));
  REQUIRE(h.call(merge_op(1, 2)).ok);
  REQUIRE(h.expect_sub(w1, "merge"));
  const uint64_t id = h.send(BrokerHarness::get_op("x"));  // on B: held by the merge
  h.pump(200);
  CHECK_FALSE(h.answered(id));
  // w2 registers a newer copy of A's range: the merge is abandoned; B serves its held op.
  FakeWorker& w2 = h.worker("w2");
  w2.register_with({shard(7, "", "m", 9)}, "c1");
  auto get = h.expect_sub(w1, "get");
  REQUIRE(get);
  CHECK(get->shard == std::optional<uint32_t>(2));
  w1.answer(w1.serve(*get), get->id);
  auto r = h.reply(id);
  REQUIRE(r);
  CHECK(r->ok);
}

}  // namespace clossyne::testing
