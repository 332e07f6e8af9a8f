// The broker's loop with fake workers: splits (held ops re-planned onto the pieces), recreate of a
// lost range, the in-flight limit, batches over several workers.
#include <catch2/catch.hpp>

#include "broker_harness.hpp"

using namespace clossyne;
using namespace clossyne::testing;

namespace {

Op split_op(uint32_t shard, std::optional<std::string> key) {
  Op o;
  o.op = "split";
  o.shard = shard;
  o.key = std::move(key);
  return o;
}

// The worker's answer to a split: the two pieces the broker named, cut at `at`.
Reply split_done(const Op& split, const std::string& lo, const std::optional<std::string>& hi,
                 const std::string& at) {
  Reply r;
  r.id = split.id;
  REQUIRE(split.shards.size() == 2);
  ShardInfo left = split.shards[0];
  left.lo = lo;
  left.hi = at;
  ShardInfo right = split.shards[1];
  right.lo = at;
  right.hi = hi;
  r.shards = {left, right};
  return r;
}

}  // namespace

TEST_CASE(
    "broker loop: a split replaces the shard by its pieces and held ops go to the right piece") {
  BrokerHarness h;
  FakeWorker& w1 = h.worker("w1");
  w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
  REQUIRE(h.expect_assign(w1));
  Reply started = h.call(split_op(1, "m"));
  REQUIRE(started.ok);
  auto split = h.expect_sub(w1, "split");
  REQUIRE(split.has_value());
  CHECK(split->epoch == 3);
  CHECK(split->key == "m");
  REQUIRE(split->shards.size() == 2);
  CHECK(split->shards[0].epoch == 4);
  CHECK(split->shards[1].epoch == 4);
  // Ops during the split wait, a range over both pieces included.
  const uint64_t left = h.send(BrokerHarness::get_op("a"));
  const uint64_t right = h.send(BrokerHarness::get_op("z"));
  Op rng;
  rng.op = "rng";
  const uint64_t all = h.send(rng);
  h.pump(100);
  CHECK_FALSE(h.answered(left));
  CHECK_FALSE(h.answered(all));
  // The held ops were planned for shard 1; the worker's pieces replace it.
  w1.held.erase(1);
  ShardInfo l = split->shards[0], r = split->shards[1];
  l.hi = "m";
  r.lo = "m";
  w1.held[l.id] = l;
  w1.held[r.id] = r;
  w1.send(split_done(*split, "", std::nullopt, "m"));
  w1.serve_from_now();
  auto a = h.reply(left);
  REQUIRE(a.has_value());
  CHECK(a->value == served_by("w1", l.id, 4));
  auto z = h.reply(right);
  REQUIRE(z.has_value());
  CHECK(z->value == served_by("w1", r.id, 4));
  auto both = h.reply(all);
  REQUIRE(both.has_value());
  CHECK(both->ok);
  const auto rngs = std::count_if(w1.log.begin(), w1.log.end(),
                                  [](const Received& m) { return m.op.op == "rng"; });
  CHECK(rngs == 2);  // one part per piece
  Reply st = h.status();
  REQUIRE(st.shards.size() == 2);
  CHECK(st.shards[0].id == l.id);
  CHECK(*st.shards[0].hi == "m");
  CHECK(st.shards[1].lo == "m");
}

TEST_CASE(
    "broker loop: a split answered with bounds that do not match is abandoned and the shard serves "
    "on") {
  BrokerHarness h;
  FakeWorker& w1 = h.worker("w1");
  w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
  REQUIRE(h.expect_assign(w1));
  REQUIRE(h.call(split_op(1, "m")).ok);
  auto split = h.expect_sub(w1, "split");
  REQUIRE(split.has_value());
  const uint64_t held = h.send(BrokerHarness::get_op("a"));
  h.pump(50);
  w1.send(split_done(*split, "b", std::nullopt, "m"));  // does not start where the shard does
  // The owner's assignment still names shard 1 (it joins pieces it may have made back).
  auto a = h.expect_assign(w1);
  REQUIRE(a.has_value());
  REQUIRE(a->shards.size() == 1);
  CHECK(a->shards[0].id == 1);
  w1.serve_from_now();
  auto r = h.reply(held);
  REQUIRE(r.has_value());
  CHECK(r->value == served_by("w1", 1, 3));
  CHECK(h.call(split_op(1, "m")).ok);  // not busy any more
}

