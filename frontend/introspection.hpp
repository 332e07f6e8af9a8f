// Introspection: what the frontend knows about its own traffic — command statistics, the slow
// log, the settings CONFIG SET may change and a way to list every client (CLIENT LIST). The
// Server owns one; connections record into it when a reply is written, commands read it.
// Not thread-safe.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "command_stats.hpp"
#include "server_info.hpp"
#include "slowlog.hpp"

namespace clossyne::frontend {

struct Introspection {
  CommandStats stats;
  SlowLog slowlog;
  ServerInfo* settings = nullptr;  // CONFIG SET writes maxclients and timeout here
  // CLIENT LIST's lines (each ending in '\n') for the clients with these ids, or all when empty.
  std::function<std::string(const std::vector<uint64_t>& ids)> client_list;
};

}  // namespace clossyne::frontend
