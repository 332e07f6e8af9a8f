// The broker's loop with fake workers: registrations after a broker restart, in every order; a
// brand-new cluster; workers of another cluster; importing copies and handoff tombstones.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "broker_harness.hpp"

using namespace clossyne;
using namespace clossyne::testing;

namespace {

// A GET answered by the worker, shard and epoch expected, or at once with `ERR shard
// unavailable` (code unavailable) when `owner` is empty.
void check_route(BrokerHarness& h, const std::string& key, const std::string& owner,
                 uint32_t shard_id, uint64_t epoch) {
  INFO("key " << key);
  const int64_t start = now_ms();
  Reply r = h.get(key);
  if (owner.empty()) {
    CHECK_FALSE(r.ok);
    CHECK(r.code == ErrorCode::kUnavailable);
    CHECK(r.error.rfind("ERR shard unavailable", 0) == 0);
    CHECK(now_ms() - start < kAtOnceMs);  // at once, never a hang
  } else {
    INFO("error " << r.error << " value " << r.value.value_or("(nil)") << " code "
                  << error_code_name(r.code));
    CHECK(r.ok);
    CHECK(r.value == served_by(owner, shard_id, epoch));
  }
}

bool lists(const Op& assign, uint32_t id, uint64_t epoch, bool importing) {
  return std::any_of(assign.shards.begin(), assign.shards.end(), [&](const ShardInfo& s) {
    return s.id == id && s.epoch == epoch && s.importing == importing;
  });
}

// Workers of cluster "c1" after a broker restart:
//   w1 owns shard 1 ['', g) at epoch 3, and holds an unfinished import of shard 3 at epoch 6 (a
//      move from w3 the old broker started; no handoff happened, so w3's copy is the home);
//   w2 holds shard 2 [g, n) at epoch 5 flagged importing, but w4 handed it off (w4's tombstone
//      {2, 5, w2}): w2's copy is the home;
//   w3 owns shard 3 [n, t) at epoch 5;
//   w4 owns shard 4 [t, +inf) at epoch 2 and the tombstone.
struct Report {
  std::vector<ShardInfo> shards;
  std::vector<ShardInfo> handoffs;
};

std::map<std::string, Report> restart_reports() {
  return {
      {"w1", {{shard(1, "", "g", 3), shard(3, "n", "t", 6, true)}, {}}},
      {"w2", {{shard(2, "g", "n", 5, true)}, {}}},
      {"w3", {{shard(3, "n", "t", 5)}, {}}},
      {"w4", {{shard(4, "t", std::nullopt, 2)}, {tombstone(2, 5, "w2")}}},
  };
}

// Probes one key per range against what the registered workers make of the map.
void check_routes(BrokerHarness& h, const std::set<std::string>& in) {
  auto has = [&](const char* w) { return in.count(w) > 0; };
  check_route(h, "a", has("w1") ? "w1" : "", 1, 3);
  check_route(h, "h", has("w2") && has("w4") ? "w2" : "", 2, 5);
  check_route(h, "p", has("w3") ? "w3" : "", 3, 5);
  check_route(h, "x", has("w4") ? "w4" : "", 4, 2);
}

}  // namespace

