// clossyne-broker: routes envelopes between clients and workers and owns the shard map.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <set>

#include "balancer.hpp"
#include "broker.hpp"
#include "common/cluster_keys.hpp"
#include "common/logging.hpp"
#include "common/malloc_tuning.hpp"
#include "common/random.hpp"
#include "common/version.hpp"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop = true;
}
}  // namespace

int main(int argc, char** argv) {
  clossyne::tune_malloc();
  clossyne::broker::BrokerConfig cfg;
  std::string split_points, log_level;
  CLI::App app{"clossyne-broker: routes requests to the workers that own their keys' shards"};
  app.add_option("--clients", cfg.clients_endpoint,
                 "ZeroMQ endpoint for clients (ROUTER); default tcp://*:4298 with --cluster-keys")
      ->capture_default_str();
  app.add_option("--workers", cfg.workers_endpoint,
                 "ZeroMQ endpoint for workers (ROUTER); default tcp://*:4299 with --cluster-keys")
      ->capture_default_str();
  cfg.cluster_keys = clossyne::cluster_keys_from_env();
  app.add_option("--cluster-keys", cfg.cluster_keys,
                 "directory made by `clossyne-admin keygen` (env CLOSSYNE_CLUSTER_KEYS): CurveZMQ "
                 "encryption and authentication on both endpoints, operator commands only from "
                 "the admin key, registrations only from worker keys; without it the bus is open "
                 "and binds loopback only by default");
  app.add_option("--http", cfg.http,
                 "HOST:PORT to serve GET /metrics (Prometheus), /status.json and / (the live "
                 "cluster page) on (docs/OBSERVABILITY.md); default: no HTTP");
  app.add_option("--split-points", split_points,
                 "comma-separated keys where the initial shards split (e.g. 'g,m,t')");
  app.add_option("--min-workers", cfg.min_workers,
                 "wait for this many workers before assigning shards")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--seed", cfg.seed,
                 "TEST ONLY: a fixed treap priority seed for new shards (default: 64 secret "
                 "random bits from the kernel; whoever knows the seed can craft keys that make "
                 "a shard's tree deep and slow)");
  app.add_option("--op-timeout-ms", cfg.op_timeout_ms,
                 "fail an operation a live worker leaves unanswered this long")
      ->capture_default_str();
  app.add_option("--liveness-ms", cfg.liveness_ms,
                 "a worker silent this long is dead: its shards fail at once until it returns")
      ->capture_default_str()
      ->check(CLI::Range(500, 600000));
  app.add_option("--cluster-id", cfg.cluster_id,
                 "serve only the cluster with this id (workers save it in DATA_DIR/cluster.json); "
                 "default: a new cluster gets a random id, a restarted broker takes the id its "
                 "first registering worker reports");
  app.add_option("--replicas", cfg.replicas,
                 "members per shard on distinct workers: a primary and N-1 followers that "
                 "every write reaches before it is acknowledged")
      ->check(CLI::Range(1, 9));
  double replica_timeout_s = 60;
  app.add_option("--replica-timeout", replica_timeout_s,
                 "seconds a member that left (died, restarted, fell behind) is waited for before "
                 "another worker gets a copy in its place")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-pending", cfg.max_pending,
                 "operations queued or in flight before new ones are refused")
      ->capture_default_str();
  auto& bal = cfg.balance;
  app.add_option("--shard-max-keys", bal.shard_max_keys,
                 "split a shard at its median key when it holds more keys than this (0: never)")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--shard-max-bytes", bal.shard_max_bytes,
                 "split a shard when it uses more memory than this (0: never)")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--shard-min-keys", bal.shard_min_keys,
                 "merge two adjacent shards holding fewer keys than this together (default: a "
                 "quarter of --shard-max-keys; 0: keys do not hold merges back)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--shard-min-bytes", bal.shard_min_bytes,
                 "merge two adjacent shards using less memory than this together (default: a "
                 "quarter of --shard-max-bytes; both 0: never merge)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--balance-threshold", bal.imbalance,
                 "move a shard when the busiest worker holds this fraction of all keys more "
                 "than the idlest")
      ->capture_default_str();
  app.add_option("--balance-min-keys", bal.min_move_keys, "... and at least this many keys more")
      ->capture_default_str();
  app.add_option("--max-moves", bal.max_moves, "shard moves at the same time")
      ->capture_default_str();
  app.add_option("--move-chunk-keys", bal.chunk_keys, "keys per chunk when a shard moves")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_flag("!--no-auto-balance", bal.auto_balance,
               "do not move shards by itself (splits and drains still happen)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error (env CLOSSYNE_LOG_LEVEL)");
  app.set_version_flag("--version", clossyne::version_line("clossyne-broker"));
  CLI11_PARSE(app, argc, argv);

  // With keys the bus is safe to open to the network; without, the defaults stay on loopback.
  if (!cfg.cluster_keys.empty()) {
    if (app.count("--clients") == 0) cfg.clients_endpoint = "tcp://*:4298";
    if (app.count("--workers") == 0) cfg.workers_endpoint = "tcp://*:4299";
  }
  if (std::string err = clossyne::broker::settle_merge_limits(
          bal, app.count("--shard-min-keys") > 0, app.count("--shard-min-bytes") > 0);
      !err.empty()) {
    std::cerr << "clossyne-broker: " << err << "\n";
    return 2;
  }
  clossyne::setup_logging("broker", log_level);
  spdlog::info("{}", clossyne::version_line("clossyne-broker"));
  std::set<std::string> points;
  std::stringstream ss(split_points);
  for (std::string p; std::getline(ss, p, ',');) {
    if (!p.empty()) points.insert(p);
  }
  cfg.split_points.assign(points.begin(), points.end());
  cfg.replica_timeout_ms = static_cast<int64_t>(replica_timeout_s * 1000);
  // The seed is the trees' secret: the broker hands it only to workers, never to clients.
  if (cfg.seed == 0) cfg.seed = clossyne::secure_random_u64();

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    zmq::context_t ctx(1);
    clossyne::broker::Broker broker(ctx, cfg);
    broker.run(g_stop);
  } catch (const std::exception& e) {
    spdlog::critical("broker: {}", e.what());
    return 1;
  }
  return 0;
}
