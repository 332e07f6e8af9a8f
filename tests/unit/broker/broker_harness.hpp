// A harness for the broker's loop: a real clossyne::broker::Broker running run(stop) in a thread,
// bound to fresh inproc:// endpoints, with fake workers (DEALER sockets with routing ids that
// register, heartbeat and answer sub-ops) and a fake client (a DEALER sending envelopes). All
// fake sockets live on the test thread; every wait is bounded (kWaitMs unless told otherwise).
#pragma once
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "broker/broker.hpp"
#include "broker/config.hpp"
#include "common/clock.hpp"
#include "common/envelope.hpp"
#include "common/error_code.hpp"

namespace clossyne::testing {

inline constexpr int kWaitMs = 3000;
// "At once": well under what a missed notice would cost (liveness 3.5 s, op timeout and move
// abandonment 10 s), with room for a loaded machine or a sanitizer build.
inline constexpr int kAtOnceMs = 1000;

inline ShardInfo shard(uint32_t id, std::string lo, std::optional<std::string> hi, uint64_t epoch,
                       bool importing = false) {
  ShardInfo s;
  s.id = id;
  s.lo = std::move(lo);
  s.hi = std::move(hi);
  s.epoch = epoch;
  s.seed = 5;
  s.importing = importing;
  return s;
}

// A handoff tombstone: shard `id` was handed to `owner`, who holds it at `epoch`.
inline ShardInfo tombstone(uint32_t id, uint64_t epoch, std::string owner) {
  ShardInfo t;
  t.id = id;
  t.epoch = epoch;
  t.owner = std::move(owner);
  return t;
}

// What an auto-serving fake worker answers a GET with: who served it, which shard, which epoch.
inline std::string served_by(const std::string& worker, uint32_t shard, uint64_t epoch) {
  return worker + ":" + std::to_string(shard) + ":" + std::to_string(epoch);
}

// One message a fake worker received: a control op (assign, reregister) or one sub-op of a batch.
struct Received {
  Op op;
  bool in_batch = false;
  bool taken = false;  // consumed by an expect()
};

class FakeWorker {
 public:
  FakeWorker(zmq::context_t& ctx, std::string id, std::string endpoint)
      : ctx_(ctx), id_(std::move(id)), endpoint_(std::move(endpoint)) {
    connect();
  }

  const std::string& id() const { return id_; }
  zmq::socket_t& socket() { return *socket_; }

  // A restarted process: a new socket with the same routing id (the broker's ROUTER hands the id
  // over to it). What the broker sent the old one is lost with it.
  void reconnect() { connect(); }

  void send(const Reply& r) {
    (void)socket_->send(zmq::buffer(encode(r)), zmq::send_flags::dontwait);
  }

  void register_with(std::vector<ShardInfo> shards, std::string cluster,
                     std::vector<ShardInfo> handoffs = {}, bool ephemeral = false,
                     std::string zone = {}) {
    Reply reg;
    reg.op = "register";
    reg.worker = id_;
    reg.zone = std::move(zone);
    reg.shards = std::move(shards);
    reg.cluster = std::move(cluster);
    reg.handoffs = std::move(handoffs);
    reg.ephemeral = ephemeral;
    held.clear();
    for (const auto& s : reg.shards) held[s.id] = s;
    registered_ = true;
    send(reg);
  }

  void heartbeat() {
    Reply beat;
    beat.op = "heartbeat";
    beat.worker = id_;
    send(beat);
  }

  void answer(Reply r, uint64_t id) {
    r.id = id;
    send(r);
  }
  void ok(const Op& sub) { answer(Reply::Ok(sub.id), sub.id); }
  void fail(const Op& sub, ErrorCode code, const std::string& text) {
    send(Reply::Error(sub.id, text, code));
  }

  // What an auto-serving fake worker answers, as a real worker would (worker/shard_table.cpp): a
  // shard it does not hold is "not held", another epoch "stale epoch", an importing shard takes
  // only imports and syncs; reads name the server, writes succeed, an export is one chunk of
  // `export_items`, a handoff gives the shard up.
  Reply serve(const Op& sub) {
    const uint32_t shard = sub.shard.value_or(0);
    auto it = held.find(shard);
    const std::string not_held =
        "ERR shard " + std::to_string(shard) + " is not held by worker " + id_;
    if (it == held.end()) return Reply::Error(sub.id, not_held, ErrorCode::kNotHeld);
    if (it->second.epoch != sub.epoch)
      return Reply::Error(sub.id, "ERR stale epoch for shard " + std::to_string(shard),
                          ErrorCode::kStaleEpoch);
    Reply r;
    r.id = sub.id;
    if (sub.op == "import" || sub.op == "sync") return r;
    if (it->second.importing) return Reply::Error(sub.id, not_held, ErrorCode::kNotHeld);
    if (sub.op == "handoff") {
      held.erase(it);
    } else if (sub.op == "get" || sub.op == "where") {
      r.has_value = true;
      r.value = served_by(id_, shard, sub.epoch);
    } else if (sub.op == "del" || sub.op == "exists" || sub.op == "count") {
      r.n = 1;
    } else if (sub.op == "rng") {
      r.items = export_items;
    }
    return r;
  }

