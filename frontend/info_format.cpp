#include "info_format.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <type_traits>

#include "command_table.hpp"

namespace clossyne::frontend {
namespace {

constexpr std::array<std::string_view, 12> kSections = {
    "server", "clients",      "memory",       "persistence", "stats",    "replication",
    "cpu",    "commandstats", "latencystats", "cluster",     "keyspace", "clossyne"};

class Lines {
 public:
  explicit Lines(std::string& out) : out_(out) {}
  template <typename T>
  Lines& add(std::string_view name, const T& value) {
    out_.append(name).push_back(':');
    if constexpr (std::is_arithmetic_v<T>) {
      out_.append(std::to_string(value));
    } else {
      out_.append(value);
    }
    out_.append("\r\n");
    return *this;
  }

 private:
  std::string& out_;
};

// Keys in INFO lines: printable ASCII as is, everything else (and ',' '=' '\') as \xHH.
std::string escape(std::string_view key) {
  std::string out;
  for (unsigned char c : key) {
    if (c > 32 && c < 127 && c != ',' && c != '=' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out.append(buf);
    }
  }
  return out;
}

void server_section(const InfoData& d, Lines& l) {
  const int64_t up = std::max<int64_t>(0, (d.now_ms - d.server.start_ms) / 1000);
  l.add("redis_version", kRedisVersion)
      .add("redis_mode", "standalone")
      .add("clossyne_version", kClossyneVersion)
      .add("os", "Linux")
      .add("arch_bits", 64)
      .add("multiplexing_api", "epoll")
      .add("process_id", d.pid)
      .add("tcp_port", d.server.port)
      .add("uptime_in_seconds", up)
      .add("uptime_in_days", up / 86400);
}

void clients_section(const InfoData& d, Lines& l) {
  l.add("connected_clients", d.server.connected_clients)
      .add("maxclients", d.server.max_clients)
      .add("client_query_buffer_limit", d.server.query_buffer_limit)
      .add("blocked_clients", 0);
}

// The cluster's figures, summed over the live workers as they last reported them (a dead
// worker's data is not being served). Zero when the broker's status is missing.
struct ClusterSums {
  uint64_t bytes = 0;  // memory the shards' trees use
  uint64_t rss = 0;    // the workers' resident set sizes
  int64_t alive = 0;
  int64_t persistent = 0;  // live workers with a --data-dir
};

ClusterSums cluster_sums(const InfoData& d) {
  ClusterSums sums;
  if (!d.have_status) return sums;
  for (const WorkerInfo& w : d.workers) {
    if (!w.alive) continue;
    ++sums.alive;
    sums.bytes += w.bytes;
    sums.rss += w.rss;
    sums.persistent += w.persistent ? 1 : 0;
  }
  return sums;
}

void memory_section(const InfoData& d, Lines& l) {
  // The data lives in the workers: used_memory is their processes' resident size (all they hold),
  // used_memory_dataset what their shards' trees use. The frontend holds no data; its own resident
  // size is `frontend_rss` in # Clossyne.
  const ClusterSums sums = cluster_sums(d);
  l.add("used_memory", sums.rss)
      .add("used_memory_human", bytes_to_human(sums.rss))
      .add("used_memory_rss", sums.rss)
      .add("used_memory_rss_human", bytes_to_human(sums.rss))
      .add("used_memory_dataset", sums.bytes)
      .add("mem_allocator", "libc")
      .add("maxmemory", 0)
      .add("maxmemory_human", "0B")
      .add("maxmemory_policy", "noeviction");
}

void persistence_section(const InfoData& d, Lines& l) {
  // Workers with --data-dir log every write before answering (an append-only file, in Redis's
  // words): aof_enabled when every live worker does.
  const ClusterSums sums = cluster_sums(d);
  const bool all = sums.alive > 0 && sums.persistent == sums.alive;
  l.add("loading", 0).add("aof_enabled", all ? 1 : 0);
}

void stats_section(const InfoData& d, Lines& l) {
  l.add("total_connections_received", d.server.total_connections)
      .add("total_commands_processed", d.server.total_commands)
      .add("total_net_input_bytes", d.server.net_input_bytes)
      .add("total_net_output_bytes", d.server.net_output_bytes)
      .add("rejected_connections", d.server.rejected_connections)
      .add("total_error_replies_protocol", d.server.protocol_errors);
}

// Seconds with 6 decimals, as Redis prints used_cpu_*.
std::string cpu_seconds(int64_t us) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(us / 1000000),
                static_cast<long long>(us % 1000000));
  return buf;
}

// The frontend process's own CPU time (the workers' and broker's are not summed in).
void cpu_section(const InfoData& d, Lines& l) {
  l.add("used_cpu_sys", cpu_seconds(d.cpu_sys_us))
      .add("used_cpu_user", cpu_seconds(d.cpu_user_us))
      .add("used_cpu_sys_children", "0.000000")
      .add("used_cpu_user_children", "0.000000");
}

void keyspace_section(const InfoData& d, Lines& l) {
  // Redis lists only non-empty databases.
  if (d.keys && *d.keys > 0) {
    l.add("db0", "keys=" + std::to_string(*d.keys) + ",expires=" + std::to_string(d.expires) +
                     ",avg_ttl=0");
  }
}

