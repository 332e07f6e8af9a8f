// MetricsText: writes the Prometheus text exposition format (version 0.0.4): one HELP and TYPE
// line per family, then its samples; label values escaped; histograms from cumulative buckets.
// Names follow Prometheus' conventions: clossyne_*, base units in the name (_seconds, _bytes),
// counters ending in _total.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace clossyne {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class MetricsText {
 public:
  // Starts a family: `type` is "counter", "gauge", "histogram" or "untyped". Call once per name,
  // then give its samples.
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of the current family (`name` may carry a suffix such as _bucket).
  void sample(std::string_view name, const MetricLabels& labels, double value);
  // A family with a single unlabelled sample.
  void counter(std::string_view name, std::string_view help, double value);
  void gauge(std::string_view name, std::string_view help, double value);
  // One histogram's samples (its family started with type "histogram"): `buckets` are
  // {upper bound, cumulative count} in increasing bound order; +Inf is added from `count`.
  void histogram(std::string_view name, const MetricLabels& labels,
                 const std::vector<std::pair<double, uint64_t>>& buckets, uint64_t count,
                 double sum);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

  static std::string escape_label(std::string_view v);
  static std::string format_value(double v);

 private:
  std::string out_;
};

}  // namespace clossyne
