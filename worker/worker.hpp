// Worker: the clossyne-worker process in one event loop, no threads. A DEALER socket (routing id =
// worker id) connects to the broker's worker endpoint; the worker registers its shards, heartbeats,
// reconnects and re-registers when the broker goes quiet, and answers every routed op or batch.
//
// Wire: worker -> broker messages are Reply envelopes (register, heartbeat, results); broker ->
// worker messages are Op envelopes (heartbeat, reregister, assign, batch, single routed ops).
// Undecodable messages are logged and ignored.
//
// run() blocks until stop(); stop() is safe from another thread or a signal handler.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "common/envelope.hpp"
#include "common/protocol.hpp"
#include "worker/shard_table.hpp"

namespace clossyne {

struct WorkerTiming {
  int heartbeat_ms = proto::kHeartbeatMs;  // send a heartbeat this often
  int liveness_ms = proto::kLivenessMs;    // reconnect after this long without any message
};

class Worker {
 public:
  Worker(zmq::context_t& ctx, std::string broker, std::string id, WorkerTiming timing = {});
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Connects, registers and serves until stop() (or until the context is terminated).
  void run();
  void stop() { stopping_.store(true); }

  const std::string& id() const { return id_; }

 private:
  static_assert(std::atomic<bool>::is_always_lock_free, "stop() must be async-signal-safe");

  void connect();
  void reconnect();
  void poll_once();
  void housekeeping();
  void drain();
  void handle(std::string_view body);
  void send(const Reply& reply);
  void send_register();

  zmq::context_t& ctx_;
  std::string broker_;
  std::string id_;
  WorkerTiming timing_;
  zmq::socket_t socket_;
  ShardTable shards_;
  std::atomic<bool> stopping_{false};
  int64_t last_heard_ms_ = 0;
  int64_t next_heartbeat_ms_ = 0;
};

}  // namespace clossyne
