// CONFIG GET: a small table of Redis configuration parameters with the frontend's real values
// (maxclients, proto-max-bulk-len, client-query-buffer-limit, timeout, port) and the fixed
// answers tools look for (save "", appendonly "no", databases 1, maxmemory 0, ...), so that
// redis-benchmark and client libraries find what they ask. Settings come from command-line
// flags; CONFIG SET changes those that can change at run time (maxclients, timeout,
// slowlog-log-slower-than, slowlog-max-len), all or none, with Redis 7's errors.
#pragma once
#include <string>
#include <vector>

#include "server_info.hpp"

namespace clossyne::frontend {

struct ConfigParam {
  std::string name;
  std::string value;
};

// Every parameter, in table order.
std::vector<ConfigParam> config_params(const ServerInfo& info);

// CONFIG GET pattern [pattern ...]: a flat RESP array name, value, ... of the parameters matching
// any pattern (a case-insensitive glob), each at most once, as Redis 7 answers.
std::string config_get_reply(const ServerInfo& info, const std::vector<std::string>& patterns);

// CONFIG SET name value [name value ...]: the RESP reply; on success `info` holds the new values.
// REQUIRES: args.size() >= 2 (args[0] "config", args[1] "set").
std::string config_set_reply(ServerInfo& info, const std::vector<std::string>& args);

}  // namespace clossyne::frontend
