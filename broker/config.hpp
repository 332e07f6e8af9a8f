// BrokerConfig: everything the broker's command line sets (see main.cpp for the flags).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/protocol.hpp"

namespace clossyne::broker {

// When and how the broker reshapes the cluster (broker/balancer.cpp applies it).
struct BalancePolicy {
  uint64_t shard_max_keys = 0;  // split a shard above this many keys (0: never)
  // Split a shard above this much memory (0: never). 64 MiB: a shard that size moves in a few
  // seconds in 2000-key chunks and is 1/16 of a 1 GiB worker, yet a cluster of tens of GiB
  // needs only hundreds of shards (docs/ADMIN.md, "Elastic shards").
  uint64_t shard_max_bytes = 64ull << 20;
  // Merge two adjacent shards whose sum is below these (0: that measure does not hold merges
  // back; both 0: never merge). main.cpp defaults them to a quarter of the split limits, and
  // refuses more than half (hysteresis: the halves of a split never qualify).
  uint64_t shard_min_keys = 0;
  uint64_t shard_min_bytes = 0;
  int max_merges = 2;            // merges at the same time
  double imbalance = 0.10;       // move when the busiest worker holds this fraction of all keys
                                 // more than the idlest
  uint64_t min_move_keys = 100;  // ... and at least this many keys more
  int max_moves = 1;             // shard moves at the same time
  int max_splits = 4;            // shard splits at the same time
  bool auto_balance = true;      // move shards onto new workers by itself
  uint64_t chunk_keys = 2000;    // keys per chunk when a shard is copied to a new owner
};

struct BrokerConfig {
  // Loopback by default: without --cluster-keys the bus is unauthenticated (main.cpp binds every
  // interface by default only with keys).
  std::string clients_endpoint = "tcp://127.0.0.1:4298";
  std::string workers_endpoint = "tcp://127.0.0.1:4299";
  std::string http;  // --http HOST:PORT: /metrics, /status.json, the cluster page ("": none)
  std::string cluster_keys;  // --cluster-keys DIR: CURVE on both sockets, ZAP, roles ("": none)
  std::vector<std::string> split_points;  // initial shard boundaries, sorted, unique
  int min_workers = 1;                    // wait for this many workers before assigning shards
  uint64_t seed = 0;                      // treap priority seed for new shards (0: random)
  int op_timeout_ms = 10000;             // a sub-op a live worker leaves unanswered this long fails
  int liveness_ms = proto::kLivenessMs;  // a worker silent this long is dead (tests shorten it)
  std::string cluster_id;              // serve only this cluster ("": the first one that registers)
  std::size_t max_pending = 1000000;   // sub-ops queued or in flight, all shards together
  int replicas = 1;                    // members per shard (primary + followers)
  int64_t replica_timeout_ms = 60000;  // a member away this long is replaced on another worker
  BalancePolicy balance;
};

}  // namespace clossyne::broker
