// The broker's loop with fake workers: clossyne-admin forget removes a stopped, empty worker from
// the worker table, refuses anything that could lose data, and a forgotten worker that comes back
// is a new registration adopted by the usual rules.
#include <catch2/catch.hpp>

#include "broker_harness.hpp"

using namespace clossyne;
using namespace clossyne::testing;

namespace {

constexpr int kLivenessMs = 400;

broker::BrokerConfig short_liveness() {
  broker::BrokerConfig cfg;
  cfg.liveness_ms = kLivenessMs;
  return cfg;
}

Op forget_op(const std::string& worker) {
  Op o;
  o.op = "forget";
  o.worker = worker;
  return o;
}

const WorkerInfo* find_worker(const Reply& st, const std::string& id) {
  for (const auto& w : st.workers)
    if (w.id == id) return &w;
  return nullptr;
}

// Stops `w` heartbeating and waits (bounded) until status shows it dead.
void kill(BrokerHarness& h, FakeWorker& w) {
  w.heartbeats = false;
  const int64_t deadline = now_ms() + 4 * kLivenessMs + kWaitMs;
  while (now_ms() < deadline) {
    const Reply st = h.status();  // kept: find_worker points into it
    const WorkerInfo* info = find_worker(st, w.id());
    REQUIRE(info != nullptr);
    if (!info->alive) return;
    h.pump(50);
  }
  FAIL("worker " << w.id() << " is still alive in status");
}

// w1 owns ['', m) at epoch 3, w2 [m, +inf) at epoch 7, w3 nothing; w2 and w3 serve.
struct ThreeWorkers {
  explicit ThreeWorkers(BrokerHarness& harness)
      : h(harness), w1(h.worker("w1")), w2(h.worker("w2")), w3(h.worker("w3")) {
    w1.register_with({shard(1, "", "m", 3)}, "c1");
    REQUIRE(h.expect_assign(w1));
    w2.auto_serve = true;
    w2.register_with({shard(2, "m", std::nullopt, 7)}, "c1");
    REQUIRE(h.expect_assign(w2));
    w3.auto_serve = true;
    w3.register_with({}, "c1");
    REQUIRE(h.expect_assign(w3));
  }
  BrokerHarness& h;
  FakeWorker& w1;
  FakeWorker& w2;
  FakeWorker& w3;
};

}  // namespace

TEST_CASE(
    "broker loop: forget refuses an unknown, a live and a shard-owning worker and changes "
    "nothing") {
  BrokerHarness h(short_liveness());
  ThreeWorkers t(h);
  const Reply before = h.status();
  REQUIRE(before.workers.size() == 3);

  Reply unknown = h.call(forget_op("nope"));
  CHECK_FALSE(unknown.ok);
  CHECK(unknown.error.find("unknown worker 'nope'") != std::string::npos);
  Reply nameless = h.call(forget_op(""));
  CHECK_FALSE(nameless.ok);
  CHECK(nameless.error.find("missing field 'worker'") != std::string::npos);
  Reply alive = h.call(forget_op("w3"));
  CHECK_FALSE(alive.ok);
  CHECK(alive.error.find("stop it first") != std::string::npos);

  kill(h, t.w1);  // dead, and still the owner of ['', m): its data lives there
  Reply owner = h.call(forget_op("w1"));
  CHECK_FALSE(owner.ok);
  CHECK(owner.error.find("owns 1 shard") != std::string::npos);
  CHECK(owner.error.find("drain") != std::string::npos);
  CHECK(owner.error.find("recreate") != std::string::npos);

  const Reply after = h.status();
  REQUIRE(after.workers.size() == 3);
  CHECK(after.shards == before.shards);
  REQUIRE(find_worker(after, "w1") != nullptr);
  CHECK(after.shards[0].owner == "w1");
  CHECK(h.get("z").value == served_by("w2", 2, 7));
}

TEST_CASE(
    "broker loop: forget removes a stopped empty worker from status, and it may register again") {
  BrokerHarness h(short_liveness());
  ThreeWorkers t(h);
  kill(h, t.w3);
  Reply done = h.call(forget_op("w3"));
  INFO(done.error);
  REQUIRE(done.ok);
  CHECK(done.value == "forgot w3");
  Reply st = h.status();
  CHECK(st.workers.size() == 2);
  CHECK(find_worker(st, "w3") == nullptr);
  CHECK(h.get("z").value == served_by("w2", 2, 7));
  CHECK_FALSE(h.call(forget_op("w3")).ok);  // unknown now

  // It comes back holding a newer copy of [m, +inf) (say, restored from elsewhere): a new
  // registration, adopted by the usual rules, not refused and not dropped.
  t.w3.forget();
  t.w3.heartbeats = true;
  t.w3.heartbeat();
  REQUIRE(h.expect(t.w3, [](const Received& r) { return r.op.op == "reregister"; }));
  t.w3.register_with({shard(5, "m", std::nullopt, 9)}, "c1");
  auto assigned = h.expect_assign(t.w3);
  REQUIRE(assigned.has_value());
  REQUIRE(assigned->shards.size() == 1);
  CHECK(assigned->shards[0].id == 5);
  CHECK(assigned->drops.empty());
  CHECK(h.get("z").value == served_by("w3", 5, 9));
  const Reply st_back = h.status();
  const WorkerInfo* back = find_worker(st_back, "w3");
  REQUIRE(back != nullptr);
  CHECK(back->alive);
  CHECK(back->shards == 1);
}

TEST_CASE(
    "broker loop: a dead member of a replicated shard is forgotten only once the configuration "
    "leaves it out") {
  broker::BrokerConfig cfg = short_liveness();
  cfg.min_workers = 2;
  cfg.replicas = 2;
  cfg.balance.auto_balance = false;
  BrokerHarness h(cfg);
  FakeWorker& w1 = h.worker("w1");
  FakeWorker& w2 = h.worker("w2");
  w1.register_with({}, "");
  w2.register_with({}, "");
  REQUIRE(h.expect_assign(w1));
  REQUIRE(h.expect_assign(w2));
  REQUIRE(w1.held.size() == 1);
  const ShardInfo s = w1.held.begin()->second;
  REQUIRE(s.replicas.size() == 2);
  FakeWorker& primary = s.replicas[0] == "w1" ? w1 : w2;
  FakeWorker& follower = s.replicas[0] == "w1" ? w2 : w1;
  // The follower dies; the primary has not recorded the configuration without it yet.
  kill(h, follower);
  Reply member = h.call(forget_op(follower.id()));
  CHECK_FALSE(member.ok);
  CHECK(member.error.find("member of replicated shard") != std::string::npos);
  REQUIRE(find_worker(h.status(), follower.id()) != nullptr);
  // The primary records it (answers the confirming sync): the follower is out, and forgettable.
  primary.serve_from_now();
  const int64_t deadline = now_ms() + kWaitMs;
  Reply done;
  do {
    h.pump(50);
    done = h.call(forget_op(follower.id()));
  } while (!done.ok && now_ms() < deadline);
  INFO(done.error);
  REQUIRE(done.ok);
  CHECK(find_worker(h.status(), follower.id()) == nullptr);
  primary.auto_serve = true;
  CHECK(h.get("k").ok);
}
