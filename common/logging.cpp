#include "logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace clossyne {

void setup_logging(const std::string& process, const std::string& level) {
  auto logger = spdlog::stderr_color_mt(process);
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %n %^%l%$ %v");
  std::string lvl = level;
  if (lvl.empty()) {
    const char* env = std::getenv("CLOSSYNE_LOG_LEVEL");
    lvl = env ? env : "info";
  }
  spdlog::set_level(spdlog::level::from_str(lvl));
  spdlog::flush_on(spdlog::level::info);
}

}  // namespace clossyne
