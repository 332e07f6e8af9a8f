#include "metrics.hpp"

namespace clossyne::broker {

uint16_t BrokerMetrics::kind(const std::string& op) {
  if (last_ < names_.size() && names_[last_] == op) return last_;  // batches repeat one op
  if (auto it = ids_.find(op); it != ids_.end()) return last_ = it->second;
  // Clients choose op names: past a bound, new names share one label (bounded cardinality).
  const bool full = names_.size() >= kMaxOpKinds;
  const std::string name = full ? "other" : op;
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  const auto id = static_cast<uint16_t>(names_.size());
  names_.push_back(name);
  ops_.emplace_back();
  ids_.emplace(name, id);
  return id;
}

void BrokerMetrics::op_done(uint16_t kind, ErrorCode code, uint64_t latency_us) {
  if (kind >= ops_.size()) return;
  OpStats& s = ops_[kind];
  ++s.done;
  if (code != ErrorCode::kNone) ++s.errors[code];
  latency_.record(latency_us);
}

void BrokerMetrics::op_refused(const std::string& op, ErrorCode code) {
  OpStats& s = ops_[kind(op)];
  ++s.done;
  ++s.errors[code];
}

void BrokerMetrics::part_answered(const std::string& worker, int64_t now_ms) {
  WorkerStats& w = workers_[worker];
  ++w.answered;
  const int64_t sec = now_ms / 1000;
  const std::size_t slot = static_cast<std::size_t>(sec % (kRateSeconds + 1));
  if (w.second[slot] != sec) w.second[slot] = sec, w.count[slot] = 0;
  ++w.count[slot];
}

uint64_t BrokerMetrics::ops_per_sec(const std::string& worker, int64_t now_ms) const {
  auto it = workers_.find(worker);
  if (it == workers_.end()) return 0;
  const int64_t sec = now_ms / 1000;
  uint64_t sum = 0;
  for (std::size_t i = 0; i < it->second.second.size(); ++i) {
    const int64_t s = it->second.second[i];
    if (s < sec && s >= sec - kRateSeconds) sum += it->second.count[i];  // full seconds only
  }
  return (sum + kRateSeconds / 2) / kRateSeconds;
}

std::string change_name(const ShardEntry& shard) {
  switch (shard.busy) {
    case ShardBusy::kNone:
      return "";
    case ShardBusy::kSplitting:
      return "split";
    case ShardBusy::kMoving:
      return shard.move.join ? "catch-up" : "move";
    case ShardBusy::kReconfiguring:
      return "reconfigure";
    case ShardBusy::kMerging:
      return "merge";
  }
  return "";
}

}  // namespace clossyne::broker
