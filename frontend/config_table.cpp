#include "config_table.hpp"

#include <algorithm>
#include <climits>
#include <optional>

#include "command_table.hpp"
#include "glob_match.hpp"
#include "resp_parser.hpp"
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
      {"slowlog-log-slower-than", std::to_string(info.slowlog_slower_than_us)},
      {"slowlog-max-len", std::to_string(info.slowlog_max_len)},
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

namespace {

// A setting CONFIG SET may change: its bounds (inclusive) and where it goes.
struct Settable {
  std::string_view name;
  long long min, max;
  void (*apply)(ServerInfo&, long long);
};

constexpr Settable kSettable[] = {
    {"maxclients", 1, LLONG_MAX,
     [](ServerInfo& i, long long v) { i.max_clients = static_cast<std::size_t>(v); }},
    {"timeout", 0, INT_MAX, [](ServerInfo& i, long long v) { i.timeout_s = static_cast<int>(v); }},
    {"slowlog-log-slower-than", -1, LLONG_MAX,
     [](ServerInfo& i, long long v) { i.slowlog_slower_than_us = v; }},
    {"slowlog-max-len", 0, LONG_MAX,
     [](ServerInfo& i, long long v) { i.slowlog_max_len = static_cast<uint64_t>(v); }},
};

std::string failed(std::string_view name, std::string_view why) {
  std::string out;
  resp_error(out, "ERR CONFIG SET failed (possibly related to argument '" + std::string(name) +
                      "') - " + std::string(why));
  return out;
}

const Settable* find_settable(std::string_view name) {
  for (const auto& s : kSettable) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace

std::string config_set_reply(ServerInfo& info, const std::vector<std::string>& args) {
  std::string out;
  if (args.size() < 4 || args.size() % 2 != 0) {
    resp_error(out, args.size() < 4 ? "ERR wrong number of arguments for 'config|set' command"
                                    : "ERR syntax error");
    return out;
  }
  const std::vector<ConfigParam> known = config_params(info);
  std::vector<std::pair<const Settable*, long long>> changes;
  for (std::size_t i = 2; i < args.size(); i += 2) {
    const std::string name = to_lower(args[i]);
    const Settable* s = find_settable(name);
    if (s == nullptr) {
      const bool exists = std::any_of(known.begin(), known.end(),
                                      [&](const ConfigParam& p) { return p.name == name; });
      if (exists) return failed(args[i], "can't set immutable config");
      resp_error(out, "ERR Unknown option or number of arguments for CONFIG SET - '" +
                          args[i].substr(0, 128) + "'");
      return out;
    }
    for (const auto& c : changes) {
      if (c.first == s) return failed(args[i], "duplicate parameter");
    }
    long long v = 0;
    if (!parse_int64(args[i + 1], v))
      return failed(args[i], "argument couldn't be parsed into an integer");
    if (v < s->min || v > s->max)
      return failed(args[i], "argument must be between " + std::to_string(s->min) + " and " +
                                 std::to_string(s->max) + " inclusive");
    changes.emplace_back(s, v);
  }
  for (const auto& [s, v] : changes) s->apply(info, v);
  return "+OK\r\n";
}

}  // namespace clossyne::frontend
