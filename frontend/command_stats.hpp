// CommandStats: per-command counters for INFO commandstats and latencystats and the frontend's
// /metrics — calls, microseconds, rejected and failed calls and a latency histogram, each keyed
// by the name Redis 7 reports ("get", "client|list"). A command's time runs from its request being
// parsed to its reply being handed to the socket, so a cluster command's time includes the round
// trip. Entries are never removed (reset() zeroes them), so an Entry* stays valid for the
// object's life. Not thread-safe.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/latency_histogram.hpp"

namespace clossyne::frontend {

class CommandStats {
 public:
  struct Entry {
    std::string name;  // "get", "client|list"
    uint64_t calls = 0;
    uint64_t usec = 0;
    uint64_t rejected_calls = 0;  // refused before running: arity, ACL, authentication
    uint64_t failed_calls = 0;    // ran and answered an error
    LatencyHistogram latency;
  };

  // The name Redis reports for a command and its arguments: "name|subcommand" for container
  // commands (CLIENT, CONFIG, SLOWLOG, ACL, COMMAND, FUNCTION) when a subcommand is given.
  // `name` is the table's lower-case name.
  static std::string key_of(std::string_view name, const std::vector<std::string>& args);
  Entry& entry(const std::string& key);
  Entry& entry(std::string_view name, const std::vector<std::string>& args) {
    return entry(key_of(name, args));
  }

  static void record(Entry& e, uint64_t us, bool failed);
  static void reject(Entry& e) { ++e.rejected_calls; }

  void reset();  // CONFIG RESETSTAT

  // Every entry with a call or a rejection, by name.
  std::vector<std::pair<std::string, const Entry*>> used() const;
  // Totals over every command (for /metrics): calls, failed and the merged histogram.
  Entry totals() const;

 private:
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
};

// INFO's "commandstats" and "latencystats" lines (CRLF-terminated, no title), as Redis 7 prints.
std::string format_commandstats(const CommandStats& stats);
std::string format_latencystats(const CommandStats& stats);

}  // namespace clossyne::frontend
