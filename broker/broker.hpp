// Broker: routes client envelopes to the workers owning their keys' shards and merges replies.
// One thread, one zmq::poll loop (Majordomo style) over two ROUTER sockets: clients and workers.
// Every request gets a reply or an error within a bounded time; the broker keeps no data.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "common/frames.hpp"
#include "config.hpp"
#include "planner.hpp"
#include "shard_map.hpp"
#include "worker_registry.hpp"

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
    std::vector<uint64_t> op_ids;
    std::vector<OpMerge> merges;
    std::vector<std::size_t> remaining;  // parts still unanswered, per op
    std::vector<Reply> replies;          // final, per op
    std::size_t outstanding = 0;         // ops not yet final, plus one while being planned
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
  };

  void poll_once();
  // Client side.
  void on_client_message(RoutedMessage m);
  void start_request(RoutedMessage& m, Op& op);
  void submit_part(uint64_t req, uint32_t op_index, uint32_t part_index, Part part);
  void dispatch(ShardEntry& shard, uint64_t sub_id, Op op);
  void release_barrier(ShardEntry& shard);
  void complete_part(uint64_t sub_id, Reply reply);
  void complete_op_part(uint64_t req, uint32_t op_index, uint32_t part_index, Reply reply);
  void finish_if_done(uint64_t req);
  void reply_to_client(const std::string& identity, bool delimiter, const Reply& r);
  // Worker side.
  void on_worker_message(RoutedMessage m);
  void on_register(const std::string& id, const Reply& r);
  void initialize_map();
  void send_assign(const std::string& worker);
  void send_to_worker(const std::string& worker, const Op& op);
  void flush_worker_batches();
  void housekeeping();
  void on_worker_dead(const std::string& id);
  std::string unavailable(const ShardEntry& shard) const;

  BrokerConfig config_;
  zmq::socket_t clients_;
  zmq::socket_t workers_;
  ShardMap map_;
  WorkerRegistry registry_;
  std::unordered_map<std::string, std::vector<ShardInfo>> reported_;  // until the map is built
  bool ready_ = false;
  std::unordered_map<uint64_t, ClientRequest> requests_;
  std::unordered_map<uint64_t, PartRef> parts_;
  std::unordered_map<std::string, Op> outgoing_;  // per worker, flushed once per loop turn
  uint64_t next_request_ = 1;
  uint64_t next_sub_ = 1;
  int64_t next_heartbeat_ms_ = 0;
};

}  // namespace clossyne::broker
