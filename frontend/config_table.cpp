#include "config_table.hpp"

#include "glob_match.hpp"
#include "resp_writer.hpp"

namespace clossyne::frontend {

std::vector<ConfigParam> config_params(const ServerInfo& info) {
  return {
      {"bind", "127.0.0.1"},
      {"port", std::to_string(info.port)},
      {"databases", "1"},
      {"maxclients", std::to_string(info.max_clients)},
      {"timeout", std::to_string(info.timeout_s)},
      {"proto-max-bulk-len", std::to_string(info.max_value_bytes)},
      {"client-query-buffer-limit", std::to_string(info.query_buffer_limit)},
      {"maxmemory", "0"},
      {"maxmemory-policy", "noeviction"},
      {"save", ""},
      {"appendonly", "no"},
      {"appendfsync", "everysec"},
      {"cluster-enabled", "no"},
      {"io-threads", "1"},
      {"tcp-keepalive", "0"},
      {"protected-mode", info.protected_mode ? "yes" : "no"},
      // Redis shows the password itself; here it never leaves the process.
      {"requirepass", info.requirepass_set ? "(hidden)" : ""},
      {"lua-time-limit", "5000"},
      {"slowlog-log-slower-than", "10000"},
      {"slowlog-max-len", "128"},
  };
}

std::string config_get_reply(const ServerInfo& info, const std::vector<std::string>& patterns) {
  std::vector<const ConfigParam*> hits;
  const std::vector<ConfigParam> params = config_params(info);
  for (const auto& p : params) {
    for (const auto& pattern : patterns) {
      if (glob_match(pattern, p.name, /*nocase=*/true)) {
        hits.push_back(&p);
        break;
      }
    }
  }
  std::string out;
  resp_array(out, 2 * hits.size());
  for (const ConfigParam* p : hits) {
    resp_bulk(out, p->name);
    resp_bulk(out, p->value);
  }
  return out;
}

}  // namespace clossyne::frontend
