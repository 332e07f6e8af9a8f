#include "common/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace clossyne {

namespace {
constexpr uint64_t kSub = uint64_t{1} << LatencyHistogram::kSubBits;
}

// Buckets index v - 1 (so each bucket is (lo, hi] in v): below kSub one bucket per value, above it
// kSub buckets per power of two.
int LatencyHistogram::bucket_of(uint64_t us) {
  const uint64_t x = us == 0 ? 0 : us - 1;
  if (x < kSub) return static_cast<int>(x);
  const int e = std::bit_width(x) - 1;  // x in [2^e, 2^(e+1))
  if (e > kMaxExponent) return kBuckets - 1;
  const int shift = e - kSubBits;
  const int sub = static_cast<int>((x >> shift) & (kSub - 1));
  return static_cast<int>(kSub) + (e - kSubBits) * static_cast<int>(kSub) + sub;
}

uint64_t LatencyHistogram::upper_edge(int bucket) {
  if (bucket < static_cast<int>(kSub)) return static_cast<uint64_t>(bucket) + 1;
  const int rel = bucket - static_cast<int>(kSub);
  const int shift = rel / static_cast<int>(kSub);  // e - kSubBits
  const uint64_t sub = static_cast<uint64_t>(rel % static_cast<int>(kSub));
  return (kSub + sub + 1) << shift;  // exclusive end of x, the inclusive end of v
}

void LatencyHistogram::record(uint64_t us) {
  ++buckets_[static_cast<size_t>(bucket_of(us))];
  ++count_;
  sum_us_ += us;
  max_us_ = std::max(max_us_, us);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_us_ += other.sum_us_;
  max_us_ = std::max(max_us_, other.max_us_);
}

void LatencyHistogram::reset() {
  *this = LatencyHistogram{};
}

double LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  const double clamped = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<uint64_t>(std::ceil(clamped / 100.0 * static_cast<double>(count_)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[static_cast<size_t>(i)];
    if (seen >= rank) return static_cast<double>(std::min(upper_edge(i), max_us_));
  }
  return static_cast<double>(max_us_);
}

uint64_t LatencyHistogram::cumulative_at_or_below(uint64_t bound_us) const {
  uint64_t total = 0;
  for (int i = 0; i < kBuckets && upper_edge(i) <= bound_us; ++i) {
    total += buckets_[static_cast<size_t>(i)];
  }
  return total;
}

}  // namespace clossyne
