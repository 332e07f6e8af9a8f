// clossyne-worker: parses the command line, recovers the worker's shards from its data directory
// and runs one Worker until SIGINT or SIGTERM. `--check-log FILE [--fix]` runs the log checker
// instead (see docs/DURABILITY.md).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <zmq.hpp>

#include "common/cluster_keys.hpp"
#include "common/logging.hpp"
#include "common/malloc_tuning.hpp"
#include "common/version.hpp"
#include "worker/check_log.hpp"
#include "worker/disk_storage.hpp"
#include "worker/storage.hpp"
#include "worker/worker.hpp"

namespace {

clossyne::Worker* g_worker = nullptr;

extern "C" void on_signal(int) {
  if (g_worker) g_worker->stop();  // only an atomic store: async-signal-safe
}

// Exit codes: 1 a failure while serving, 2 the worker could not start (bad data dir, damage).
constexpr int kExitRunFailed = 1;
constexpr int kExitCannotStart = 2;

}  // namespace

int main(int argc, char** argv) {
  clossyne::tune_malloc();
  CLI::App app{"clossyne-worker: owns shards of the Clossyne key-value store"};
  std::string broker = "tcp://127.0.0.1:4299";
  std::string id;
  std::string log_level;
  std::string data_dir;
  std::string zone;
  std::string fsync = "everysec";
  uint64_t compact_min_bytes = 64ull << 20;
  std::string check_path;
  bool fix = false;
  app.add_option("--broker", broker, "broker worker endpoint")->capture_default_str();
  app.add_option("--id", id, "stable worker id (also the ZeroMQ routing id); required to serve")
      ->check([](const std::string& v) {
        // ZeroMQ reserves routing ids that start with a zero byte; ids are at most 255 bytes.
        return v.empty() || v.size() > 255 || v[0] == '\0' ? "must be 1-255 bytes" : "";
      });
  app.add_option("--zone", zone,
                 "failure-domain label (rack, host, availability zone); the broker puts a "
                 "replicated shard's members in distinct zones when there are enough");
  app.add_option("--data-dir", data_dir,
                 "directory for the change log and snapshots (default: none, in-memory only)");
  app.add_option("--fsync", fsync,
                 "when the log is fsynced: always (before every reply, group commit), everysec "
                 "(at most 1 s of writes at risk on a machine crash), no (left to the OS)")
      ->capture_default_str()
      ->check(CLI::IsMember({"always", "everysec", "no"}));
  app.add_option("--compact-min-bytes", compact_min_bytes,
                 "compact (snapshot) when the log exceeds max(this, 2 x the last snapshot)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--check-log", check_path,
                 "check a log segment or snapshot file for damage, report and exit");
  app.add_flag("--fix", fix, "with --check-log: truncate the file at the first bad record");
  std::string cluster_keys = clossyne::cluster_keys_from_env();
  app.add_option("--cluster-keys", cluster_keys,
                 "directory made by `clossyne-admin keygen` (env CLOSSYNE_CLUSTER_KEYS): connect "
                 "with CurveZMQ using DIR/workers/ID.key (else DIR/worker.key) and DIR/broker.pub");
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error (default: $CLOSSYNE_LOG_LEVEL or info)");
  app.set_version_flag("--version", clossyne::version_line("clossyne-worker"));
  CLI11_PARSE(app, argc, argv);

  if (!check_path.empty()) return clossyne::check_log_file(check_path, fix, std::cout);
  if (fix) {
    std::cerr << "--fix needs --check-log FILE\n";
    return kExitCannotStart;
  }
  if (id.empty()) {
    std::cerr << "--id is required\nRun with --help for more information.\n";
    return kExitCannotStart;
  }

  clossyne::setup_logging("worker", log_level);
  spdlog::info("{}", clossyne::version_line("clossyne-worker"));
  // A file-size limit (ulimit -f) must give write errors, not kill the process.
  std::signal(SIGXFSZ, SIG_IGN);
  std::unique_ptr<clossyne::Storage> storage;
  if (data_dir.empty()) {
    spdlog::info("no --data-dir: shards are kept in memory only and lost when the worker stops");
  } else {
    clossyne::DiskOptions opts;
    opts.dir = data_dir;
    opts.fsync = *clossyne::parse_fsync_mode(fsync);
    opts.compact_min_bytes = compact_min_bytes;
    storage = std::make_unique<clossyne::DiskStorage>(std::move(opts));
  }
  zmq::context_t ctx;
  clossyne::Worker worker(ctx, broker, id, {}, std::move(storage));
  worker.set_zone(zone);
  if (!cluster_keys.empty()) {
    clossyne::CurveClientKeys keys;
    if (auto st = clossyne::load_client_keys(cluster_keys, clossyne::BusRole::kWorker, keys, id);
        !st.ok()) {
      spdlog::critical("worker {} cannot start: --cluster-keys: {}", id, st.message());
      return kExitCannotStart;
    }
    spdlog::info("bus: CurveZMQ, worker key {}", keys.own.public_key);
    worker.set_curve(std::move(keys));
  }
  if (clossyne::Status st = worker.recover(); !st.ok()) {
    spdlog::critical("worker {} cannot start: data dir {}: {}", id, data_dir, st.message());
    return kExitCannotStart;
  }
  g_worker = &worker;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    worker.run();
  } catch (const std::exception& e) {
    spdlog::critical("worker {} failed: {}", id, e.what());
    return kExitRunFailed;
  }
  spdlog::info("stopping");
  g_worker = nullptr;
  return 0;
}
