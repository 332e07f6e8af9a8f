// Monotonic milliseconds, for deadlines and heartbeats (never wall time).
#pragma once
#include <chrono>
#include <cstdint>

namespace clossyne {

inline int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace clossyne