  // An assignment as a real worker takes it: listed shards are held as listed; a drop removes a
  // copy held at exactly the dropped epoch (and not listed); nothing else is removed.
  void apply_assign(const Op& a) {
    std::map<uint32_t, bool> listed;
    for (const auto& s : a.shards) {
      held[s.id] = s;
      listed[s.id] = true;
    }
    for (const auto& d : a.drops) {
      auto it = held.find(d.id);
      if (!listed.count(d.id) && it != held.end() && it->second.epoch == d.epoch) held.erase(it);
    }
  }

  // Reads whatever is waiting (no blocking). Returns true if anything came.
  bool drain() {
    bool any = false;
    for (int i = 0; i < 10000; ++i) {
      zmq::message_t body;
      if (!socket_->recv(body, zmq::recv_flags::dontwait)) break;
      any = true;
      Op op;
      REQUIRE(decode(body.to_string_view(), op).ok());
      if (op.op == "heartbeat") continue;
      if (op.op == "batch") {
        for (auto& sub : op.batch) {
          if (std::getenv("CLOSSYNE_TEST_LOG"))
            spdlog::info("fake {}: {} id {} shard {} epoch {} key {}", id_, sub.op, sub.id,
                         sub.shard.value_or(0), sub.epoch, sub.key.value_or(""));
          const bool served = auto_serve && !hold_back.count(sub.op);
          if (served) send(serve(sub));
          log.push_back(Received{std::move(sub), true, served});
        }
      } else {
        if (op.op == "assign") apply_assign(op);
        log.push_back(Received{std::move(op), false, false});
      }
    }
    return any;
  }

  std::vector<Op> assigns() const {
    std::vector<Op> out;
    for (const auto& r : log) {
      if (!r.in_batch && r.op.op == "assign") out.push_back(r.op);
    }
    return out;
  }

  bool registered() const { return registered_; }

  // Marks everything received so far as taken: the next expect() sees only what comes later.
  void forget() {
    for (auto& r : log) r.taken = true;
  }

  // From now on answers every sub-op at once, starting with those received and not yet taken.
  void serve_from_now() {
    auto_serve = true;
    for (auto& r : log) {
      if (r.in_batch && !r.taken) {
        r.taken = true;
        send(serve(r.op));
      }
    }
  }

  std::vector<Received> log;        // every message but heartbeats, in arrival order
  bool auto_serve = false;          // answer every sub-op at once (they are logged as taken)...
  std::set<std::string> hold_back;  // ... but these ops, left for the test to answer
  bool heartbeats = true;           // the harness heartbeats for it (every liveness / 4, <= 500 ms)
  std::vector<KV> export_items;
  std::map<uint32_t, ShardInfo> held;  // what this worker holds (reported, then as assigned)

 private:
  void connect() {
    socket_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
    socket_->set(zmq::sockopt::linger, 0);
    socket_->set(zmq::sockopt::routing_id, id_);
    socket_->connect(endpoint_);
  }

  zmq::context_t& ctx_;
  std::string id_;
  std::string endpoint_;
  std::unique_ptr<zmq::socket_t> socket_;
  bool registered_ = false;
};

// A Broker in a thread plus its fake workers and client.
class BrokerHarness {
 public:
  explicit BrokerHarness(broker::BrokerConfig cfg = {}) {
    static std::atomic<int> n{0};
    const std::string base =
        "inproc://broker-loop-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
    cfg.clients_endpoint = base + "-clients";
    cfg.workers_endpoint = base + "-workers";
    workers_endpoint_ = cfg.workers_endpoint;
    beat_ms_ = std::min(500, cfg.liveness_ms / 4);  // well inside the broker's liveness
    spdlog::set_level(std::getenv("CLOSSYNE_TEST_LOG") ? spdlog::level::debug
                                                       : spdlog::level::warn);
    broker_ = std::make_unique<broker::Broker>(ctx_, cfg);
    client_.set(zmq::sockopt::linger, 0);
    client_.connect(cfg.clients_endpoint);
    thread_ = std::thread([this] { broker_->run(stop_); });
  }
  ~BrokerHarness() {
    stop_ = true;
    thread_.join();
    broker_.reset();
    workers_.clear();
  }
  BrokerHarness(const BrokerHarness&) = delete;
  BrokerHarness& operator=(const BrokerHarness&) = delete;

  // The fake worker with this id (connected on first use).
  FakeWorker& worker(const std::string& id) {
    auto& w = workers_[id];
    if (!w) w = std::make_unique<FakeWorker>(ctx_, id, workers_endpoint_);
    return *w;
  }

