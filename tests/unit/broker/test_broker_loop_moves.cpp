// The broker's loop with fake workers: shard moves, their handoff step, and moves interrupted by
// a re-registration of either side (which must end them at once, not after ~10 s).
#include <catch2/catch.hpp>

#include "broker_harness.hpp"

using namespace clossyne;
using namespace clossyne::testing;

namespace {

bool is_assign(const Received& r) {
  return !r.in_batch && r.op.op == "assign";
}
bool is_drop_assign(const Received& r) {
  return is_assign(r) && !r.op.drops.empty();
}

// w1 owns shard 1 (every key) at epoch 3 and w2 owns nothing; a move of shard 1 to w2 has been
// started and its first export chunk is on its way to w1 (returned).
struct MoveSetup {
  explicit MoveSetup(BrokerHarness& harness) : h(harness), w1(h.worker("w1")), w2(h.worker("w2")) {
    w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
    REQUIRE(h.expect_assign(w1));
    w2.register_with({}, "c1");
    REQUIRE(h.expect_assign(w2));
    Reply started = h.call(BrokerHarness::move_op(1, "w2"));
    REQUIRE(started.ok);
    CHECK(*started.value == "moving shard 1 from w1 to w2");
    auto incoming = h.expect_assign(w2);
    REQUIRE(incoming.has_value());
    REQUIRE(incoming->shards.size() == 1);
    CHECK(incoming->shards[0].importing);
    CHECK(incoming->shards[0].epoch == 4);
    auto chunk = h.expect_sub(w1, "rng");
    REQUIRE(chunk.has_value());
    CHECK(chunk->epoch == 3);
    export_id = chunk->id;
    CHECK(busy());
  }
  // Answers the export with one (last) chunk and returns the import w2 gets.
  Op copy_one_chunk() {
    Reply items;
    items.items = std::vector<KV>{{"a", "1"}};
    w1.answer(items, export_id);
    auto import = h.expect_sub(w2, "import");
    REQUIRE(import.has_value());
    CHECK(import->epoch == 4);
    REQUIRE(import->pairs.size() == 1);
    return *import;
  }
  // Copies, syncs and returns the handoff w1 gets.
  Op up_to_handoff() {
    Op import = copy_one_chunk();
    w2.send(w2.serve(import));
    auto sync = h.expect_sub(w2, "sync");
    REQUIRE(sync.has_value());
    w2.send(w2.serve(*sync));
    auto handoff = h.expect_sub(w1, "handoff");
    REQUIRE(handoff.has_value());
    CHECK(handoff->shard == 1u);
    CHECK(handoff->epoch == 3);
    CHECK(handoff->worker == "w2");
    return *handoff;
  }
  // The move is over: a new one is accepted (the shard is not busy).
  // What `status` says of shard 1: a move or split of it is under way.
  bool busy() {
    Reply st = h.status();
    REQUIRE(st.shards.size() == 1);
    return st.shards[0].busy;
  }
  void check_not_busy() {
    CHECK_FALSE(busy());
    Reply again = h.call(BrokerHarness::move_op(1, "w2"));
    INFO(again.error);
    CHECK(again.ok);
  }

  BrokerHarness& h;
  FakeWorker& w1;
  FakeWorker& w2;
  uint64_t export_id = 0;
};

}  // namespace

TEST_CASE(
    "broker loop: a move's handoff answered ok switches the map to the target at the next epoch") {
  BrokerHarness h;
  MoveSetup m(h);
  Op handoff = m.up_to_handoff();
  // A client op during the handoff waits for it.
  const uint64_t get = h.send(BrokerHarness::get_op("a"));
  h.pump(100);
  CHECK_FALSE(h.answered(get));
  m.w1.send(m.w1.serve(handoff));
  auto own = h.expect_assign(m.w2);
  REQUIRE(own.has_value());
  REQUIRE(own->shards.size() == 1);
  CHECK(own->shards[0].epoch == 4);
  CHECK_FALSE(own->shards[0].importing);
  CHECK(own->drops.empty());
  auto sent = h.expect_sub(m.w2, "get");
  REQUIRE(sent.has_value());
  CHECK(sent->epoch == 4);
  m.w2.send(m.w2.serve(*sent));
  auto got = h.reply(get);
  REQUIRE(got.has_value());
  CHECK(got->value == served_by("w2", 1, 4));
  m.w1.serve_from_now();
  m.w2.serve_from_now();
  CHECK(h.get("z").value == served_by("w2", 1, 4));
  Reply st = h.status();
  REQUIRE(st.shards.size() == 1);
  CHECK(st.shards[0].owner == "w2");
  CHECK(st.shards[0].epoch == 4);
  CHECK_FALSE(st.shards[0].busy);
  for (const auto& a : m.w1.assigns()) CHECK(a.drops.empty());
}

