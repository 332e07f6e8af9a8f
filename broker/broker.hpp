// Broker: routes client envelopes to the workers owning their keys' shards and merges replies.
// One thread, one zmq::poll loop (Majordomo style) over two ROUTER sockets: clients and workers.
// Every request gets a reply or an error within a bounded time; the broker keeps no data.
// The member functions live in five files by concern: broker.cpp (loop, client requests, routing),
// worker_link.cpp (liveness, worker replies, assignments), adoption.cpp (registrations: building
// and mending the shard map from what workers hold), migration.cpp (splits and moves), admin.cpp
// (status and operator commands).
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <zmq.hpp>

#include "common/frames.hpp"
#include "common/http_server.hpp"
#include "common/metrics_text.hpp"
#include "common/slot_map.hpp"
#include "config.hpp"
#include "metrics.hpp"
#include "planner.hpp"
#include "shard_map.hpp"
#include "transaction.hpp"
#include "worker_registry.hpp"
#include "zap_handler.hpp"

namespace clossyne::broker {

class Broker {
 public:
  Broker(zmq::context_t& ctx, BrokerConfig config);
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Runs until `stop` becomes true (checked at least every 100 ms).
  void run(const std::atomic<bool>& stop);

 private:
  // A client envelope (one op or a batch) being answered.
  struct ClientRequest {
    std::string identity;
    bool delimiter = false;
    uint64_t id = 0;
    bool is_batch = false;
    std::vector<OpMerge> merges;  // per op
    std::vector<Reply> replies;   // final, per op
    std::size_t outstanding = 0;  // ops not yet final, plus one while being planned
    bool stream = false;          // a streamed batch: replies go out as they are ready
    std::vector<Reply> ready;     // streamed replies not yet sent
    int64_t start_us = 0;         // arrival (metrics: latency as the broker sees it)
    std::vector<uint16_t> kinds;  // per op: its name's id in metrics_
  };
  // Where a part's reply goes, and which worker has it (empty while held at a barrier).
  struct PartRef {
    uint64_t request = 0;
    uint32_t op_index = 0;
    uint32_t part_index = 0;
    uint32_t shard_id = 0;
    std::string worker;
    int64_t deadline_ms = 0;
    bool is_del = false;
    int reroutes = 0;
    uint64_t txn = 0;  // a transaction's step or marker: the reply goes to it, not to `request`
    Op op;             // kept once sent, to re-route it if the worker refuses a stale epoch
    // A write to a replicated shard: the members yet to answer, and the primary's answer.
    bool replicated = false;
    std::vector<std::string> waiting;
    std::optional<Reply> result;
  };
  // A broker-internal request to a worker (split, export, import, sync).
  enum class InternalKind {
    kSplit,
    kExport,
    kImport,
    kSync,
    kHandoff,
    kConfirm,
    kMemberSplit,
    kMerge
  };
  struct InternalRef {
    InternalKind kind;
    uint32_t shard_id = 0;
    std::string worker;
    uint64_t epoch = 0;  // kConfirm: the configuration confirmed
  };

  // broker.cpp: loop and client requests.
  void secure_bus(zmq::context_t& ctx);
  void poll_once();
  void on_client_message(RoutedMessage m);
  void start_request(RoutedMessage& m, Op& op);
  void submit_part(uint64_t req, uint32_t op_index, uint32_t part_index, Part part);
  void route(std::size_t shard_index, uint64_t sub_id, Op op);
  void dispatch(ShardEntry& shard, uint64_t sub_id, Op op);
  void release_held(ShardEntry& shard);
  void reroute_held(std::deque<HeldOp> held, const KeyRange& old_range);
  void complete_part(uint64_t sub_id, Reply&& reply);
  void complete_op_part(uint64_t req, uint32_t op_index, uint32_t part_index, Reply&& reply);
  void finish_if_done(uint64_t req);
  void reply_to_client(const std::string& identity, bool delimiter, const Reply& r);
  void flush_streams();
  std::string unavailable(const ShardEntry& shard) const;
  bool reroute_stale(uint64_t sub_id, const Reply& reply);
  static bool again_routable(const Op& o);
  void expire_parts(int64_t now);

