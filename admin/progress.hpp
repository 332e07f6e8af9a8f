// Progress of `drain W --wait` and `move S W --wait`: keys moved of the total, from the broker's
// status (each shard's keys and, while a move copies it, the keys copied so far), with the rate
// and the time left. On a terminal a bar redrawn in place (\r); otherwise a plain line at most
// once a second, so logs stay readable.
#pragma once
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "common/envelope.hpp"

namespace clossyne::admin {

struct Progress {
  uint64_t done = 0;   // keys moved
  uint64_t total = 0;  // keys to move
};

// Keys still to move off `worker` (its shards' keys, less what a move has copied).
uint64_t keys_left_on(const Reply& status, const std::string& worker);
// A move of `shard` to `worker`: copied of the shard's keys (all of them once it is there).
Progress move_progress(const Reply& status, uint32_t shard, const std::string& worker);

// "1234/5000 keys (24%), 820 keys/s, about 5 s left" (rate and time left once known).
std::string progress_line(Progress p, double keys_per_s);
// "[#####.............] 1234/5000 keys  24%  820 keys/s  ETA 5s", `width` characters of bar.
std::string progress_bar(Progress p, double keys_per_s, int width);

class ProgressReporter {
 public:
  ProgressReporter(std::FILE* out, bool tty, int64_t start_ms);
  void update(Progress p, int64_t now_ms);
  // The last state, always shown, and the bar's line ended.
  void finish(Progress p, int64_t now_ms);

 private:
  double rate(Progress p, int64_t now_ms) const;
  void show(Progress p, int64_t now_ms);

  std::FILE* out_;
  bool tty_;
  int64_t start_ms_;
  int64_t last_line_ms_ = -1;
  bool drawn_ = false;
  Progress shown_;  // the last state shown
};

// Follows a drain of `worker` (no shard) or a move of `shard` to `worker` across the status
// replies a --wait polls, and reports it: seen() for each reply, finish() once at the end.
class ChangeProgress {
 public:
  ChangeProgress(std::string worker, std::optional<uint32_t> shard, std::FILE* out, bool tty,
                 int64_t start_ms);
  void seen(const Reply& status, int64_t now_ms);
  // `completed`: the change is done, so every key moved.
  void finish(bool completed, int64_t now_ms);

 private:
  std::string worker_;
  std::optional<uint32_t> shard_;
  ProgressReporter reporter_;
  std::optional<uint64_t> drain_total_;  // keys on the worker when the wait began
  Progress last_;
};

}  // namespace clossyne::admin
