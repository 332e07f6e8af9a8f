// LATENCY (Redis 7): HISTOGRAM [command ...] from the frontend's CommandStats — per command its
// calls and the cumulative count at each power-of-two microsecond bound where the count grows, as
// Redis prints it. There is no latency monitor (no events): LATEST and HISTORY are empty, RESET
// resets nothing, DOCTOR says so.
#pragma once
#include <string>
#include <vector>

#include "command_stats.hpp"

namespace clossyne::frontend {

// REQUIRES: args.size() >= 2.
std::string latency_command(const CommandStats& stats, const std::vector<std::string>& args);

}  // namespace clossyne::frontend