TEST_CASE(
    "broker loop: recreate replaces an unavailable range by an empty shard, only when told data is "
    "lost") {
  BrokerHarness h;
  FakeWorker& w1 = h.worker("w1");
  w1.auto_serve = true;
  w1.register_with({shard(1, "", "m", 3)}, "c1");
  REQUIRE(h.expect_assign(w1));
  Reply down = h.get("z");
  REQUIRE(down.code == ErrorCode::kUnavailable);
  Op recreate;
  recreate.op = "recreate";
  recreate.key = "z";
  Reply refused = h.call(recreate);
  CHECK_FALSE(refused.ok);
  CHECK(refused.error.find("i-know-data-is-lost") != std::string::npos);
  Op served = recreate;
  served.key = "a";
  served.force = true;
  CHECK_FALSE(h.call(served).ok);  // shard 1 is served: nothing to recreate
  recreate.force = true;
  Reply done = h.call(recreate);
  INFO(done.error);
  REQUIRE(done.ok);
  auto a = h.expect_assign(w1);
  REQUIRE(a.has_value());
  REQUIRE(a->shards.size() == 2);
  const ShardInfo fresh = a->shards[1];
  CHECK(fresh.lo == "m");
  CHECK_FALSE(fresh.hi.has_value());
  CHECK(fresh.epoch > (uint64_t{1} << 32));
  CHECK(h.get("z").value == served_by("w1", fresh.id, fresh.epoch));
  // The old owner of the range turns up: its copy is older than the recreated shard and dropped.
  FakeWorker& w2 = h.worker("w2");
  w2.auto_serve = true;
  w2.register_with({shard(2, "m", std::nullopt, 7)}, "c1");
  auto a2 = h.expect_assign(w2);
  REQUIRE(a2.has_value());
  REQUIRE(a2->drops.size() == 1);
  CHECK(a2->drops[0].id == 2);
  CHECK(a2->drops[0].epoch == 7);
  CHECK(h.get("z").value == served_by("w1", fresh.id, fresh.epoch));
}

TEST_CASE(
    "broker loop: past --max-pending ops are refused busy at once, and accepted again after") {
  broker::BrokerConfig cfg;
  cfg.max_pending = 3;
  BrokerHarness h(cfg);
  FakeWorker& w1 = h.worker("w1");
  w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
  REQUIRE(h.expect_assign(w1));
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(h.send(BrokerHarness::get_op("k" + std::to_string(i))));
  for (int i = 3; i < 5; ++i) {
    auto r = h.reply(ids[i], kAtOnceMs);
    REQUIRE(r.has_value());
    CHECK(r->code == ErrorCode::kBusy);
  }
  for (int i = 0; i < 3; ++i) CHECK_FALSE(h.answered(ids[i]));
  w1.serve_from_now();
  for (int i = 0; i < 3; ++i) {
    auto r = h.reply(ids[i]);
    REQUIRE(r.has_value());
    CHECK(r->ok);
  }
  CHECK(h.get("k").ok);
}

TEST_CASE("broker loop: a batch over two workers is answered in order, streamed when asked") {
  const bool stream = GENERATE(false, true);
  INFO((stream ? "streamed" : "whole"));
  BrokerHarness h;
  FakeWorker& w1 = h.worker("w1");
  FakeWorker& w2 = h.worker("w2");
  w1.register_with({shard(1, "", "m", 3)}, "c1");
  REQUIRE(h.expect_assign(w1));
  w2.auto_serve = true;
  w2.register_with({shard(2, "m", std::nullopt, 7)}, "c1");
  REQUIRE(h.expect_assign(w2));
  Op batch;
  batch.op = "batch";
  batch.stream = stream;
  batch.batch = {BrokerHarness::get_op("a"), BrokerHarness::get_op("z"),
                 BrokerHarness::set_op("b", "v"), BrokerHarness::get_op("y")};
  const uint64_t id = h.send(batch);
  auto first = h.reply(id, 1000);
  if (stream) {
    // w2's answers come first, in partial envelopes (one or two: its answers may reach the
    // broker in one loop turn or two); w1's when it answers.
    REQUIRE(first.has_value());
    CHECK(first->partial);
    std::vector<Reply> early = std::move(first->replies);
    if (early.size() < 2) {
      auto more = h.reply(id, 1000);
      REQUIRE(more.has_value());
      CHECK(more->partial);
      for (auto& r : more->replies) early.push_back(std::move(r));
    }
    REQUIRE(early.size() == 2);
    CHECK(early[0].value == served_by("w2", 2, 7));
    CHECK(early[1].value == served_by("w2", 2, 7));
    w1.serve_from_now();
    // w1's two answers may reach the broker in one loop turn or in two: one envelope or two,
    // the last one whole (not partial).
    std::vector<Reply> rest;
    for (int envelopes = 0; envelopes < 2 && rest.size() < 2; ++envelopes) {
      auto part = h.reply(id);
      REQUIRE(part.has_value());
      for (auto& r : part->replies) rest.push_back(std::move(r));
      CHECK(part->partial == (rest.size() < 2));
    }
    REQUIRE(rest.size() == 2);
    CHECK(rest[0].value == served_by("w1", 1, 3));
    CHECK(rest[1].ok);
  } else {
    CHECK_FALSE(first.has_value());  // waits for w1
    w1.serve_from_now();
    auto all = h.reply(id);
    REQUIRE(all.has_value());
    REQUIRE(all->replies.size() == 4);
    CHECK(all->replies[0].value == served_by("w1", 1, 3));
    CHECK(all->replies[1].value == served_by("w2", 2, 7));
    CHECK(all->replies[2].ok);
    CHECK(all->replies[3].value == served_by("w2", 2, 7));
  }
}
