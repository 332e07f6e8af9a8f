// ServerInfo: the frontend-wide settings and counters that INFO, CONFIG GET and CLIENT report.
// The Server owns one and updates its counters; commands read it. Plain value type.
#pragma once
#include <cstddef>
#include <cstdint>

namespace clossyne::frontend {

struct ServerInfo {
  // settings (fixed after start-up, but for those CONFIG SET changes: maxclients, timeout and
  // the slow log's)
  uint16_t port = 0;
  std::size_t max_clients = 10000;
  std::size_t max_value_bytes = 512u * 1024 * 1024;
  std::size_t query_buffer_limit = 1024u * 1024 * 1024;
  int timeout_s = 0;             // idle clients are closed after this many seconds; 0: never
  int64_t start_ms = 0;          // steady clock (common/clock.hpp now_ms) at start-up
  bool requirepass_set = false;  // --requirepass (CONFIG GET never shows the password)
  bool protected_mode = true;    // --protected-mode
  int64_t slowlog_slower_than_us = 10000;  // --slowlog-log-slower-than
  uint64_t slowlog_max_len = 128;          // --slowlog-max-len
  // counters
  std::size_t connected_clients = 0;
  uint64_t total_connections = 0;     // accepted, refused ones included
  uint64_t rejected_connections = 0;  // refused for --max-clients or lack of descriptors
  uint64_t total_commands = 0;        // requests parsed (every dialect)
  uint64_t protocol_errors = 0;       // connections closed for bad input
  uint64_t net_input_bytes = 0;       // read from clients
  uint64_t net_output_bytes = 0;      // written to clients
};

}  // namespace clossyne::frontend
