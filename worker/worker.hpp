// Worker: the clossyne-worker process in one event loop, no threads. A DEALER socket (routing id =
// worker id) connects to the broker's worker endpoint; the worker registers its shards, heartbeats,
// reconnects and re-registers when the broker goes quiet, and answers every routed op or batch.
//
// Wire: worker -> broker messages are Reply envelopes (register, heartbeat, results); broker ->
// worker messages are Op envelopes (heartbeat, reregister, assign, batch, single routed ops).
// Register carries every held shard (importing ones flagged, replicated ones with the replicas
// last accepted), the cluster id, the handoff tombstones and the --zone label; every heartbeat
// carries the held (non-importing) shards with their key counts and tree sizes, which the broker
// splits and balances on. A shard is deleted only on the broker's explicit, epoch-checked word (an
// assign's drops, or a handoff), never for not being mentioned. Undecodable messages are logged and
// ignored.
//
// Durability: every message received in one loop turn is applied, then the Storage commits the
// turn's changes once (one fsync with --fsync always: group commit), and only then are the
// replies sent. When the commit fails, the turn's changes are undone and its writes (and every
// reply after the first of them in the turn, which may have seen an undone change) are answered
// "ERR persistence failure: ..."; reads go on. After a failed fsync the storage refuses every
// later write until a restart (docs/DURABILITY.md); the loop keeps serving reads and heartbeats.
// An assign is persisted before it is applied; when that fails the worker keeps its shards and
// asks again (re-registers) every heartbeat.
//
// run() blocks until stop(); stop() is safe from another thread or a signal handler.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "common/cluster_keys.hpp"
#include "common/envelope.hpp"
#include "common/protocol.hpp"
#include "worker/shard_table.hpp"
#include "worker/storage.hpp"

namespace clossyne {

struct WorkerTiming {
  int heartbeat_ms = proto::kHeartbeatMs;  // send a heartbeat this often
  int liveness_ms = proto::kLivenessMs;    // reconnect after this long without any message
};

class Worker {
 public:
  // `storage` nullptr: in-memory only.
  Worker(zmq::context_t& ctx, std::string broker, std::string id, WorkerTiming timing = {},
         std::unique_ptr<Storage> storage = nullptr);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Loads the shards the storage holds. Call once before run(); an error means: do not start.
  Status recover();
  // Connects, registers and serves until stop() (or until the context is terminated), then
  // closes the storage (a clean stop leaves everything durable).
  void run();
  void stop() { stopping_.store(true); }

  // The --zone label sent in register (placement: the broker spreads a shard's replicas over
  // zones). Call before run().
  void set_zone(std::string zone) { zone_ = std::move(zone); }
  // CURVE keys for the broker connection (--cluster-keys). Call before run().
  void set_curve(CurveClientKeys keys) { curve_ = std::move(keys); }

  const std::string& id() const { return id_; }
  const ShardTable& shards() const { return shards_; }

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
  void describe_self(Reply& r) const;  // rss and fsync mode, for register and heartbeat
  void hold(Reply reply, const Op& op);
  void commit_turn();
  void note_time(const Op& op);
  void expire_keys();

  // A reply waiting for its turn's commit; `writes` are the indices of the sub-replies (or 0 for
  // a single reply) that answer writes and must fail if the commit does.
  struct Held {
    Reply reply;
    std::vector<std::size_t> writes;
  };

  zmq::context_t& ctx_;
  std::string broker_;
  std::string id_;
  std::string zone_;
  WorkerTiming timing_;
  zmq::socket_t socket_;
  std::optional<CurveClientKeys> curve_;
  std::unique_ptr<Storage> storage_;
  ShardTable shards_;
  std::vector<Held> held_;
  bool assign_failed_ = false;  // ask for the assignment again at each heartbeat
  std::atomic<bool> stopping_{false};
  int64_t last_heard_ms_ = 0;
  int64_t next_heartbeat_ms_ = 0;
  // The latest time the broker sent (ops' and heartbeats' "now"): keys are removed only once it
  // has passed their expiry, so no later op (whose time is at least this) could still see them.
  int64_t broker_time_ms_ = 0;
  bool expiry_backlog_ = false;  // more keys were due than one turn removes: poll without waiting
};

}  // namespace clossyne
