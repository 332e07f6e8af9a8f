#include "status_view.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/key_range.hpp"

namespace clossyne::admin {
namespace {

// Bounds as text, non-printable bytes escaped; -inf / +inf as null (JSON) or a symbol (table).
nlohmann::json bound_json(const std::optional<std::string>& b) {
  if (!b) return nullptr;
  return escape_key(*b);
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
    out["shards"].push_back({{"id", sh.id},
                             {"lo", bound_json(lo)},
                             {"hi", bound_json(sh.hi)},
                             {"owner", sh.owner},
                             {"epoch", sh.epoch},
                             {"keys", sh.keys},
                             {"bytes", sh.bytes}});
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
  out += fmt::format("\n{:>6} {:<20} {:<20} {:<12} {:>6} {:>10}\n", "SHARD", "FROM", "TO", "OWNER",
                     "EPOCH", "KEYS");
  for (const auto& sh : s.shards) {
    out += fmt::format("{:>6} {:<20} {:<20} {:<12} {:>6} {:>10}\n", sh.id,
                       sh.lo.empty() ? "-inf" : escape_key(sh.lo),
                       sh.hi ? escape_key(*sh.hi) : "+inf", sh.owner, sh.epoch, sh.keys);
  }
  if (s.n && *s.n == 0) out += "\n(cluster not ready: waiting for workers)\n";
  return out;
}

}  // namespace clossyne::admin
