#include "status_view.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/key_range.hpp"

namespace clossyne::admin {
namespace {

// Bounds as text, non-printable bytes escaped; -inf / +inf as null (JSON) or a symbol (table).
nlohmann::json bound_json(const std::optional<std::string>& b) {
  if (!b) return nullptr;
  return escape_key(*b);
}

// A replicated shard's members: the primary, its in-sync followers, and one catching up.
nlohmann::json members_json(const ShardInfo& sh) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < sh.replicas.size(); ++i) {
    out.push_back({{"worker", sh.replicas[i]},
                   {"role", i == 0 ? "primary" : "follower"},
                   {"state", "in-sync"}});
  }
  if (!sh.joining.empty())
    out.push_back({{"worker", sh.joining}, {"role", "follower"}, {"state", "catching-up"}});
  return out;
}

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

}  // namespace

std::string status_json(const Reply& s) {
  nlohmann::json out;
  out["workers"] = nlohmann::json::array();
  for (const auto& w : s.workers) {
    out["workers"].push_back({{"id", w.id},
                              {"alive", w.alive},
                              {"keys", w.keys},
                              {"shards", w.shards},
                              {"draining", w.draining},
                              {"bytes", w.bytes},
                              {"rss", w.rss},
                              {"persistent", w.persistent},
                              {"fsync", w.persistent ? nlohmann::json(w.fsync) : nullptr}});
  }
  out["shards"] = nlohmann::json::array();
  for (const auto& sh : s.shards) {
    std::optional<std::string> lo;
    if (!sh.lo.empty()) lo = sh.lo;
    nlohmann::json shard = {{"id", sh.id},       {"lo", bound_json(lo)}, {"hi", bound_json(sh.hi)},
                            {"owner", sh.owner}, {"epoch", sh.epoch},    {"keys", sh.keys},
                            {"bytes", sh.bytes}};
    if (!sh.replicas.empty()) shard["members"] = members_json(sh);
    out["shards"].push_back(std::move(shard));
  }
  return out.dump() + "\n";
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
  out += fmt::format("\n{:>6} {:<20} {:<20} {:<12} {:>6} {:>10}{}\n", "SHARD", "FROM", "TO",
                     "OWNER", "EPOCH", "KEYS", replicated ? "  MEMBERS" : "");
  for (const auto& sh : s.shards) {
    out +=
        fmt::format("{:>6} {:<20} {:<20} {:<12} {:>6} {:>10}{}\n", sh.id,
                    sh.lo.empty() ? "-inf" : escape_key(sh.lo), sh.hi ? escape_key(*sh.hi) : "+inf",
                    sh.owner, sh.epoch, sh.keys, replicated ? "  " + members_text(sh) : "");
  }
  if (s.n && *s.n == 0) out += "\n(cluster not ready: waiting for workers)\n";
  return out;
}

}  // namespace clossyne::admin
