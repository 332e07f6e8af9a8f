// The broker's loop with fake workers: re-routed deletes (stale epoch, not held, a worker that
// restarted), and deadlines of held ops.
#include <catch2/catch.hpp>

#include "broker_harness.hpp"

using namespace clossyne;
using namespace clossyne::testing;

namespace {

// One worker w1 owning shard 1 (every key) at epoch 3, answering only what the test answers.
FakeWorker& one_shard(BrokerHarness& h) {
  FakeWorker& w1 = h.worker("w1");
  w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
  REQUIRE(h.expect_assign(w1));
  return w1;
}

}  // namespace

TEST_CASE(
    "broker loop: a DEL answered stale_epoch or not_held is re-sent and the shard keeps serving") {
  const ErrorCode code = GENERATE(ErrorCode::kStaleEpoch, ErrorCode::kNotHeld);
  INFO("code " << error_code_name(code));
  BrokerHarness h;
  FakeWorker& w1 = one_shard(h);
  const uint64_t del = h.send(BrokerHarness::del_op("k"));
  auto first = h.expect_sub(w1, "del");
  REQUIRE(first.has_value());
  CHECK(first->shard == 1u);
  CHECK(first->epoch == 3);
  // Ops behind the DEL wait for it.
  const uint64_t get = h.send(BrokerHarness::get_op("k"));
  const uint64_t set = h.send(BrokerHarness::set_op("j", "v"));
  h.pump(100);
  CHECK_FALSE(h.answered(get));
  CHECK(h.expect_sub(w1, "get", 0) == std::nullopt);

  w1.fail(*first, code, "ERR refused for the test");
  auto again = h.expect_sub(w1, "del");
  REQUIRE(again.has_value());  // re-sent, not queued behind itself
  CHECK(again->keys == first->keys);
  CHECK_FALSE(h.answered(get));  // still behind the re-sent DEL
  w1.ok(*again);
  auto del_reply = h.reply(del);
  REQUIRE(del_reply.has_value());
  CHECK(del_reply->ok);
  // What waited goes on, and later ops are dispatched and answered.
  w1.serve_from_now();
  auto got = h.reply(get);
  REQUIRE(got.has_value());
  CHECK(got->value == served_by("w1", 1, 3));
  auto stored = h.reply(set);
  REQUIRE(stored.has_value());
  CHECK(stored->ok);
  for (int i = 0; i < 3; ++i) {
    Reply r = h.call(BrokerHarness::del_op("k" + std::to_string(i)));
    CHECK(r.ok);
    CHECK(h.get("k").value == served_by("w1", 1, 3));
  }
}

TEST_CASE("broker loop: a re-routed op goes to the shard of its key") {
  BrokerHarness h;
  FakeWorker& w1 = h.worker("w1");
  FakeWorker& w2 = h.worker("w2");
  w1.auto_serve = true;
  w1.register_with({shard(1, "", "m", 3)}, "c1");
  REQUIRE(h.expect_assign(w1));
  w2.register_with({shard(2, "m", std::nullopt, 7)}, "c1");
  REQUIRE(h.expect_assign(w2));
  for (const std::string name : {"get", "set", "del"}) {
    INFO(name);
    Op o = name == "get"   ? BrokerHarness::get_op("z")
           : name == "set" ? BrokerHarness::set_op("z", "v")
                           : BrokerHarness::del_op("z");
    const uint64_t id = h.send(o);
    auto first = h.expect_sub(w2, name);
    REQUIRE(first.has_value());
    w2.fail(*first, ErrorCode::kStaleEpoch, "ERR stale epoch for shard 2 (have 7)");
    auto again = h.expect_sub(w2, name);
    REQUIRE(again.has_value());
    CHECK(again->shard == 2u);
    CHECK(again->epoch == 7);
    CHECK(again->key == first->key);
    CHECK(again->keys == first->keys);
    w2.send(w2.serve(*again));
    auto r = h.reply(id);
    REQUIRE(r.has_value());
    CHECK(r->ok);
  }
  for (const auto& m : w1.log) CHECK(m.op.op == "assign");  // nothing went to the other shard
}

