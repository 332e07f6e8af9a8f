// The worker's event loop against a test ROUTER standing in for the broker, over inproc://.
// Every wait is bounded by a poll timeout, so a broken worker fails a test instead of hanging it.
#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "common/clock.hpp"
#include "common/envelope.hpp"
#include "common/protocol.hpp"
#include "shard_infos.hpp"
#include "worker/worker.hpp"

using namespace clossyne;

namespace {

constexpr int kWaitMs = 3000;

std::string fresh_endpoint() {
  static std::atomic<int> n{0};
  return "inproc://worker-loop-test-" + std::to_string(n++);
}

ShardInfo shard_info(uint32_t id, std::string lo, std::optional<std::string> hi, uint64_t epoch) {
  return testing::make_shard_info(id, std::move(lo), std::move(hi), epoch, 5);
}

Op routed(uint64_t id, std::string op, uint32_t shard, uint64_t epoch, std::string key,
          std::optional<std::string> value = std::nullopt) {
  Op o;
  o.id = id;
  o.op = std::move(op);
  o.shard = shard;
  o.epoch = epoch;
  o.key = std::move(key);
  o.value = std::move(value);
  return o;
}

// A ROUTER playing the broker, with a Worker running in its own thread.
class Harness {
 public:
  explicit Harness(WorkerTiming timing = {}, std::string zone = {})
      : router_(ctx_, zmq::socket_type::router),
        endpoint_(fresh_endpoint()),
        worker_(ctx_, endpoint_, "w1", timing) {
    worker_.set_zone(std::move(zone));
    // A reconnecting worker reuses its routing id; handover lets the new connection take it.
    router_.set(zmq::sockopt::router_handover, 1);
    router_.set(zmq::sockopt::linger, 0);
    router_.bind(endpoint_);
    thread_ = std::thread([this] { worker_.run(); });
  }
  ~Harness() {
    worker_.stop();
    thread_.join();
  }

  void send(const std::string& body) {
    router_.send(zmq::buffer(std::string("w1")), zmq::send_flags::sndmore);
    router_.send(zmq::buffer(body), zmq::send_flags::none);
  }
  void send(const Op& op) { send(encode(op)); }

  // The next message from the worker that satisfies `want`, skipping others (heartbeats).
  std::optional<Reply> expect(const std::function<bool(const Reply&)>& want) {
    const int64_t deadline = now_ms() + kWaitMs;
    for (int64_t now = now_ms(); now < deadline; now = now_ms()) {
      zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(deadline - now));
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      zmq::message_t identity, body;
      (void)router_.recv(identity);
      (void)router_.recv(body);
      REQUIRE(identity.to_string() == "w1");
      Reply r;
      REQUIRE(decode(body.to_string_view(), r).ok());
      if (want(r)) return r;
    }
    return std::nullopt;
  }
  // Asks the worker to register again and returns its registration.
  std::optional<Reply> reregister() {
    Op rereg;
    rereg.op = "reregister";
    send(rereg);
    return expect_op("register");
  }

  std::optional<Reply> expect_op(std::string_view op) {
    return expect([op](const Reply& r) { return r.op == op; });
  }
  std::optional<Reply> expect_id(uint64_t id) {
    return expect([id](const Reply& r) { return r.op.empty() && r.id == id; });
  }

  void assign(std::vector<ShardInfo> shards) {
    Op op;
    op.op = "assign";
    op.shards = std::move(shards);
    send(op);
  }

