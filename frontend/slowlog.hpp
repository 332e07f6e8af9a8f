// SlowLog: the last --slowlog-max-len commands that took longer than --slowlog-log-slower-than
// microseconds (negative: off; 0: every command), newest first, as Redis 7's SLOWLOG keeps them:
// at most 32 arguments (the last saying how many more there were), each cut to 128 bytes, and
// passwords (AUTH, HELLO AUTH, ACL SETUSER, CONFIG SET requirepass) shown as "(redacted)". The
// time is the command's time in CommandStats (parsed to reply written). Not thread-safe.
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace clossyne::frontend {

struct SlowLogEntry {
  uint64_t id = 0;
  int64_t unix_time = 0;  // seconds
  uint64_t duration_us = 0;
  std::vector<std::string> args;  // already cut
  std::string addr;
  std::string name;
};

class SlowLog {
 public:
  int64_t slower_than_us = 10000;  // Redis's defaults
  uint64_t max_len = 128;

  bool enabled() const { return slower_than_us >= 0; }
  bool is_slow(uint64_t duration_us) const {
    return enabled() && duration_us >= static_cast<uint64_t>(slower_than_us);
  }
  // REQUIRES: is_slow(duration_us); `cut` came from cut_args.
  void add(std::vector<std::string> cut, uint64_t duration_us, std::string addr, std::string name,
           int64_t unix_time);
  void reset() { entries_.clear(); }
  void trim();  // after max_len shrinks
  std::size_t size() const { return entries_.size(); }
  const std::deque<SlowLogEntry>& entries() const { return entries_; }  // newest first

  // Redis's cut of the arguments (32 at most, 128 bytes each, secrets redacted).
  static std::vector<std::string> cut_args(const std::vector<std::string>& args);

 private:
  std::deque<SlowLogEntry> entries_;
  uint64_t next_id_ = 0;
};

// SLOWLOG GET [count] | LEN | RESET | HELP: the RESP reply. REQUIRES: args.size() >= 2.
std::string slowlog_command(SlowLog& log, const std::vector<std::string>& args);

}  // namespace clossyne::frontend
