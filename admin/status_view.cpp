#include "status_view.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/key_range.hpp"
#include "common/status_json.hpp"

namespace clossyne::admin {
namespace {

// "w1* w2 w3(catching-up)": the primary starred.
std::string members_text(const ShardInfo& sh) {
  std::string out;
  for (std::size_t i = 0; i < sh.replicas.size(); ++i) {
    if (i > 0) out += ' ';
    out += sh.replicas[i];
    if (i == 0) out += '*';
  }
  if (!sh.joining.empty()) {
    if (!out.empty()) out += ' ';
    out += sh.joining + "(catching-up)";
  }
  return out;
}

// 1536 -> "1.5K", as `ls -h` says sizes (the JSON has the exact count).
std::string byte_size(uint64_t b) {
  const char* units = "BKMGTP";
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 5) v /= 1024, ++u;
  return u == 0 ? fmt::format("{}B", b) : fmt::format("{:.1f}{}", v, units[u]);
}

}  // namespace

// One renderer for this and the broker's /status.json (common/status_json.cpp).
std::string status_json(const Reply& s) {
  return clossyne::status_json(s);
}

std::string status_table(const Reply& s) {
  std::string out =
      fmt::format("{:<12} {:<6} {:>10} {:>7}  {}\n", "WORKER", "ALIVE", "KEYS", "SHARDS", "STATE");
  for (const auto& w : s.workers) {
    out += fmt::format("{:<12} {:<6} {:>10} {:>7}  {}\n", w.id, w.alive ? "yes" : "no", w.keys,
                       w.shards, w.draining ? "draining" : "");
  }
  const bool replicated = std::any_of(s.shards.begin(), s.shards.end(),
                                      [](const ShardInfo& sh) { return !sh.replicas.empty(); });
  out += fmt::format("\n{:>6} {:<20} {:<20} {:<12} {:>6} {:>10} {:>10}{}\n", "SHARD", "FROM", "TO",
                     "OWNER", "EPOCH", "KEYS", "BYTES", replicated ? "  MEMBERS" : "");
  for (const auto& sh : s.shards) {
    out += fmt::format("{:>6} {:<20} {:<20} {:<12} {:>6} {:>10} {:>10}{}\n", sh.id,
                       sh.lo.empty() ? "-inf" : escape_key(sh.lo),
                       sh.hi ? escape_key(*sh.hi) : "+inf", sh.owner, sh.epoch, sh.keys,
                       byte_size(sh.bytes), replicated ? "  " + members_text(sh) : "");
  }
  if (s.n && *s.n == 0) out += "\n(cluster not ready: waiting for workers)\n";
  return out;
}

}  // namespace clossyne::admin
