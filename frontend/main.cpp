// clossyne-frontend: the TCP gateway. Parses options, raises the open-file limit, runs the Server
// until SIGINT or SIGTERM, then exits 0.
#include <spdlog/spdlog.h>

#include <csignal>

#include "common/logging.hpp"
#include "common/malloc_tuning.hpp"
#include "common/version.hpp"
#include "fd_limit.hpp"
#include "options.hpp"
#include "server.hpp"

namespace {

clossyne::frontend::Server* g_server = nullptr;

extern "C" void on_signal(int) {
  if (g_server != nullptr) g_server->stop();  // async-signal-safe
}

}  // namespace

int main(int argc, char** argv) {
  clossyne::tune_malloc();
  clossyne::frontend::Options opts;
  if (int code = clossyne::frontend::parse_options(argc, argv, opts); code >= 0) return code;
  clossyne::setup_logging("frontend", opts.log_level);
  spdlog::info("{}", clossyne::version_line("clossyne-frontend"));
  clossyne::frontend::raise_fd_limit(opts.server.max_clients + 64);
  clossyne::frontend::Server server(opts.server);
  if (auto st = server.start(); !st.ok()) {
    spdlog::error("{}", st.message());
    return 1;
  }
  g_server = &server;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  server.run();
  g_server = nullptr;
  return 0;
}