TEST_CASE(
    "broker loop: a DEL refused on every re-send fails with the worker's code and releases its "
    "shard") {
  BrokerHarness h;
  FakeWorker& w1 = one_shard(h);
  const uint64_t del = h.send(BrokerHarness::del_op("k"));
  const uint64_t get = h.send(BrokerHarness::get_op("k"));
  int sends = 0;
  std::optional<Reply> del_reply;
  const int64_t deadline = now_ms() + kWaitMs;
  while (!del_reply && now_ms() < deadline) {
    if (auto sub = h.expect_sub(w1, "del", 50)) {
      ++sends;
      w1.fail(*sub, ErrorCode::kStaleEpoch, "ERR stale epoch for shard 1 (have 4)");
    }
    del_reply = h.reply(del, 0);
  }
  REQUIRE(del_reply.has_value());
  CHECK(sends == 4);  // the first send and three re-routes
  CHECK_FALSE(del_reply->ok);
  CHECK(del_reply->code == ErrorCode::kStaleEpoch);
  w1.serve_from_now();
  auto got = h.reply(get);
  REQUIRE(got.has_value());
  CHECK(got->ok);
  CHECK(h.get("z").value == served_by("w1", 1, 3));
}

TEST_CASE(
    "broker loop: a worker that restarts with a DEL in flight fails it at its registration, not at "
    "its deadline") {
  BrokerHarness h;
  FakeWorker& w1 = one_shard(h);
  const uint64_t del = h.send(BrokerHarness::del_op("k"));
  REQUIRE(h.expect_sub(w1, "del"));
  // w1 restarts: the old process took the DEL along unanswered.
  w1.reconnect();
  w1.heartbeat();
  const uint64_t get = h.send(BrokerHarness::get_op("k"));
  h.pump(100);
  CHECK_FALSE(h.answered(get));  // behind the DEL
  const int64_t start = now_ms();
  w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
  auto del_reply = h.reply(del, 1000);
  REQUIRE(del_reply.has_value());
  CHECK(now_ms() - start < kAtOnceMs);  // the default op timeout is 10 s
  CHECK_FALSE(del_reply->ok);
  CHECK(del_reply->code == ErrorCode::kUnavailable);
  CHECK(del_reply->error.find("restarted") != std::string::npos);
  auto a = h.expect_assign(w1);
  REQUIRE(a.has_value());
  CHECK(a->drops.empty());
  w1.serve_from_now();
  auto got = h.reply(get);
  REQUIRE(got.has_value());
  CHECK(got->value == served_by("w1", 1, 3));
  CHECK(h.call(BrokerHarness::del_op("k")).ok);
  CHECK(h.get("k").value == served_by("w1", 1, 3));
}

TEST_CASE(
    "broker loop: a worker that restarts and gets batches before its new assignment does not wedge "
    "its shard") {
  BrokerHarness h;
  FakeWorker& w1 = one_shard(h);
  // w1 restarts: the new process holds nothing yet and has not registered; the broker has not
  // heard of the restart and sends it a DEL and a GET.
  w1.reconnect();
  w1.held.clear();
  w1.heartbeat();
  h.pump(50);
  const uint64_t del = h.send(BrokerHarness::del_op("q"));
  const uint64_t get = h.send(BrokerHarness::get_op("q"));
  auto first = h.expect_sub(w1, "del");
  REQUIRE(first.has_value());
  w1.fail(*first, ErrorCode::kNotHeld, "ERR shard 1 is not held by worker w1");
  auto again = h.expect_sub(w1, "del");
  REQUIRE(again.has_value());  // re-sent, not queued behind its own barrier
  CHECK_FALSE(h.answered(get));
  // Now its registration arrives: the re-sent DEL fails at once, the GET goes on after the
  // assignment.
  w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
  auto del_reply = h.reply(del, 1000);
  REQUIRE(del_reply.has_value());
  CHECK(del_reply->code == ErrorCode::kUnavailable);
  REQUIRE(h.expect_assign(w1));
  auto sent = h.expect_sub(w1, "get");
  REQUIRE(sent.has_value());
  w1.send(w1.serve(*sent));
  auto got = h.reply(get);
  REQUIRE(got.has_value());
  CHECK(got->value == served_by("w1", 1, 3));
  w1.serve_from_now();
  CHECK(h.call(BrokerHarness::del_op("q")).ok);
  CHECK(h.get("q").value == served_by("w1", 1, 3));
}