TEST_CASE(
    "broker loop: a move's handoff answered with an error aborts it and the source keeps serving") {
  BrokerHarness h;
  MoveSetup m(h);
  Op handoff = m.up_to_handoff();
  const int64_t start = now_ms();
  m.w1.fail(handoff, ErrorCode::kOther, "ERR handoff refused for the test");
  auto dropped = h.expect(m.w2, is_drop_assign, 1000);
  REQUIRE(dropped.has_value());
  CHECK(now_ms() - start < kAtOnceMs);
  REQUIRE(dropped->drops.size() == 1);
  CHECK(dropped->drops[0].id == 1);
  CHECK(dropped->drops[0].epoch == 4);
  CHECK(dropped->shards.empty());
  CHECK_FALSE(m.w2.held.count(1));
  m.w1.serve_from_now();
  m.w2.serve_from_now();
  CHECK(h.get("a").value == served_by("w1", 1, 3));
  for (const auto& a : m.w1.assigns()) CHECK(a.drops.empty());
  m.check_not_busy();
}

TEST_CASE("broker loop: a move target that registers again mid-copy aborts the move at once") {
  const bool after_chunk = GENERATE(false, true);
  BrokerHarness h;
  MoveSetup m(h);
  INFO((after_chunk ? "an import chunk in flight" : "the export in flight"));
  ShardInfo partial = shard(1, "", std::nullopt, 4, true);
  if (after_chunk) {
    m.copy_one_chunk();
  } else {
    partial.keys = 0;
  }
  const uint64_t get = h.send(BrokerHarness::get_op("a"));
  h.pump(50);
  CHECK_FALSE(h.answered(get));  // held by the move
  const int64_t start = now_ms();
  m.w2.reconnect();
  m.w2.register_with({partial}, "c1");
  auto a = h.expect_assign(m.w2, 1000);
  REQUIRE(a.has_value());
  CHECK(now_ms() - start < kAtOnceMs);
  CHECK(a->shards.empty());
  REQUIRE_FALSE(a->drops.empty());
  for (const auto& d : a->drops) {
    CHECK(d.id == 1);
    CHECK(d.epoch == 4);
  }
  CHECK_FALSE(m.w2.held.count(1));
  // The held GET goes to the source, which serves on.
  m.w1.serve_from_now();
  m.w2.serve_from_now();
  auto got = h.reply(get, 1000);
  REQUIRE(got.has_value());
  CHECK(got->value == served_by("w1", 1, 3));
  CHECK(now_ms() - start < kAtOnceMs);
  m.check_not_busy();
}

TEST_CASE("broker loop: a move source that registers again mid-copy aborts the move at once") {
  const bool after_chunk = GENERATE(false, true);
  BrokerHarness h;
  MoveSetup m(h);
  INFO((after_chunk ? "an import chunk in flight" : "the export in flight"));
  if (after_chunk) m.copy_one_chunk();
  const uint64_t get = h.send(BrokerHarness::get_op("a"));
  h.pump(50);
  CHECK_FALSE(h.answered(get));
  const int64_t start = now_ms();
  m.w1.reconnect();
  m.w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
  auto a1 = h.expect_assign(m.w1, 1000);
  REQUIRE(a1.has_value());
  CHECK(a1->shards.size() == 1);
  CHECK(a1->drops.empty());
  // The target is told at once to delete its partial copy.
  auto dropped = h.expect(m.w2, is_drop_assign, 1000);
  REQUIRE(dropped.has_value());
  CHECK(now_ms() - start < kAtOnceMs);
  CHECK(dropped->drops[0].id == 1);
  CHECK(dropped->drops[0].epoch == 4);
  CHECK(dropped->shards.empty());
  m.w1.serve_from_now();
  m.w2.serve_from_now();
  auto got = h.reply(get, 1000);
  REQUIRE(got.has_value());
  CHECK(got->value == served_by("w1", 1, 3));
  m.check_not_busy();
}