  // transaction.cpp: commands that span shards.
  bool runs_as_txn(const Op& op) const;
  void start_txn(uint64_t req, uint32_t op_index, Op op);
  void plan_locks(Transaction& t);
  void lock_next(uint64_t txn);
  std::optional<uint64_t> take_marker(uint64_t marker);
  void grant_lock(ShardEntry& shard, uint64_t marker);
  void marker_moved(uint64_t marker);
  void restart_txn(uint64_t txn);
  void unlock_all(uint64_t txn, Transaction& t);
  void advance_txn(uint64_t txn);
  void send_stage(uint64_t txn, Transaction& t, int next, std::vector<Op> steps,
                  const std::vector<uint32_t>& again);
  void on_txn_reply(uint64_t txn, uint64_t sub_id, uint32_t step, Reply&& reply);
  void finish_txn(uint64_t txn, Reply reply);
  void resume_txn(ShardEntry& shard);

  // worker_link.cpp: workers.
  void on_worker_message(RoutedMessage m);
  void note_shard_stats(const std::string& worker, const std::vector<ShardInfo>& shards);
  void send_assign(const std::string& worker);
  void send_to_worker(const std::string& worker, const Op& op);
  void enqueue(const std::string& worker, Op op);
  uint64_t send_internal(const std::string& worker, InternalKind kind, uint32_t shard, Op op);
  void flush_worker_batches();
  void housekeeping();
  void on_worker_dead(const std::string& id);
  // Fails the worker's in-flight parts and ends the changes it takes part in (it died, or it
  // registered again: a restart loses what it had in flight). `notify`: tell the live side.
  void fail_worker(const std::string& id, const std::string& why, bool notify);

  // adoption.cpp: registrations.
  void on_register(const std::string& id, const Reply& r);
  void start_cluster();
  void create_fresh_map();
  void adopt_registration(const std::string& worker, const Reply& r);
  void adopt_shard(const std::string& worker, const ShardInfo& s);
  void adopt_import(const std::string& worker, const ShardInfo& s);
  // Returns the workers whose assignment changed.
  std::set<std::string> resolve_imports();
  void drop_later(const std::string& worker, const ShardInfo& copy);
  std::string recreate(const Op& o);
  void release_idle_memory();

  // migration.cpp: structural changes.
  void balance();
  std::string start_split(uint32_t shard_id, std::optional<std::string> key);
  // `from`: the member a move of a replicated shard replaces (default: the primary).
  std::string start_move(uint32_t shard_id, const std::string& to, const std::string& from = "");
  void on_internal_reply(InternalRef ref, Reply reply);
  void on_split_done(uint32_t shard_id, const Reply& reply);
  void request_export(ShardEntry& shard);
  void on_export_chunk(uint32_t shard_id, Reply reply);
  void on_import_done(uint32_t shard_id, const Reply& reply);
  void finish_move(uint32_t shard_id);
  void abort_change(ShardEntry& shard, const std::string& why, bool notify = true,
                    bool release = true);
  void request_handoff(ShardEntry& shard);
  void check_migrations(int64_t now);

  // merge.cpp: two adjacent shards joined into one.
  std::string start_merge(uint32_t a, uint32_t b);
  std::string merge_refusal(const ShardEntry& a, const ShardEntry& b) const;
  void send_merge(const ShardEntry& left, const std::string& member);
  void on_merge_reply(const InternalRef& ref, const Reply& reply);
  void merge_member_gone(ShardEntry& left, const std::string& worker);
  void finish_merge(ShardEntry& left);
  void abort_merge(ShardEntry& shard, const std::string& why, bool release = true);
  void mark_merge_unrecorded(const ShardEntry& shard);
  void leave_abandoned_merge(ShardEntry& shard, const Migration& merge);
  std::vector<uint64_t> stop_waiting_for(const ShardEntry& shard, const std::string& worker,
                                         const std::string& why);
  void check_merges(int64_t now);
  void continue_merges();

