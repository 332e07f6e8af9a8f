#include "status_json.hpp"

#include <nlohmann/json.hpp>

#include "key_range.hpp"

namespace clossyne {
namespace {

// Bounds as text, non-printable bytes escaped; -inf / +inf as null.
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

nlohmann::json worker_json(const WorkerInfo& w) {
  return {{"id", w.id},
          {"alive", w.alive},
          {"keys", w.keys},
          {"shards", w.shards},
          {"draining", w.draining},
          {"bytes", w.bytes},
          {"rss", w.rss},
          {"persistent", w.persistent},
          {"fsync", w.persistent ? nlohmann::json(w.fsync) : nullptr},
          {"ops_per_sec", w.ops_per_sec},
          {"heartbeat_age_ms", w.heartbeat_age_ms}};
}

nlohmann::json shard_json(const ShardInfo& sh) {
  std::optional<std::string> lo;
  if (!sh.lo.empty()) lo = sh.lo;
  nlohmann::json shard = {{"id", sh.id},       {"lo", bound_json(lo)}, {"hi", bound_json(sh.hi)},
                          {"owner", sh.owner}, {"epoch", sh.epoch},    {"keys", sh.keys},
                          {"bytes", sh.bytes}};
  if (!sh.replicas.empty()) shard["members"] = members_json(sh);
  // A change under way: its kind, and for copies (move, catch-up) the keys copied so far.
  if (!sh.change.empty()) {
    nlohmann::json change = {{"kind", sh.change}};
    if (sh.change == "move" || sh.change == "catch-up") change["copied"] = sh.copied;
    shard["change"] = std::move(change);
  } else {
    shard["change"] = nullptr;
  }
  return shard;
}

}  // namespace

std::string status_json(const Reply& s) {
  nlohmann::json out;
  out["workers"] = nlohmann::json::array();
  for (const auto& w : s.workers) out["workers"].push_back(worker_json(w));
  out["shards"] = nlohmann::json::array();
  for (const auto& sh : s.shards) out["shards"].push_back(shard_json(sh));
  out["ready"] = s.n && *s.n != 0;
  return out.dump() + "\n";
}

}  // namespace clossyne