  // Reads every socket for up to `ms` (at least one pass), heartbeating and auto-serving.
  void pump(int ms) {
    const int64_t deadline = now_ms() + ms;
    do {
      std::vector<zmq::pollitem_t> items;
      items.push_back({client_.handle(), 0, ZMQ_POLLIN, 0});
      for (auto& [id, w] : workers_) items.push_back({w->socket().handle(), 0, ZMQ_POLLIN, 0});
      const int64_t left = std::max<int64_t>(0, std::min<int64_t>(deadline - now_ms(), 20));
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(left));
      drain_all();
    } while (now_ms() < deadline);
  }

  // ---- client ---------------------------------------------------------------------------------

  uint64_t send(Op op) {
    if (op.id == 0) op.id = next_id_++;
    (void)client_.send(zmq::buffer(encode(op)), zmq::send_flags::dontwait);
    return op.id;
  }

  // The (next) reply to request `id`, or nullopt after `timeout_ms`.
  std::optional<Reply> reply(uint64_t id, int timeout_ms = kWaitMs) {
    const int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
      if (auto it = replies_.find(id); it != replies_.end()) {
        Reply r = std::move(it->second.front());
        it->second.pop_front();
        if (it->second.empty()) replies_.erase(it);
        return r;
      }
      if (now_ms() >= deadline) return std::nullopt;
      pump(5);
    }
  }
  // True if request `id` has been answered already (after reading what is waiting).
  bool answered(uint64_t id) {
    pump(0);
    return replies_.count(id) > 0;
  }

  Reply call(Op op, int timeout_ms = kWaitMs) {
    const uint64_t id = send(std::move(op));
    auto r = reply(id, timeout_ms);
    REQUIRE(r.has_value());
    return *r;
  }

  static Op get_op(const std::string& key) {
    Op o;
    o.op = "get";
    o.key = key;
    return o;
  }
  static Op del_op(const std::string& key) {
    Op o;
    o.op = "del";
    o.keys = {key};
    return o;
  }
  static Op set_op(const std::string& key, const std::string& value) {
    Op o;
    o.op = "set";
    o.key = key;
    o.value = value;
    return o;
  }
  static Op move_op(uint32_t shard, const std::string& to) {
    Op o;
    o.op = "move";
    o.shard = shard;
    o.worker = to;
    return o;
  }
  Reply get(const std::string& key, int timeout_ms = kWaitMs) {
    return call(get_op(key), timeout_ms);
  }
  Reply status() {
    Op o;
    o.op = "status";
    return call(o);
  }

  // ---- worker inboxes -------------------------------------------------------------------------

  // The first message `w` got (or gets within `timeout_ms`) that nothing took yet and that
  // satisfies `want`; it is marked taken.
  std::optional<Op> expect(FakeWorker& w, const std::function<bool(const Received&)>& want,
                           int timeout_ms = kWaitMs) {
    const int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
      for (auto& r : w.log) {
        if (!r.taken && want(r)) {
          r.taken = true;
          return r.op;
        }
      }
      if (now_ms() >= deadline) return std::nullopt;
      pump(5);
    }
  }
  std::optional<Op> expect_assign(FakeWorker& w, int timeout_ms = kWaitMs) {
    return expect(
        w, [](const Received& r) { return !r.in_batch && r.op.op == "assign"; }, timeout_ms);
  }
  // The next sub-op named `name` sent to `w` in a batch.
  std::optional<Op> expect_sub(FakeWorker& w, const std::string& name, int timeout_ms = kWaitMs) {
    return expect(
        w, [&name](const Received& r) { return r.in_batch && r.op.op == name; }, timeout_ms);
  }
  // True when `w` gets no untaken message satisfying `want` for `ms`.
  bool quiet(FakeWorker& w, const std::function<bool(const Received&)>& want, int ms) {
    pump(ms);
    return std::none_of(w.log.begin(), w.log.end(),
                        [&](const Received& r) { return !r.taken && want(r); });
  }
  bool no_assign(FakeWorker& w, int ms) {
    return quiet(
        w, [](const Received& r) { return !r.in_batch && r.op.op == "assign"; }, ms);
  }

 private:
  void drain_all() {
    for (;;) {
      zmq::message_t body;
      if (!client_.recv(body, zmq::recv_flags::dontwait)) break;
      Reply r;
      REQUIRE(decode(body.to_string_view(), r).ok());
      const uint64_t id = r.id;
      replies_[id].push_back(std::move(r));  // a streamed batch has several envelopes
    }
    for (auto& [id, w] : workers_) w->drain();
    if (now_ms() >= next_beat_ms_) {
      next_beat_ms_ = now_ms() + beat_ms_;
      for (auto& [id, w] : workers_) {
        if (w->heartbeats && w->registered()) w->heartbeat();
      }
    }
  }

  zmq::context_t ctx_;
  std::string workers_endpoint_;
  std::unique_ptr<broker::Broker> broker_;
  std::map<std::string, std::unique_ptr<FakeWorker>> workers_;
  zmq::socket_t client_{ctx_, zmq::socket_type::dealer};
  std::map<uint64_t, std::deque<Reply>> replies_;
  uint64_t next_id_ = 1;
  int64_t next_beat_ms_ = 0;
  int beat_ms_ = 500;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace clossyne::testing
