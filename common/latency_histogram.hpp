// LatencyHistogram: latencies in microseconds counted in log-linear buckets (8 per power of two,
// exact below 8 us), fixed size, no allocation after construction. Feeds Redis's
// latency_percentiles_usec_* fields (percentile) and Prometheus histograms
// (cumulative_at_or_below). A bucket holds the values in (lo, hi]; every power of two is a bucket
// edge, so a Prometheus `le` at a power of two microseconds is counted exactly. Values past ~19
// hours land in the last bucket. Not thread-safe.
#pragma once
#include <array>
#include <cstdint>

namespace clossyne {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 3;  // 8 sub-buckets per power of two
  static constexpr int kMaxExponent = 36;
  // kSub exact buckets, then kSub per power of two from 2^kSubBits to 2^kMaxExponent.
  static constexpr int kBuckets = (1 << kSubBits) * (kMaxExponent - kSubBits + 2);

  void record(uint64_t us);
  void merge(const LatencyHistogram& other);
  void reset();

  uint64_t count() const { return count_; }
  uint64_t sum_us() const { return sum_us_; }
  uint64_t max_us() const { return max_us_; }

  // The smallest bucket edge at or above the value at percentile p (0..100), clamped to the
  // largest value recorded; 0 when empty. Like hdr_histogram's value_at_percentile, it errs high
  // by at most one bucket (12.5%).
  double percentile(double p) const;

  // How many values are <= bound_us: exact when bound_us is a bucket edge (every power of two and
  // every value up to 8); otherwise the count up to the nearest edge below.
  uint64_t cumulative_at_or_below(uint64_t bound_us) const;

  static int bucket_of(uint64_t us);
  static uint64_t upper_edge(int bucket);  // largest value bucket holds

 private:
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_us_ = 0;
  uint64_t max_us_ = 0;
};

}  // namespace clossyne
