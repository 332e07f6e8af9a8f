#include "frontend_metrics.hpp"

#include <utility>
#include <vector>

#include "common/metrics_text.hpp"

namespace clossyne::frontend {
namespace {

// Bucket bounds at powers of two microseconds, where LatencyHistogram counts exactly:
// 16 us to ~33.5 s.
constexpr int kFirstBucketPow = 4;
constexpr int kLastBucketPow = 25;

void latency_histogram(MetricsText& m, const LatencyHistogram& h, uint64_t sum_us) {
  m.family("clossyne_frontend_command_duration_seconds", "histogram",
           "Time from a request parsed to its reply written, every command");
  std::vector<std::pair<double, uint64_t>> buckets;
  for (int k = kFirstBucketPow; k <= kLastBucketPow; ++k) {
    const uint64_t bound_us = uint64_t{1} << k;
    buckets.emplace_back(static_cast<double>(bound_us) / 1e6, h.cumulative_at_or_below(bound_us));
  }
  m.histogram("clossyne_frontend_command_duration_seconds", {}, buckets, h.count(),
              static_cast<double>(sum_us) / 1e6);
}

void per_command(MetricsText& m, const CommandStats& stats) {
  const auto used = stats.used();
  const auto family = [&](std::string_view name, std::string_view help, auto field) {
    m.family(name, "counter", help);
    for (const auto& [cmd, e] : used) {
      m.sample(name, {{"command", cmd}}, static_cast<double>(field(*e)));
    }
  };
  family("clossyne_frontend_commands_total", "Commands run, by name (Redis's, e.g. client|list)",
         [](const CommandStats::Entry& e) { return e.calls; });
  family("clossyne_frontend_command_errors_total", "Commands that ran and answered an error",
         [](const CommandStats::Entry& e) { return e.failed_calls; });
  family("clossyne_frontend_commands_rejected_total",
         "Commands refused before running (arity, ACL, authentication)",
         [](const CommandStats::Entry& e) { return e.rejected_calls; });
}

}  // namespace

std::string render_frontend_metrics(const ServerInfo& info, const CommandStats& stats,
                                    int64_t uptime_ms) {
  MetricsText m;
  m.gauge("clossyne_frontend_uptime_seconds", "Seconds since the frontend started",
          static_cast<double>(uptime_ms) / 1000);
  m.gauge("clossyne_frontend_connections", "Clients connected now",
          static_cast<double>(info.connected_clients));
  m.counter("clossyne_frontend_connections_total", "Client connections accepted (refused included)",
            static_cast<double>(info.total_connections));
  m.counter("clossyne_frontend_connections_rejected_total",
            "Client connections refused (maxclients, out of descriptors)",
            static_cast<double>(info.rejected_connections));
  m.counter("clossyne_frontend_requests_total", "Requests parsed, every dialect",
            static_cast<double>(info.total_commands));
  m.counter("clossyne_frontend_protocol_errors_total", "Connections closed for malformed input",
            static_cast<double>(info.protocol_errors));
  m.counter("clossyne_frontend_received_bytes_total", "Bytes read from clients",
            static_cast<double>(info.net_input_bytes));
  m.counter("clossyne_frontend_sent_bytes_total", "Bytes written to clients",
            static_cast<double>(info.net_output_bytes));
  per_command(m, stats);
  const CommandStats::Entry totals = stats.totals();
  latency_histogram(m, totals.latency, totals.usec);
  return m.take();
}

}  // namespace clossyne::frontend
