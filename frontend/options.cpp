#include "options.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "common/cluster_keys.hpp"
#include "common/version.hpp"
#include "tls_options.hpp"

namespace clossyne::frontend {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : fallback;
}

// "HOST:PORT" (the host may be a bracketed IPv6 address). False when malformed.
bool split_listen(const std::string& listen, ServerConfig& cfg) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) return false;
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  const long port = std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) return false;
  cfg.host = host;
  cfg.port = static_cast<uint16_t>(port);
  return true;
}

}  // namespace

int parse_options(int argc, char** argv, Options& out) {
  CLI::App app{"clossyne-frontend: RESP2 / inline / Clossyne-dialect TCP gateway to the cluster"};
  std::string listen = env_or("CLOSSYNE_HOST", "127.0.0.1") + ":" + env_or("CLOSSYNE_PORT", "4297");
  ServerConfig& cfg = out.server;
  app.add_option("--listen", listen, "HOST:PORT to accept clients on")->capture_default_str();
  app.add_option("--broker", cfg.broker, "broker client endpoint")->capture_default_str();
  std::string cluster_keys = cluster_keys_from_env();
  app.add_option("--cluster-keys", cluster_keys,
                 "directory made by `clossyne-admin keygen` (env CLOSSYNE_CLUSTER_KEYS): talk to "
                 "the broker over CurveZMQ with DIR/client.key and DIR/broker.pub");
  app.add_option("--max-clients", cfg.max_clients, "most clients connected at once")
      ->capture_default_str();
  app.add_option("--max-value-bytes", cfg.max_value_bytes,
                 "largest bulk argument accepted (Redis proto-max-bulk-len)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--client-query-buffer-limit", cfg.query_buffer_limit,
                 "most bytes one client's unanswered request may hold")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--timeout", cfg.timeout_s, "close clients idle this many seconds (0: never)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--slowlog-log-slower-than", cfg.slowlog_slower_than_us,
                 "SLOWLOG keeps commands slower than this many microseconds (negative: off)")
      ->capture_default_str();
  app.add_option("--slowlog-max-len", cfg.slowlog_max_len, "SLOWLOG keeps this many entries")
      ->capture_default_str();
  app.add_option("--http", cfg.http,
                 "HOST:PORT to serve /metrics on (Prometheus text; off if empty)");
  app.add_option("--request-timeout-ms", cfg.request_timeout_ms, "how long a request may wait")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  int64_t seed_pause_ms = cfg.seed.pause_us / 1000;
  app.add_option("--seed-pause-ms", seed_pause_ms,
                 "Clossyne dialect: a request sent with no line ending is complete once its client "
                 "has sent nothing for this long (a line ending always ends a request at once)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{60'000}));
  app.add_option("--seed-small-pause-us", cfg.seed.small_pause_us,
                 "Clossyne dialect: the shorter pause that completes a small request (see "
                 "--seed-small-bytes) that arrived in one piece")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{60'000'000}));
  app.add_option("--seed-small-bytes", cfg.seed.small_bytes,
                 "Clossyne dialect: requests up to this size that arrived in one piece wait only "
                 "--seed-small-pause-us (0: every request waits --seed-pause-ms)")
      ->capture_default_str();
  AuthConfig& auth = cfg.auth;
  auth.requirepass = env_or("CLOSSYNE_REQUIREPASS", "");
  app.add_option("--requirepass", auth.requirepass,
                 "password of the default user, as Redis's requirepass (env CLOSSYNE_REQUIREPASS; "
                 "never logged)");
  app.add_option("--aclfile", auth.aclfile,
                 "users, passwords, key patterns and command categories in Redis's ACL file "
                 "syntax (see docs/SECURITY.md)")
      ->check(CLI::ExistingFile);
  app.add_option("--protected-mode", auth.protected_mode,
                 "yes|no: while the default user has no password, refuse clients that are not on "
                 "loopback with Redis's protected-mode error")
      ->default_str("yes");
  app.add_option("--seed-dialect-loopback", auth.seed_loopback,
                 "yes|no: with a password set, still serve the Clossyne dialect (which has no "
                 "AUTH) to loopback clients")
      ->default_str("no");
  PortFlags port_flags;
  add_port_options(app, port_flags, cfg);
  app.add_option("--log-level", out.log_level, "trace, debug, info, warn, error");
  app.set_version_flag("--version", version_line("clossyne-frontend"));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  cfg.seed.pause_us = seed_pause_ms * 1000;
  if (!cluster_keys.empty()) {
    CurveClientKeys keys;
    if (Status st = load_client_keys(cluster_keys, BusRole::kClient, keys); !st.ok()) {
      std::fprintf(stderr, "--cluster-keys: %s\n", st.message().c_str());
      return 2;
    }
    cfg.bus_keys = std::move(keys);
  }
  if (!split_listen(listen, cfg)) {
    std::fprintf(stderr, "--listen: expected HOST:PORT, got '%s'\n", listen.c_str());
    return 2;
  }
  if (const std::string err = apply_port_options(port_flags, cfg); !err.empty()) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 2;
  }
  return -1;
}

}  // namespace clossyne::frontend