TEST_CASE(
    "broker loop: every registration order after a restart adopts every shard and drops none that "
    "is needed") {
  std::vector<std::string> order = {"w1", "w2", "w3", "w4"};
  int orders = 0;
  do {
    ++orders;
    std::string name;
    for (const auto& w : order) name += w + " ";
    INFO("registration order " << name);
    BrokerHarness h;
    const auto reports = restart_reports();
    std::set<std::string> in;
    for (std::size_t i = 0; i < order.size(); ++i) {
      const std::string& id = order[i];
      if (i == order.size() - 1) {
        // The last worker is late: meanwhile its ranges fail at once, the others serve.
        h.pump(100);
        check_routes(h, in);
      }
      FakeWorker& w = h.worker(id);
      w.auto_serve = true;
      w.register_with(reports.at(id).shards, "c1", reports.at(id).handoffs);
      auto a = h.expect_assign(w);
      REQUIRE(a.has_value());
      CHECK(a->cluster == "c1");
      // The only copy anyone may drop is w1's unfinished import, once its source w3 registered.
      std::vector<ShardInfo> want_drops;
      if (id == "w1" && in.count("w3")) want_drops.push_back(shard(3, "", std::nullopt, 6));
      REQUIRE(a->drops.size() == want_drops.size());
      for (std::size_t d = 0; d < want_drops.size(); ++d) {
        CHECK(a->drops[d].id == want_drops[d].id);
        CHECK(a->drops[d].epoch == want_drops[d].epoch);
      }
      in.insert(id);
      check_routes(h, in);
    }
    // Every worker holds (and was told it owns) its shard, imports finished.
    h.pump(50);
    CHECK(h.worker("w1").held.count(1));
    CHECK(h.worker("w2").held.count(2));
    CHECK_FALSE(h.worker("w2").held.at(2).importing);
    CHECK(h.worker("w3").held.count(3));
    CHECK(h.worker("w4").held.count(4));
    for (const char* id : {"w1", "w2", "w3", "w4"}) {
      for (const auto& a : h.worker(id).assigns()) {
        for (const auto& d : a.drops) {
          INFO(id << " was told to drop shard " << d.id << " epoch " << d.epoch);
          CHECK((std::string(id) == "w1" && d.id == 3 && d.epoch == 6));
        }
      }
    }
    Reply st = h.status();
    CHECK(st.n == 1);
    REQUIRE(st.shards.size() == 4);
    const char* owners[] = {"w1", "w2", "w3", "w4"};
    for (std::size_t i = 0; i < 4; ++i) CHECK(st.shards[i].owner == owners[i]);
  } while (std::next_permutation(order.begin(), order.end()));
  CHECK(orders == 24);
}

TEST_CASE(
    "broker loop: a worker seconds late keeps its ranges unavailable, then serves them, and a new "
    "worker joins the cluster") {
  BrokerHarness h;
  const std::map<std::string, ShardInfo> owned = {{"w1", shard(1, "", "g", 3)},
                                                  {"w2", shard(2, "g", "n", 5)},
                                                  {"w3", shard(3, "n", "t", 5)},
                                                  {"w4", shard(4, "t", std::nullopt, 2)}};
  for (const char* id : {"w1", "w2", "w3"}) {
    FakeWorker& w = h.worker(id);
    w.auto_serve = true;
    w.register_with({owned.at(id)}, "c1");
    REQUIRE(h.expect_assign(w));
  }
  const int64_t late_until = now_ms() + 2000;
  int probes = 0;
  while (now_ms() < late_until) {
    check_route(h, "x", "", 0, 0);
    check_route(h, "a", "w1", 1, 3);
    ++probes;
    h.pump(200);
  }
  CHECK(probes >= 5);
  // No split or move while a range is unavailable.
  Reply move = h.call(BrokerHarness::move_op(1, "w2"));
  CHECK_FALSE(move.ok);
  CHECK(move.error.find("no registered owner") != std::string::npos);

  FakeWorker& w4 = h.worker("w4");
  w4.auto_serve = true;
  w4.register_with({owned.at("w4")}, "c1");
  auto a4 = h.expect_assign(w4);
  REQUIRE(a4.has_value());
  CHECK(a4->drops.empty());
  CHECK(lists(*a4, 4, 2, false));
  check_route(h, "x", "w4", 4, 2);
  check_route(h, "h", "w2", 2, 5);
  check_route(h, "p", "w3", 3, 5);

  // A brand-new worker (no cluster yet, no shards) joins: it learns the cluster id, owns nothing.
  FakeWorker& w5 = h.worker("w5");
  w5.register_with({}, "");
  auto a5 = h.expect_assign(w5);
  REQUIRE(a5.has_value());
  CHECK(a5->cluster == "c1");
  CHECK(a5->shards.empty());
  CHECK(a5->drops.empty());
  Reply st = h.status();
  REQUIRE(st.workers.size() == 5);
  for (const auto& w : st.workers) CHECK(w.alive);
}

