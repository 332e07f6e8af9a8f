// The frontend's /metrics page (Prometheus text format, names clossyne_frontend_*): connections,
// commands by name (calls, failed, rejected), protocol errors, bytes in and out, and a histogram
// of command latency from request parsed to reply written. Pure function of the figures given.
#pragma once
#include <cstdint>
#include <string>

#include "command_stats.hpp"
#include "server_info.hpp"

namespace clossyne::frontend {

std::string render_frontend_metrics(const ServerInfo& info, const CommandStats& stats,
                                    int64_t uptime_ms);

}  // namespace clossyne::frontend
