#include "progress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace clossyne::admin {
namespace {

constexpr int64_t kLineEveryMs = 1000;

std::string time_left(Progress p, double keys_per_s) {
  if (keys_per_s <= 0 || p.done >= p.total) return "";
  const double s = static_cast<double>(p.total - p.done) / keys_per_s;
  if (s >= 3600)
    return fmt::format("{}h{:02}m", static_cast<int>(s / 3600),
                       static_cast<int>(std::fmod(s, 3600) / 60));
  if (s >= 60) return fmt::format("{}m{:02}s", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  return fmt::format("{}s", static_cast<int>(std::ceil(s)));
}

int percent(Progress p) {
  if (p.total == 0) return 100;
  return static_cast<int>(std::min<uint64_t>(100, p.done * 100 / p.total));
}

}  // namespace

uint64_t keys_left_on(const Reply& status, const std::string& worker) {
  uint64_t left = 0;
  for (const ShardInfo& s : status.shards) {
    if (s.owner != worker) continue;
    const uint64_t copied = s.change == "move" ? std::min(s.copied, s.keys) : 0;
    left += s.keys - copied;
  }
  return left;
}

Progress move_progress(const Reply& status, uint32_t shard, const std::string& worker) {
  for (const ShardInfo& s : status.shards) {
    if (s.id != shard) continue;
    if (s.owner == worker) return {s.keys, s.keys};
    return {s.change == "move" ? std::min(s.copied, s.keys) : 0, s.keys};
  }
  return {};
}

std::string progress_line(Progress p, double keys_per_s) {
  std::string out = fmt::format("{}/{} keys ({}%)", p.done, p.total, percent(p));
  if (keys_per_s > 0) out += fmt::format(", {:.0f} keys/s", keys_per_s);
  if (const std::string left = time_left(p, keys_per_s); !left.empty())
    out += ", about " + left + " left";
  return out;
}

std::string progress_bar(Progress p, double keys_per_s, int width) {
  const uint64_t w = static_cast<uint64_t>(std::max(width, 1));
  const uint64_t filled = p.total == 0 ? w : std::min(w, p.done * w / p.total);
  std::string out = fmt::format("[{:#<{}}{:.<{}}] {}/{} keys {:3}%", "", filled, "", w - filled,
                                p.done, p.total, percent(p));
  if (keys_per_s > 0) out += fmt::format("  {:.0f} keys/s", keys_per_s);
  if (const std::string left = time_left(p, keys_per_s); !left.empty()) out += "  ETA " + left;
  return out;
}

ProgressReporter::ProgressReporter(std::FILE* out, bool tty, int64_t start_ms)
    : out_(out), tty_(tty), start_ms_(start_ms) {}

double ProgressReporter::rate(Progress p, int64_t now_ms) const {
  const int64_t elapsed = now_ms - start_ms_;
  if (elapsed <= 0 || p.done == 0) return 0;
  return static_cast<double>(p.done) * 1000.0 / static_cast<double>(elapsed);
}

void ProgressReporter::show(Progress p, int64_t now_ms) {
  if (tty_) {
    // \033[K clears what a longer previous line left behind.
    std::fprintf(out_, "\r%s\033[K", progress_bar(p, rate(p, now_ms), 30).c_str());
    drawn_ = true;
  } else {
    std::fprintf(out_, "progress: %s\n", progress_line(p, rate(p, now_ms)).c_str());
    last_line_ms_ = now_ms;
  }
  shown_ = p;
  std::fflush(out_);
}

void ProgressReporter::update(Progress p, int64_t now_ms) {
  if (!tty_ && last_line_ms_ >= 0 && now_ms - last_line_ms_ < kLineEveryMs) return;
  show(p, now_ms);
}

void ProgressReporter::finish(Progress p, int64_t now_ms) {
  const bool on_screen =
      (drawn_ || last_line_ms_ >= 0) && shown_.done == p.done && shown_.total == p.total;
  if (!on_screen) show(p, now_ms);
  if (tty_ && drawn_) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

ChangeProgress::ChangeProgress(std::string worker, std::optional<uint32_t> shard, std::FILE* out,
                               bool tty, int64_t start_ms)
    : worker_(std::move(worker)), shard_(shard), reporter_(out, tty, start_ms) {}

void ChangeProgress::seen(const Reply& status, int64_t now_ms) {
  if (shard_) {
    last_ = move_progress(status, *shard_, worker_);
  } else {
    const uint64_t left = keys_left_on(status, worker_);
    if (!drain_total_) drain_total_ = left;
    last_ = {*drain_total_ - std::min(left, *drain_total_), *drain_total_};
  }
  reporter_.update(last_, now_ms);
}

void ChangeProgress::finish(bool completed, int64_t now_ms) {
  if (completed) last_.done = last_.total;
  reporter_.finish(last_, now_ms);
}

}  // namespace clossyne::admin
