#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <vector>

#include "common/latency_histogram.hpp"

using clossyne::LatencyHistogram;

TEST_CASE("latency histogram counts, sums and resets") {
  LatencyHistogram h;
  CHECK(h.count() == 0);
  CHECK(h.percentile(50) == 0);
  h.record(3);
  h.record(100);
  h.record(0);
  CHECK(h.count() == 3);
  CHECK(h.sum_us() == 103);
  CHECK(h.max_us() == 100);
  h.reset();
  CHECK(h.count() == 0);
  CHECK(h.sum_us() == 0);
  CHECK(h.cumulative_at_or_below(1000) == 0);
}

TEST_CASE("latency histogram buckets tile the values with edges at every power of two") {
  int previous = LatencyHistogram::bucket_of(0);
  for (uint64_t v = 1; v < 5000; ++v) {
    const int b = LatencyHistogram::bucket_of(v);
    CHECK((b == previous || b == previous + 1));
    CHECK(v <= LatencyHistogram::upper_edge(b));
    if (b > 0) CHECK(v > LatencyHistogram::upper_edge(b - 1));
    previous = b;
  }
  for (int k = 0; k <= 36; ++k) {
    const uint64_t p = uint64_t{1} << k;
    CHECK(LatencyHistogram::upper_edge(LatencyHistogram::bucket_of(p)) == p);
  }
  const int last = LatencyHistogram::bucket_of(uint64_t{1} << 36);
  CHECK(last < LatencyHistogram::kBuckets);
  CHECK(LatencyHistogram::bucket_of(UINT64_MAX) == LatencyHistogram::kBuckets - 1);
}

TEST_CASE("latency histogram cumulative counts are exact at powers of two") {
  LatencyHistogram h;
  std::mt19937_64 rng(7);
  std::vector<uint64_t> values;
  for (int i = 0; i < 20000; ++i) {
    const uint64_t v = rng() % (uint64_t{1} << (rng() % 27));  // up to ~67 s
    values.push_back(v);
    h.record(v);
  }
  for (int k = 0; k <= 27; ++k) {
    const uint64_t bound = uint64_t{1} << k;
    uint64_t expected = 0;
    for (uint64_t v : values) expected += v <= bound ? 1 : 0;
    CHECK(h.cumulative_at_or_below(bound) == expected);
  }
  CHECK(h.cumulative_at_or_below(UINT64_MAX) == h.count());
}

TEST_CASE("latency histogram percentiles err high by at most one bucket") {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.record(v);
  const double p50 = h.percentile(50);
  CHECK(p50 >= 500);
  CHECK(p50 <= 500 * 1.125 + 1);
  const double p99 = h.percentile(99);
  CHECK(p99 >= 990);
  CHECK(p99 <= 1000);  // clamped to the largest value
  CHECK(h.percentile(100) == 1000);
  CHECK(h.percentile(0) == 1);
  LatencyHistogram single;
  single.record(7);
  CHECK(single.percentile(99.9) == 7);
}

TEST_CASE("latency histogram merge adds counts") {
  LatencyHistogram a;
  LatencyHistogram b;
  a.record(10);
  b.record(1000);
  b.record(2000);
  a.merge(b);
  CHECK(a.count() == 3);
  CHECK(a.sum_us() == 3010);
  CHECK(a.max_us() == 2000);
  CHECK(a.cumulative_at_or_below(1024) == 2);
}
