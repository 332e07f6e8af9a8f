// Clocks: monotonic milliseconds for deadlines and heartbeats; wall time only for key expiry.
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

namespace clossyne {

// Milliseconds since the Unix epoch: expiry times are absolute wall-clock times, as Redis's are.
inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace clossyne
