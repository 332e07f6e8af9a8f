// The calling process's resident set size, from /proc/self/statm (0 if it cannot be read).
#pragma once
#include <unistd.h>

#include <cstdint>
#include <fstream>

namespace clossyne {

inline uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace clossyne