TEST_CASE(
    "broker loop: an older copy is dropped only when a live worker owns its range at a higher "
    "epoch") {
  SECTION("the newer copy registers first: the older one is told to drop exactly its epoch") {
    BrokerHarness h;
    FakeWorker& w1 = h.worker("w1");
    FakeWorker& w2 = h.worker("w2");
    w1.auto_serve = w2.auto_serve = true;
    w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
    REQUIRE(h.expect_assign(w1));
    w2.register_with({shard(1, "", std::nullopt, 2)}, "c1");
    auto a2 = h.expect_assign(w2);
    REQUIRE(a2.has_value());
    REQUIRE(a2->drops.size() == 1);
    CHECK(a2->drops[0].id == 1);
    CHECK(a2->drops[0].epoch == 2);
    CHECK(a2->shards.empty());
    check_route(h, "k", "w1", 1, 3);
  }
  SECTION(
      "the older copy registers first: it serves until the newer one comes, and is never dropped") {
    BrokerHarness h;
    FakeWorker& w1 = h.worker("w1");
    FakeWorker& w2 = h.worker("w2");
    w1.auto_serve = w2.auto_serve = true;
    w2.register_with({shard(1, "", std::nullopt, 2)}, "c1");
    auto a2 = h.expect_assign(w2);
    REQUIRE(a2.has_value());
    CHECK(a2->drops.empty());
    check_route(h, "k", "w2", 1, 2);
    w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
    auto a1 = h.expect_assign(w1);
    REQUIRE(a1.has_value());
    CHECK(a1->drops.empty());
    check_route(h, "k", "w1", 1, 3);
    h.pump(200);
    for (const auto& a : w2.assigns()) CHECK(a.drops.empty());
  }
  SECTION("a copy whose newer owner is itself is kept") {
    BrokerHarness h;
    FakeWorker& w1 = h.worker("w1");
    w1.auto_serve = true;
    // Shard 1 split into 5 and 6 on w1; the old whole is still reported (at a lower epoch).
    w1.register_with(
        {shard(1, "", std::nullopt, 2), shard(5, "", "m", 3), shard(6, "m", std::nullopt, 3)},
        "c1");
    auto a1 = h.expect_assign(w1);
    REQUIRE(a1.has_value());
    CHECK(a1->drops.empty());
    check_route(h, "a", "w1", 5, 3);
    check_route(h, "z", "w1", 6, 3);
  }
}

TEST_CASE(
    "broker loop: a brand-new cluster waits for --min-workers, then assigns fresh shards with a "
    "cluster id") {
  broker::BrokerConfig cfg;
  cfg.min_workers = 3;
  cfg.split_points = {"g", "n"};
  BrokerHarness h(cfg);
  for (const char* id : {"w1", "w2"}) {
    FakeWorker& w = h.worker(id);
    w.auto_serve = true;
    w.register_with({}, "", {}, true);
  }
  CHECK(h.no_assign(h.worker("w1"), 300));
  CHECK(h.no_assign(h.worker("w2"), 0));
  Reply early = h.get("a");
  CHECK_FALSE(early.ok);
  CHECK(early.code == ErrorCode::kNotReady);

  FakeWorker& w3 = h.worker("w3");
  w3.auto_serve = true;
  w3.register_with({}, "", {}, true);
  std::string cluster;
  std::set<uint32_t> ids;
  for (const char* id : {"w1", "w2", "w3"}) {
    INFO(id);
    auto a = h.expect_assign(h.worker(id));
    REQUIRE(a.has_value());
    CHECK(a->cluster.size() == 16);
    if (cluster.empty()) cluster = a->cluster;
    CHECK(a->cluster == cluster);
    CHECK(a->drops.empty());
    REQUIRE(a->shards.size() == 1);
    CHECK(a->shards[0].epoch == 1);
    CHECK_FALSE(a->shards[0].importing);
    ids.insert(a->shards[0].id);
  }
  CHECK(ids == std::set<uint32_t>{1, 2, 3});
  // Each range routes to the worker holding it.
  for (const std::string key : {"a", "h", "z"}) {
    Reply r = h.get(key);
    INFO(key << ": " << r.error);
    REQUIRE(r.ok);
    const std::string owner = r.value->substr(0, 2);
    CHECK(h.worker(owner).held.count(static_cast<uint32_t>(std::stoul(r.value->substr(3)))));
  }
  // A later worker joins the same cluster.
  FakeWorker& w4 = h.worker("w4");
  w4.register_with({}, "");
  auto a4 = h.expect_assign(w4);
  REQUIRE(a4.has_value());
  CHECK(a4->cluster == cluster);
}

