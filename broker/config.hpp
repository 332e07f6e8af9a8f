// BrokerConfig: everything the broker's command line sets (see main.cpp for the flags).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace clossyne::broker {

struct BrokerConfig {
  std::string clients_endpoint = "tcp://*:4298";
  std::string workers_endpoint = "tcp://*:4299";
  std::vector<std::string> split_points;  // initial shard boundaries, sorted, unique
  int min_workers = 1;                     // wait for this many workers before assigning shards
  uint64_t seed = 0;                       // treap priority seed for new shards (0: random)
  int op_timeout_ms = 10000;               // a sub-op a live worker leaves unanswered this long fails
  std::size_t max_pending = 1000000;       // sub-ops queued or in flight, all shards together
};

}  // namespace clossyne::broker
