// The broker's loop with fake workers that die (stop heartbeating), with a short liveness
// (BrokerConfig::liveness_ms): in-flight ops fail, ranges are unavailable at once, moves end.
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

// w1 owns shard 1 ['', m) at epoch 3, w2 shard 2 [m, +inf) at epoch 7; w2 serves everything.
struct TwoWorkers {
  explicit TwoWorkers(BrokerHarness& harness) : h(harness), w1(h.worker("w1")), w2(h.worker("w2")) {
    w1.register_with({shard(1, "", "m", 3)}, "c1");
    REQUIRE(h.expect_assign(w1));
    w2.auto_serve = true;
    w2.register_with({shard(2, "m", std::nullopt, 7)}, "c1");
    REQUIRE(h.expect_assign(w2));
  }
  BrokerHarness& h;
  FakeWorker& w1;
  FakeWorker& w2;
};

}  // namespace

TEST_CASE(
    "broker loop: a worker that stops heartbeating is dead: its ops fail, its range is "
    "unavailable, until it registers") {
  BrokerHarness h(short_liveness());
  TwoWorkers t(h);
  const uint64_t get = h.send(BrokerHarness::get_op("a"));
  REQUIRE(h.expect_sub(t.w1, "get"));
  // The heartbeats keep w1 alive past the liveness while it answers nothing.
  h.pump(2 * kLivenessMs);
  CHECK_FALSE(h.answered(get));
  t.w1.heartbeats = false;  // now it dies
  const int64_t start = now_ms();
  auto failed = h.reply(get, 3 * kLivenessMs);
  REQUIRE(failed.has_value());
  CHECK(now_ms() - start >= kLivenessMs - 150);
  CHECK(failed->code == ErrorCode::kUnavailable);
  CHECK(failed->error.find("w1 is down") != std::string::npos);
  // Its range fails at once; the other serves.
  const int64_t asked = now_ms();
  Reply down = h.get("b");
  CHECK(down.code == ErrorCode::kUnavailable);
  CHECK(now_ms() - asked < kAtOnceMs);
  CHECK(h.get("z").value == served_by("w2", 2, 7));
  Reply st = h.status();
  for (const auto& w : st.workers) CHECK(w.alive == (w.id == "w2"));
  // Back: it registers (it is asked to, should it only heartbeat) and serves again.
  t.w1.heartbeats = true;
  t.w1.heartbeat();
  auto asked_again = h.expect(t.w1, [](const Received& r) { return r.op.op == "reregister"; });
  REQUIRE(asked_again.has_value());
  t.w1.auto_serve = true;
  t.w1.register_with({shard(1, "", "m", 3)}, "c1");
  REQUIRE(h.expect_assign(t.w1));
  CHECK(h.get("b").value == served_by("w1", 1, 3));
}

TEST_CASE("broker loop: a move target that dies mid-copy ends the move and the source serves on") {
  BrokerHarness h(short_liveness());
  TwoWorkers t(h);
  t.w1.auto_serve = true;
  t.w1.export_items = {{"a", "1"}};
  t.w2.auto_serve = false;
  Reply started = h.call(BrokerHarness::move_op(1, "w2"));
  REQUIRE(started.ok);
  REQUIRE(h.expect_sub(t.w2, "import"));  // never answered
  t.w2.heartbeats = false;
  const int64_t start = now_ms();
  // The move ends with the target's death (the op timeout is 10 s): ops go to the source.
  Reply r = h.get("b", 3 * kLivenessMs);
  INFO(r.error);
  CHECK(r.value == served_by("w1", 1, 3));
  CHECK(now_ms() - start < kLivenessMs + kAtOnceMs);
  // Back, it is told to delete its partial copy.
  t.w2.heartbeats = true;
  t.w2.forget();
  t.w2.register_with({shard(2, "m", std::nullopt, 7), shard(1, "", "m", 4, true)}, "c1");
  auto a = h.expect_assign(t.w2);
  REQUIRE(a.has_value());
  REQUIRE_FALSE(a->drops.empty());
  for (const auto& d : a->drops) {
    CHECK(d.id == 1);
    CHECK(d.epoch == 4);
  }
  CHECK_FALSE(t.w2.held.count(1));
  CHECK(t.w2.held.count(2));
}

TEST_CASE(
    "broker loop: a move source that dies during the handoff leaves the shard to its tombstone") {
  const bool handed_off = GENERATE(true, false);
  INFO((handed_off ? "the source handed off before it died"
                   : "the source died before it handed off"));
  BrokerHarness h(short_liveness());
  TwoWorkers t(h);
  t.w1.export_items = {{"a", "1"}};
  t.w1.auto_serve = true;
  t.w1.hold_back = {"handoff"};  // the export is answered; the handoff will not be
  Reply started = h.call(BrokerHarness::move_op(1, "w2"));
  REQUIRE(started.ok);
  REQUIRE(h.expect_sub(t.w1, "handoff"));
  t.w1.heartbeats = false;
  h.pump(kLivenessMs + 300);
  // Dead source, outcome unknown: the range is unavailable, not served from the target.
  Reply unknown = h.get("b");
  CHECK(unknown.code == ErrorCode::kUnavailable);
  REQUIRE(t.w2.held.count(1));
  CHECK(t.w2.held.at(1).importing);
  // The source comes back and says what happened.
  t.w1.heartbeats = true;
  t.w1.hold_back.clear();
  if (handed_off) {
    t.w1.register_with({}, "c1", {tombstone(1, 4, "w2")});
  } else {
    t.w1.register_with({shard(1, "", "m", 3)}, "c1");
  }
  REQUIRE(h.expect_assign(t.w1));
  h.pump(200);
  if (handed_off) {
    REQUIRE(t.w2.held.count(1));
    CHECK_FALSE(t.w2.held.at(1).importing);
    CHECK(h.get("b").value == served_by("w2", 1, 4));
  } else {
    CHECK_FALSE(t.w2.held.count(1));
    CHECK(h.get("b").value == served_by("w1", 1, 3));
  }
  CHECK(h.get("z").value == served_by("w2", 2, 7));
}