TEST_CASE("broker loop: a worker of another cluster is refused") {
  BrokerHarness h;
  FakeWorker& w1 = h.worker("w1");
  w1.auto_serve = true;
  w1.register_with({shard(1, "", "m", 3), shard(2, "m", std::nullopt, 3)}, "c1");
  REQUIRE(h.expect_assign(w1));
  FakeWorker& stranger = h.worker("w9");
  stranger.auto_serve = true;
  stranger.register_with({shard(1, "", std::nullopt, 9)}, "c2");
  CHECK(h.no_assign(stranger, 500));
  check_route(h, "a", "w1", 1, 3);
  check_route(h, "z", "w1", 2, 3);
  Reply st = h.status();
  for (const auto& w : st.workers) {
    if (w.id == "w9") CHECK_FALSE(w.alive);
  }
  // Its registration is refused every time (it heartbeats meanwhile: still no assignment).
  stranger.register_with({shard(1, "", std::nullopt, 9)}, "c2");
  CHECK(h.no_assign(stranger, 700));
  check_route(h, "a", "w1", 1, 3);
}

TEST_CASE(
    "broker loop: a handed-off copy is adopted from the tombstone in either registration order") {
  const ShardInfo import = shard(1, "", std::nullopt, 4, true);
  const std::vector<ShardInfo> handed = {tombstone(1, 4, "w2")};
  for (bool source_first : {true, false}) {
    INFO((source_first ? "source (tombstone) first" : "target (import) first"));
    BrokerHarness h;
    FakeWorker& w1 = h.worker("w1");
    FakeWorker& w2 = h.worker("w2");
    w1.auto_serve = w2.auto_serve = true;
    if (source_first) {
      w1.register_with({}, "c1", handed);
      REQUIRE(h.expect_assign(w1));
      check_route(h, "k", "", 0, 0);
      w2.register_with({import}, "c1");
      auto a2 = h.expect_assign(w2);
      REQUIRE(a2.has_value());
      CHECK(lists(*a2, 1, 4, false));  // finishes the import
      CHECK(a2->drops.empty());
    } else {
      w2.register_with({import}, "c1");
      REQUIRE(h.expect_assign(w2));
      check_route(h, "k", "", 0, 0);  // not the home until the tombstone is seen
      w1.register_with({}, "c1", handed);
      REQUIRE(h.expect_assign(w1));
    }
    // The target is told its copy is now its own, however late the tombstone came.
    h.pump(200);
    REQUIRE(w2.held.count(1));
    CHECK_FALSE(w2.held.at(1).importing);
    for (const auto& a : w2.assigns()) CHECK(a.drops.empty());
    check_route(h, "k", "w2", 1, 4);
  }
}

TEST_CASE("broker loop: without a tombstone an import is dropped when its source owns the shard") {
  const ShardInfo import = shard(1, "", std::nullopt, 4, true);
  for (bool source_first : {true, false}) {
    INFO((source_first ? "source first" : "target (import) first"));
    BrokerHarness h;
    FakeWorker& w1 = h.worker("w1");
    FakeWorker& w2 = h.worker("w2");
    w1.auto_serve = w2.auto_serve = true;
    if (source_first) {
      w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
      REQUIRE(h.expect_assign(w1));
      w2.register_with({import}, "c1");
    } else {
      w2.register_with({import}, "c1");
      REQUIRE(h.expect_assign(w2));
      check_route(h, "k", "", 0, 0);  // the import is not the home
      w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
    }
    // The target is told to drop exactly its import (at once, not at some later assignment).
    auto dropped = h.expect(w2, [](const Received& r) {
      return !r.in_batch && r.op.op == "assign" && !r.op.drops.empty();
    });
    REQUIRE(dropped.has_value());
    REQUIRE(dropped->drops.size() == 1);
    CHECK(dropped->drops[0].id == 1);
    CHECK(dropped->drops[0].epoch == 4);
    CHECK_FALSE(w2.held.count(1));
    check_route(h, "k", "w1", 1, 3);
    for (const auto& a : w1.assigns()) CHECK(a.drops.empty());
  }
}
