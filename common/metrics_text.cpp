#include "metrics_text.hpp"

#include <fmt/format.h>

#include <cmath>

namespace clossyne {
namespace {

// HELP text escapes backslash and newline; label values also escape the double quote.
std::string escape(std::string_view v, bool quote) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quote && c == '"')
      out += "\\\"";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string MetricsText::escape_label(std::string_view v) {
  return escape(v, true);
}

std::string MetricsText::format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Integers (counts, bytes) exactly; others in the shortest form that reads back the same.
  if (std::fabs(v) < 9.007199254740992e15 && v == std::floor(v))
    return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

void MetricsText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape(help, false), name, type);
}

void MetricsText::sample(std::string_view name, const MetricLabels& labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += labels[i].first;
      out_ += "=\"";
      out_ += escape_label(labels[i].second);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += format_value(value);
  out_ += '\n';
}

void MetricsText::counter(std::string_view name, std::string_view help, double value) {
  family(name, "counter", help);
  sample(name, {}, value);
}

void MetricsText::gauge(std::string_view name, std::string_view help, double value) {
  family(name, "gauge", help);
  sample(name, {}, value);
}

void MetricsText::histogram(std::string_view name, const MetricLabels& labels,
                            const std::vector<std::pair<double, uint64_t>>& buckets, uint64_t count,
                            double sum) {
  const std::string bucket = std::string(name) + "_bucket";
  for (const auto& [le, cumulative] : buckets) {
    MetricLabels with = labels;
    with.emplace_back("le", format_value(le));
    sample(bucket, with, static_cast<double>(cumulative));
  }
  MetricLabels inf = labels;
  inf.emplace_back("le", "+Inf");
  sample(bucket, inf, static_cast<double>(count));
  sample(std::string(name) + "_sum", labels, sum);
  sample(std::string(name) + "_count", labels, static_cast<double>(count));
}

}  // namespace clossyne
