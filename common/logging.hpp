// Process-wide logging setup: spdlog to stderr with the process name, level from a flag or
// CLOSSYNE_LOG_LEVEL (trace, debug, info, warn, error).
#pragma once
#include <string>

namespace clossyne {

void setup_logging(const std::string& process, const std::string& level);

}  // namespace clossyne