  // replication.cpp: replicated shards (primary-backup, the broker as configuration manager).
  void place_members(ShardEntry& shard);
  std::optional<std::string> choose_member(const ShardEntry& shard) const;
  std::optional<std::string> next_member(ShardEntry& shard, int64_t now);
  void replicate_write(ShardEntry& shard, PartRef& ref, Op& op);
  void on_member_reply(const std::string& worker, uint64_t sub_id, Reply reply);
  void finish_replicated(uint64_t sub_id);
  void member_failed(ShardEntry& shard, const std::string& worker, const std::string& why);
  void reconfigure(ShardEntry& shard, std::string primary, std::vector<std::string> followers,
                   const std::string& why);
  void on_confirm(const InternalRef& ref, const Reply& reply);
  bool misses_writes(const ShardEntry& shard, const std::string& worker) const;
  void end_reconfigure(ShardEntry& shard);
  void replicate_more();
  std::string start_join(ShardEntry& shard, const std::string& to);
  void finish_join(uint32_t shard_id);
  void adopt_members(ShardEntry& shard);
  std::string start_replicated_split(ShardEntry& shard, std::optional<std::string> key);
  void on_member_split(const InternalRef& ref, const Reply& reply);
  void split_member_gone(ShardEntry& shard, const std::string& worker);
  void finish_replicated_split(ShardEntry& shard);
  std::string start_replicated_move(ShardEntry& shard, const std::string& from,
                                    const std::string& to);

  // http_pages.cpp: --http (/metrics, /status.json, the cluster page).
  void start_http();
  void publish_http();
  std::string render_metrics() const;
  void metrics_workers(MetricsText& m) const;
  void metrics_shards(MetricsText& m) const;
  void metrics_shard_rows(MetricsText& m) const;
  void metrics_ops(MetricsText& m) const;

  // admin.cpp: operator commands.
  bool is_admin_op(const std::string& op) const;
  Reply admin(const Op& op);
  Reply status_reply(uint64_t id) const;
  std::string merge_command(const Op& o);
  std::string forget(const std::string& worker);

  BrokerConfig config_;
  std::unique_ptr<ZapHandler> zap_;  // with --cluster-keys: CURVE handshakes and peer roles
  std::unordered_set<std::string>
      refused_workers_;  // non-worker roles on the worker socket, logged
  zmq::socket_t clients_;
  zmq::socket_t workers_;
  ShardMap map_;
  WorkerRegistry registry_;
  std::unordered_map<std::string, Reply> reported_;  // registrations until the map is built
  bool ready_ = false;
  std::string cluster_id_;  // "" until a fresh map is made or a worker reports one
  // Handoff tombstones seen (registrations, handoff replies): shard id -> {epoch, new owner}.
  std::unordered_map<uint32_t, ShardInfo> handoffs_;
  // Importing copies workers reported that are neither adopted nor dropped yet, per worker.
  std::unordered_map<std::string, std::vector<ShardInfo>> imports_;
  // Copies to delete, sent with the worker's next assignment ({id, epoch}: exactly that copy).
  std::unordered_map<std::string, std::vector<ShardInfo>> drops_;
  std::unordered_map<uint64_t, ClientRequest> requests_;
  SlotMap<PartRef> parts_;  // ids are the sub-op ids sent to workers
  std::unordered_map<uint64_t, InternalRef> internal_;
  std::unordered_map<uint64_t, Transaction> txns_;  // by id (ids from 1; 0 is "none")
  uint64_t next_txn_ = 1;
  std::vector<uint64_t> streaming_;  // requests with streamed replies ready this loop turn
  std::unordered_map<std::string, Op> outgoing_;  // per worker, flushed once per loop turn
  // Merges asked for (clossyne-admin merge) that wait for a move putting both shards on one owner.
  std::vector<std::pair<uint32_t, uint32_t>> pending_merges_;
  uint32_t next_shard_id_ = 1;
  uint64_t next_request_ = 1;
  uint64_t next_internal_ = 1;  // internal request ids carry bit 63, part ids never do
  int64_t next_heartbeat_ms_ = 0;
  int64_t next_trim_ms_ = 0;
  int64_t turn_ms_ = 0;  // the clock at the start of this loop turn
  int64_t wall_ms_ = 0;  // wall time at the start of this loop turn, never decreasing (op "now")
  std::unique_ptr<HttpServer> http_;
  BrokerMetrics metrics_;
  int64_t next_publish_ms_ = 0;
};

}  // namespace clossyne::broker