// A replicated shard's members (primary first) and the one catching up, with their lag in keys:
// in-sync members have every acknowledged write (replication is synchronous); a catching-up one
// gets a full copy, so it lags by the shard's key count until it joins.
std::string replication_fields(const ShardInfo& s) {
  if (s.replicas.empty()) return "";
  std::string out = ",members=";
  for (std::size_t i = 0; i < s.replicas.size(); ++i) {
    if (i > 0) out += '|';
    out += escape(s.replicas[i]);
  }
  out += ",in_sync=" + std::to_string(s.replicas.size()) + ",lag_keys=0";
  if (!s.joining.empty())
    out += ",catching_up=" + escape(s.joining) + ",catching_up_lag_keys=" + std::to_string(s.keys);
  return out;
}

void clossyne_section(const InfoData& d, Lines& l) {
  const bool ok = d.have_status && d.keys.has_value();
  l.add("cluster_state", ok ? "ok" : "fail");
  if (!d.cluster_error.empty()) l.add("cluster_error", escape(d.cluster_error));
  if (!d.expires_error.empty()) l.add("expires_error", escape(d.expires_error));
  l.add("frontend_rss", d.rss_bytes);
  if (d.keys) l.add("keys", *d.keys);
  if (!d.have_status) return;
  const ClusterSums sums = cluster_sums(d);
  l.add("workers", d.workers.size())
      .add("workers_alive", sums.alive)
      .add("workers_persistent", sums.persistent)
      .add("shards", d.shards.size());
  for (std::size_t i = 0; i < d.workers.size(); ++i) {
    const WorkerInfo& w = d.workers[i];
    l.add("worker" + std::to_string(i),
          "id=" + escape(w.id) + ",alive=" + std::to_string(w.alive ? 1 : 0) +
              ",keys=" + std::to_string(w.keys) + ",shards=" + std::to_string(w.shards) +
              ",draining=" + std::to_string(w.draining ? 1 : 0) +
              ",bytes=" + std::to_string(w.bytes) + ",rss=" + std::to_string(w.rss) +
              ",fsync=" + (w.persistent ? escape(w.fsync) : std::string("none")));
  }
  for (std::size_t i = 0; i < d.shards.size(); ++i) {
    const ShardInfo& s = d.shards[i];
    l.add("shard" + std::to_string(i),
          "id=" + std::to_string(s.id) + ",lo=" + escape(s.lo) +
              ",hi=" + (s.hi ? escape(*s.hi) : std::string("+inf")) + ",owner=" + escape(s.owner) +
              ",epoch=" + std::to_string(s.epoch) + ",keys=" + std::to_string(s.keys) +
              ",bytes=" + std::to_string(s.bytes) + replication_fields(s));
  }
}

void write_section(std::string_view name, const InfoData& d, std::string& out) {
  Lines l(out);
  if (name == "server") return server_section(d, l);
  if (name == "clients") return clients_section(d, l);
  if (name == "memory") return memory_section(d, l);
  if (name == "persistence") return persistence_section(d, l);
  if (name == "stats") return stats_section(d, l);
  if (name == "replication") {
    l.add("role", "master").add("connected_slaves", 0);
    return;
  }
  if (name == "cpu") return cpu_section(d, l);
  if (name == "commandstats") return void(out.append(d.commandstats));
  if (name == "latencystats") return void(out.append(d.latencystats));
  if (name == "cluster") {
    l.add("cluster_enabled", 0);  // not Redis Cluster: no slots, no MOVED
    return;
  }
  if (name == "keyspace") return keyspace_section(d, l);
  if (name == "clossyne") return clossyne_section(d, l);
}

}  // namespace

std::vector<std::string> info_sections(const std::vector<std::string>& args) {
  std::vector<std::string> wanted;
  for (std::size_t i = 1; i < args.size(); ++i) wanted.push_back(to_lower(args[i]));
  const auto asked = [&](std::string_view w) {
    return std::find(wanted.begin(), wanted.end(), w) != wanted.end();
  };
  const bool all = asked("all") || asked("everything");
  const bool dflt = wanted.empty() || asked("default");
  std::vector<std::string> out;
  for (auto name : kSections) {
    const bool extra = name == "commandstats" || name == "latencystats";
    if (all || (dflt && !extra) || asked(name)) out.emplace_back(name);
  }
  return out;
}

bool info_needs_cluster(const std::vector<std::string>& sections) {
  return std::any_of(sections.begin(), sections.end(), [](const std::string& s) {
    return s == "memory" || s == "persistence" || s == "keyspace" || s == "clossyne";
  });
}

std::string format_info(const InfoData& data, const std::vector<std::string>& sections) {
  std::string out;
  for (const auto& name : sections) {
    if (!out.empty()) out.append("\r\n");
    std::string title = name == "cpu" ? std::string("CPU") : name;  // Redis's spelling
    title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));
    out.append("# ").append(title).append("\r\n");
    write_section(name, data, out);
  }
  return out;
}

std::string bytes_to_human(uint64_t n) {
  constexpr std::array<const char*, 5> kUnits = {"B", "K", "M", "G", "T"};
  if (n < 1024) return std::to_string(n) + "B";
  double v = static_cast<double>(n);
  std::size_t unit = 0;
  while (v >= 1024 && unit + 1 < kUnits.size()) v /= 1024, ++unit;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%s", v, kUnits[unit]);
  return buf;
}

}  // namespace clossyne::frontend