TEST_CASE(
    "broker loop: a move source that registers again during the handoff decides it by its "
    "tombstone") {
  const bool handed_off = GENERATE(true, false);
  BrokerHarness h;
  MoveSetup m(h);
  INFO((handed_off ? "the source handed off (tombstone)" : "the source did not hand off"));
  m.up_to_handoff();
  m.w1.reconnect();
  if (handed_off) {
    m.w1.register_with({}, "c1", {tombstone(1, 4, "w2")});
  } else {
    m.w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
  }
  REQUIRE(h.expect_assign(m.w1, 1000));
  m.w1.serve_from_now();
  m.w2.serve_from_now();
  h.pump(300);
  if (handed_off) {
    // The target's copy is the home: it is told so, and serves at the next epoch.
    REQUIRE(m.w2.held.count(1));
    CHECK_FALSE(m.w2.held.at(1).importing);
    CHECK(m.w2.held.at(1).epoch == 4);
    CHECK(h.get("a").value == served_by("w2", 1, 4));
    for (const auto& a : m.w2.assigns()) CHECK(a.drops.empty());
  } else {
    CHECK_FALSE(m.w2.held.count(1));  // told to delete its copy
    CHECK(h.get("a").value == served_by("w1", 1, 3));
  }
  for (const auto& a : m.w1.assigns()) CHECK(a.drops.empty());
}

TEST_CASE("broker loop: a move target that registers again during the handoff does not stop it") {
  BrokerHarness h;
  MoveSetup m(h);
  Op handoff = m.up_to_handoff();
  m.w2.reconnect();
  m.w2.register_with({shard(1, "", std::nullopt, 4, true)}, "c1");
  auto a2 = h.expect_assign(m.w2, 1000);
  REQUIRE(a2.has_value());
  CHECK(a2->drops.empty());  // its synced copy may become the home: never dropped now
  m.w1.send(m.w1.serve(handoff));
  m.w1.serve_from_now();
  m.w2.serve_from_now();
  h.pump(200);
  REQUIRE(m.w2.held.count(1));
  CHECK_FALSE(m.w2.held.at(1).importing);
  CHECK(h.get("a").value == served_by("w2", 1, 4));
}

TEST_CASE(
    "broker loop: an op the source refuses after the move finished is re-sent to the new owner") {
  BrokerHarness h;
  FakeWorker& w1 = h.worker("w1");
  FakeWorker& w2 = h.worker("w2");
  w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
  REQUIRE(h.expect_assign(w1));
  w2.auto_serve = true;
  w2.register_with({}, "c1");
  REQUIRE(h.expect_assign(w2));
  const uint64_t get = h.send(BrokerHarness::get_op("a"));
  auto old = h.expect_sub(w1, "get");  // answered only once the shard has moved
  REQUIRE(old.has_value());
  w1.export_items = {{"a", "1"}};
  w1.auto_serve = true;
  REQUIRE(h.call(BrokerHarness::move_op(1, "w2")).ok);
  auto own = h.expect(w2, [](const Received& r) {
    return is_assign(r) && r.op.shards.size() == 1 && !r.op.shards[0].importing;
  });
  REQUIRE(own.has_value());
  CHECK(own->shards[0].epoch == 4);
  CHECK_FALSE(w1.held.count(1));  // handed off
  w1.send(w1.serve(*old));        // "not held" now
  auto r = h.reply(get);
  REQUIRE(r.has_value());
  INFO(r->error);
  CHECK(r->value == served_by("w2", 1, 4));
}
