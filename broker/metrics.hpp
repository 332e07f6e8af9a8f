// BrokerMetrics: what the broker counts for /metrics and /status.json: operations and errors by
// op and error code, a latency histogram of operations as the broker sees them (first envelope in
// to reply out), and sub-operations answered per worker (totals and a rate over a few seconds).
// Single-threaded: the broker loop records and renders; the HTTP threads only see published text.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error_code.hpp"
#include "common/latency_histogram.hpp"
#include "shard_map.hpp"

namespace clossyne::broker {

class BrokerMetrics {
 public:
  static constexpr int kRateSeconds = 3;           // ops_per_sec: the mean of the last full seconds
  static constexpr std::size_t kMaxOpKinds = 200;  // op names past these count as "other"

  struct OpStats {
    uint64_t done = 0;
    std::map<ErrorCode, uint64_t> errors;
  };
  struct WorkerStats {
    uint64_t answered = 0;
    std::array<int64_t, kRateSeconds + 1> second{};  // a ring: which second each slot counts
    std::array<uint64_t, kRateSeconds + 1> count{};
  };

  // The op name's small id (interned), kept per op while it is answered.
  uint16_t kind(const std::string& op);
  void op_done(uint16_t kind, ErrorCode code, uint64_t latency_us);
  // An envelope refused before it was planned (cluster not ready): counted, no latency.
  void op_refused(const std::string& op, ErrorCode code);
  void part_answered(const std::string& worker, int64_t now_ms);
  uint64_t ops_per_sec(const std::string& worker, int64_t now_ms) const;

  const std::vector<std::string>& kinds() const { return names_; }
  const std::vector<OpStats>& ops() const { return ops_; }
  const std::unordered_map<std::string, WorkerStats>& workers() const { return workers_; }
  const LatencyHistogram& latency() const { return latency_; }

 private:
  std::unordered_map<std::string, uint16_t> ids_;
  std::vector<std::string> names_;
  uint16_t last_ = 0;  // the last id looked up
  std::vector<OpStats> ops_;
  std::unordered_map<std::string, WorkerStats> workers_;
  LatencyHistogram latency_;
};

// The change under way on a shard, as status and metrics name it ("" none).
std::string change_name(const ShardEntry& shard);

}  // namespace clossyne::broker