TEST_CASE(
    "broker loop: a restarted worker that refuses everything before it registers gets every op "
    "answered") {
  BrokerHarness h;
  FakeWorker& w1 = one_shard(h);
  w1.reconnect();
  w1.held.clear();  // it answers "not held" to everything until it is assigned again
  w1.serve_from_now();
  w1.heartbeat();
  h.pump(50);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(h.send(BrokerHarness::del_op("d" + std::to_string(i))));
    ids.push_back(h.send(BrokerHarness::get_op("d" + std::to_string(i))));
  }
  for (uint64_t id : ids) {
    auto r = h.reply(id, 1000);
    REQUIRE(r.has_value());
    CHECK(r->code == ErrorCode::kNotHeld);  // re-sent three times, then the refusal stands
  }
  w1.register_with({shard(1, "", std::nullopt, 3)}, "c1");
  REQUIRE(h.expect_assign(w1));
  CHECK(h.call(BrokerHarness::del_op("d0")).ok);
  CHECK(h.get("d0").value == served_by("w1", 1, 3));
}

TEST_CASE(
    "broker loop: ops held behind a DEL nobody answers time out, then the shard serves again") {
  broker::BrokerConfig cfg;
  cfg.op_timeout_ms = 600;
  BrokerHarness h(cfg);
  FakeWorker& w1 = one_shard(h);
  const int64_t start = now_ms();
  const uint64_t del = h.send(BrokerHarness::del_op("k"));
  REQUIRE(h.expect_sub(w1, "del"));
  std::vector<uint64_t> held;
  for (int i = 0; i < 5; ++i)
    held.push_back(h.send(BrokerHarness::get_op("k" + std::to_string(i))));
  h.pump(50);
  for (uint64_t id : held) CHECK_FALSE(h.answered(id));
  auto d = h.reply(del, 2500);
  REQUIRE(d.has_value());
  CHECK(d->code == ErrorCode::kTimeout);
  for (uint64_t id : held) {
    auto r = h.reply(id, 2500);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->ok);
    CHECK(r->code == ErrorCode::kTimeout);
    CHECK(r->error.rfind("ERR timeout", 0) == 0);
  }
  const int64_t took = now_ms() - start;
  CHECK(took >= 600);
  CHECK(took < 600 + 1000 + 700);  // op timeout, housekeeping once a second, slack
  w1.serve_from_now();
  CHECK(h.get("k").value == served_by("w1", 1, 3));
  CHECK(h.call(BrokerHarness::del_op("k")).ok);
  CHECK(h.get("k").value == served_by("w1", 1, 3));
}

TEST_CASE("broker loop: ops held behind a stalled move time out as held (stayed busy)") {
  broker::BrokerConfig cfg;
  cfg.op_timeout_ms = 800;
  BrokerHarness h(cfg);
  FakeWorker& w1 = one_shard(h);
  FakeWorker& w2 = h.worker("w2");
  w2.register_with({}, "c1");
  REQUIRE(h.expect_assign(w2));
  Reply move = h.call(BrokerHarness::move_op(1, "w2"));
  REQUIRE(move.ok);
  auto chunk = h.expect_sub(w1, "rng");
  REQUIRE(chunk.has_value());
  const int64_t start = now_ms();
  const uint64_t get = h.send(BrokerHarness::get_op("k"));
  h.pump(300);
  CHECK_FALSE(h.answered(get));
  // The export answers late (the move's deadline moves on), the import is never answered: the
  // held GET passes its deadline while the shard is still busy.
  Reply items;
  items.items = std::vector<KV>{{"a", "1"}};
  w1.answer(items, chunk->id);
  REQUIRE(h.expect_sub(w2, "import"));
  auto r = h.reply(get, 2500);
  REQUIRE(r.has_value());
  CHECK(r->code == ErrorCode::kTimeout);
  CHECK(r->error.find("stayed busy") != std::string::npos);
  CHECK(now_ms() - start < 800 + 1000 + 700);
  // The move is abandoned too (no progress in time); the shard serves from its source.
  w1.serve_from_now();
  auto dropped = h.expect(w2, [](const Received& m) {
    return !m.in_batch && m.op.op == "assign" && !m.op.drops.empty();
  });
  REQUIRE(dropped.has_value());
  CHECK(dropped->drops[0].epoch == 4);
  CHECK(h.get("k").value == served_by("w1", 1, 3));
}
