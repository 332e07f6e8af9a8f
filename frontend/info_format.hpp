// INFO's text: Redis-style sections ("# Server", "# Clients", "# Memory", "# Persistence",
// "# Stats", "# Replication", "# CPU", "# Cluster", "# Keyspace") with `name:value` lines, plus
// "# Clossyne": the cluster's workers and shards as the broker's `status` reports them. Memory and
// persistence describe the cluster: sums over its live workers (docs/COMMANDS.md, INFO). Lines end
// with CRLF and sections are separated by an empty line, as Redis writes them. Pure functions.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/envelope.hpp"
#include "server_info.hpp"

namespace clossyne::frontend {

inline constexpr std::string_view kRedisVersion = "7.0.0";
inline constexpr std::string_view kClossyneVersion = "0.1.0";

struct InfoData {
  ServerInfo server;
  int64_t now_ms = 0;  // same clock as server.start_ms
  long pid = 0;
  uint64_t rss_bytes = 0;       // the frontend's own resident size
  std::optional<int64_t> keys;  // DBSIZE, when the cluster answered
  int64_t expires = 0;          // keys with a TTL (dbsize "expires")
  std::string expires_error;    // why `expires` is missing (a cluster without the op answers 0)
  // The frontend process's CPU time (getrusage), in microseconds
  int64_t cpu_user_us = 0;
  int64_t cpu_sys_us = 0;
  bool have_status = false;  // workers/shards below are the broker's status
  std::vector<WorkerInfo> workers;
  std::vector<ShardInfo> shards;
  std::string cluster_error;  // why keys/status are missing
  std::string commandstats;   // the "commandstats" and "latencystats" lines, already formatted
  std::string latencystats;
};

// Which sections to print for INFO's arguments (lower-cased): none or "default" give every
// section but commandstats and latencystats, "all" or "everything" give every section (as Redis
// 7); otherwise the named ones, in Redis's order. Unknown names
// are ignored (Redis answers an empty text for them).
std::vector<std::string> info_sections(const std::vector<std::string>& args);

// True if one of `sections` needs figures from the cluster (memory, persistence, keyspace,
// clossyne).
bool info_needs_cluster(const std::vector<std::string>& sections);

std::string format_info(const InfoData& data, const std::vector<std::string>& sections);

// "1.50M" style, as Redis's bytesToHuman.
std::string bytes_to_human(uint64_t n);

}  // namespace clossyne::frontend
