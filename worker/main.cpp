// clossyne-worker: parses the command line and runs one Worker until SIGINT or SIGTERM.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <string>
#include <zmq.hpp>

#include "common/logging.hpp"
#include "worker/worker.hpp"

namespace {

clossyne::Worker* g_worker = nullptr;

extern "C" void on_signal(int) {
  if (g_worker) g_worker->stop();  // only an atomic store: async-signal-safe
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"clossyne-worker: owns shards of the Clossyne key-value store"};
  std::string broker = "tcp://127.0.0.1:4299";
  std::string id;
  std::string log_level;
  app.add_option("--broker", broker, "broker worker endpoint")->capture_default_str();
  app.add_option("--id", id, "stable worker id (also the ZeroMQ routing id)")
      ->required()
      ->check([](const std::string& v) {
        // ZeroMQ reserves routing ids that start with a zero byte; ids are at most 255 bytes.
        return v.empty() || v.size() > 255 || v[0] == '\0' ? "must be 1-255 bytes" : "";
      });
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error (default: $CLOSSYNE_LOG_LEVEL or info)");
  CLI11_PARSE(app, argc, argv);

  clossyne::setup_logging("worker", log_level);
  zmq::context_t ctx;
  clossyne::Worker worker(ctx, broker, id);
  g_worker = &worker;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    worker.run();
  } catch (const std::exception& e) {
    spdlog::critical("worker {} failed: {}", id, e.what());
    return 1;
  }
  spdlog::info("stopping");
  g_worker = nullptr;
  return 0;
}
