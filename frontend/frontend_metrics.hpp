// The frontend's /metrics page (Prometheus text format, names clossyne_frontend_*): connections,
// commands by name (calls, failed, rejected), protocol errors, bytes in and out, and a histogram
// of command latency from request parsed to reply written. Pure function of the figures given.
#pragma once
#include <cstdint>
#include <string>

#include "command_stats.hpp"
#include "server_info.hpp"

namespace clossyne::frontend {

struct TrafficBytes {
  uint64_t in = 0;   // read from clients
  uint64_t out = 0;  // written to clients
};

std::string render_frontend_metrics(const ServerInfo& info, const CommandStats& stats,
                                    TrafficBytes bytes, int64_t uptime_ms);

}  // namespace clossyne::frontend