 private:
  zmq::context_t ctx_;
  zmq::socket_t router_;
  std::string endpoint_;
  Worker worker_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("worker: registers on start with no shards") {
  Harness h;
  auto reg = h.expect_op("register");
  REQUIRE(reg.has_value());
  CHECK(reg->worker == "w1");
  CHECK(reg->shards.empty());
}

TEST_CASE("worker: takes an assignment and answers a batch in order") {
  Harness h;
  REQUIRE(h.expect_op("register"));
  h.assign({shard_info(1, "", "m", 4), shard_info(2, "m", std::nullopt, 6)});

  Op batch;
  batch.id = 100;
  batch.op = "batch";
  batch.batch = {routed(1, "set", 1, 4, "apple", "red"), routed(2, "set", 2, 6, "pear", "green"),
                 routed(3, "get", 1, 4, "apple"),        routed(4, "get", 2, 6, "pear"),
                 routed(5, "get", 2, 6, "plum"),         routed(6, "del", 1, 4, "apple"),
                 routed(7, "exists", 1, 4, "apple")};
  h.send(batch);
  auto r = h.expect_id(100);
  REQUIRE(r.has_value());
  CHECK(r->is_batch);
  REQUIRE(r->replies.size() == 7);
  for (uint64_t i = 0; i < 7; ++i) CHECK(r->replies[i].id == i + 1);
  CHECK(r->replies[0].ok);
  CHECK(r->replies[1].ok);
  CHECK(r->replies[2].value == "red");
  CHECK(r->replies[3].value == "green");
  CHECK(r->replies[4].has_value);
  CHECK_FALSE(r->replies[4].value.has_value());
  CHECK(r->replies[5].n == 1);
  CHECK(r->replies[6].n == 0);

  // A re-registration reports the shards now held, with their key counts.
  auto reg = h.reregister();
  REQUIRE(reg.has_value());
  REQUIRE(reg->shards.size() == 2);
  CHECK(reg->shards[0].id == 1);
  CHECK(reg->shards[0].epoch == 4);
  CHECK(reg->shards[0].keys == 0);
  CHECK(reg->shards[1].keys == 1);
  CHECK(reg->shards[1].lo == "m");
}

TEST_CASE("worker: a single op with a stale epoch gets the stale-epoch error") {
  Harness h;
  REQUIRE(h.expect_op("register"));
  h.assign({shard_info(3, "", std::nullopt, 9)});
  h.send(routed(41, "get", 3, 8, "k"));
  auto r = h.expect_id(41);
  REQUIRE(r.has_value());
  CHECK_FALSE(r->is_batch);
  CHECK_FALSE(r->ok);
  CHECK(r->error == "ERR stale epoch for shard 3 (have 9)");

  h.send(routed(42, "get", 4, 9, "k"));
  r = h.expect_id(42);
  REQUIRE(r.has_value());
  CHECK(r->error == "ERR shard 4 is not held by worker w1");
}

TEST_CASE("worker: garbage is ignored and the next batch still answered") {
  Harness h;
  REQUIRE(h.expect_op("register"));
  h.assign({shard_info(1, "", std::nullopt, 1)});
  h.send(std::string("\xc1\xff garbage", 10));
  h.send(std::string());
  h.send(std::string("\x81\xa1v\x05", 4));  // a map with an unsupported version
  Op batch;
  batch.id = 7;
  batch.op = "batch";
  batch.batch = {routed(1, "set", 1, 1, "k", "v"), routed(2, "get", 1, 1, "k")};
  h.send(batch);
  auto r = h.expect_id(7);
  REQUIRE(r.has_value());
  REQUIRE(r->replies.size() == 2);
  CHECK(r->replies[1].value == "v");
}

TEST_CASE("worker: an op without a shard gets an error with its id") {
  Harness h;
  REQUIRE(h.expect_op("register"));
  Op op;
  op.id = 12;
  op.op = "shrug";
  h.send(op);
  auto r = h.expect_id(12);
  REQUIRE(r.has_value());
  CHECK(r->error == "ERR unknown op 'shrug'");
}

TEST_CASE("worker: heartbeats, and re-registers when the broker goes quiet") {
  Harness h(WorkerTiming{50, 400});
  REQUIRE(h.expect_op("register"));
  auto beat = h.expect_op("heartbeat");
  REQUIRE(beat.has_value());
  CHECK(beat->worker == "w1");
  // The test broker never answers, so the worker must reconnect and register again.
  REQUIRE(h.expect_op("register"));
  // After the reconnect the worker still serves.
  h.assign({shard_info(1, "", std::nullopt, 1)});
  h.send(routed(77, "count", 1, 1, ""));
  auto r = h.expect_id(77);
  REQUIRE(r.has_value());
  CHECK(r->n == 0);
}

TEST_CASE(
    "worker: heartbeats carry the held shards' sizes, never an importing shard's, registrations "
    "flag it") {
  Harness h(WorkerTiming{50, 3000});
  REQUIRE(h.expect_op("register"));
  ShardInfo incoming = shard_info(2, "m", std::nullopt, 3);
  incoming.importing = true;
  h.assign({shard_info(1, "", "m", 1), incoming});
  Op batch;
  batch.id = 5;
  batch.op = "batch";
  batch.batch = {routed(1, "set", 1, 1, "a", "1"), routed(2, "set", 1, 1, "b", "2")};
  Op import;
  import.id = 3;
  import.op = "import";
  import.shard = 2;
  import.epoch = 3;
  import.pairs = {{"n", "x"}, {"o", "y"}, { "p", "z" }};
  batch.batch.push_back(import);
  Op sync;
  sync.id = 4;
  sync.op = "sync";
  sync.shard = 2;
  sync.epoch = 3;
  batch.batch.push_back(sync);
  h.send(batch);
  auto r = h.expect_id(5);
  REQUIRE(r.has_value());
  REQUIRE(r->replies.size() == 4);
  CHECK(r->replies[2].n == 3);
  CHECK(r->replies[3].ok);
  auto beat = h.expect([](const Reply& m) { return m.op == "heartbeat" && !m.shards.empty(); });
  REQUIRE(beat.has_value());
  REQUIRE(beat->shards.size() == 1);
  CHECK(beat->shards[0].id == 1);
  CHECK(beat->shards[0].epoch == 1);
  CHECK(beat->shards[0].keys == 2);
  CHECK(beat->shards[0].bytes > 0);
  // A registration lists it, flagged: a restarted broker may adopt it on its source's tombstone.
  auto reg = h.reregister();
  REQUIRE(reg.has_value());
  REQUIRE(reg->shards.size() == 2);
  CHECK(reg->shards[0].id == 1);
  CHECK_FALSE(reg->shards[0].importing);
  CHECK(reg->shards[1].id == 2);
  CHECK(reg->shards[1].importing);
}

TEST_CASE("worker: a split inside a batch answers both pieces, later ops on the old shard fail") {
  Harness h;
  REQUIRE(h.expect_op("register"));
  h.assign({shard_info(1, "", std::nullopt, 4)});
  Op batch;
  batch.id = 9;
  batch.op = "batch";
  for (uint64_t i = 0; i < 10; ++i)
    batch.batch.push_back(
        routed(i + 1, "set", 1, 4, std::string(1, static_cast<char>('a' + i)), "v"));
  Op split;
  split.id = 50;
  split.op = "split";
  split.shard = 1;
  split.epoch = 4;
  for (uint32_t id : {7u, 8u}) {
    ShardInfo t = shard_info(id, "", std::nullopt, 5);
    split.shards.push_back(t);
  }
  batch.batch.push_back(split);
  batch.batch.push_back(routed(51, "get", 1, 4, "a"));
  batch.batch.push_back(routed(52, "get", 8, 5, "j"));
  h.send(batch);
  auto r = h.expect_id(9);
  REQUIRE(r.has_value());
  REQUIRE(r->replies.size() == 13);
  const Reply& s = r->replies[10];
  INFO(s.error);
  REQUIRE(s.ok);
  REQUIRE(s.shards.size() == 2);
  CHECK(s.shards[0].id == 7);
  CHECK(s.shards[0].hi == "f");  // the key at rank 10 / 2
  CHECK(s.shards[1].lo == "f");
  CHECK(s.shards[0].keys == 5);
  CHECK(s.shards[1].keys == 5);
  CHECK(r->replies[11].error == "ERR shard 1 is not held by worker w1");
  CHECK(r->replies[12].value == "v");
}

TEST_CASE(
    "worker: registers its zone and the replicas it accepted, refuses a seq gap on the wire") {
  Harness h({}, "rack-7");
  auto reg = h.expect_op("register");
  REQUIRE(reg.has_value());
  CHECK(reg->zone == "rack-7");
  ShardInfo s = shard_info(1, "", std::nullopt, 2);
  s.replicas = {"w1", "w2"};
  h.assign({s});
  reg = h.reregister();
  REQUIRE(reg.has_value());
  REQUIRE(reg->shards.size() == 1);
  CHECK(reg->shards[0].replicas == s.replicas);
  CHECK(reg->zone == "rack-7");

  Op batch;
  batch.id = 40;
  batch.op = "batch";
  batch.batch = {routed(41, "set", 1, 2, "a", "1"), routed(42, "set", 1, 2, "b", "2"),
                 routed(43, "get", 1, 2, "b")};
  batch.batch[0].seq = 1;
  batch.batch[1].seq = 3;  // seq 2 never came
  h.send(batch);
  auto r = h.expect_id(40);
  REQUIRE(r.has_value());
  REQUIRE(r->replies.size() == 3);
  CHECK(r->replies[0].ok);
  CHECK(r->replies[1].code == ErrorCode::kReplicaGap);
  CHECK(r->replies[1].error ==
        "ERR replication gap on shard 1: expected seq 2, got 3 (a write was missed)");
  CHECK(r->replies[2].has_value);
  CHECK_FALSE(r->replies[2].value.has_value());  // b was not written
}
