// The broker's HTTP pages (--http): /metrics (Prometheus), /status.json (what `clossyne-admin
// status --json` prints) and / (the live cluster page). The loop renders them at most every
// 250 ms and publishes them to the HTTP server's threads, so a scrape never touches the loop.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "balancer.hpp"
#include "broker.hpp"
#include "cluster_page.hpp"
#include "common/clock.hpp"
#include "common/metrics_text.hpp"
#include "common/status_json.hpp"
#include "common/version.hpp"

namespace clossyne::broker {
namespace {

constexpr int64_t kPublishEveryMs = 250;

// Latency bucket bounds: powers of two microseconds (exact edges of LatencyHistogram), 16 us to
// about 8.4 s, written in seconds as Prometheus asks.
std::vector<std::pair<double, uint64_t>> latency_buckets(const LatencyHistogram& h) {
  std::vector<std::pair<double, uint64_t>> out;
  for (uint64_t us = 16; us <= (uint64_t{1} << 23); us <<= 1)
    out.emplace_back(static_cast<double>(us) / 1e6, h.cumulative_at_or_below(us));
  return out;
}

}  // namespace

void Broker::start_http() {
  if (config_.http.empty()) return;
  http_ = std::make_unique<HttpServer>();
  // Every page exists before the port opens: a scrape right after start gets figures, not a 404.
  http_->publish("/", {"text/html; charset=utf-8", std::string(cluster_page_html())});
  publish_http();
  if (Status st = http_->start(config_.http); !st.ok())
    throw std::runtime_error("--http: " + st.message());
  spdlog::info("broker: HTTP on {} (/metrics, /status.json, / the cluster page)", config_.http);
}

void Broker::publish_http() {
  if (!http_ || turn_ms_ < next_publish_ms_) return;
  next_publish_ms_ = turn_ms_ + kPublishEveryMs;
  http_->publish("/metrics", {"text/plain; version=0.0.4; charset=utf-8", render_metrics()});
  http_->publish("/status.json", {"application/json", status_json(status_reply(0))});
}

void Broker::metrics_workers(MetricsText& m) const {
  auto load = keys_per_worker(map_, registry_);
  std::map<std::string, int> states{{"alive", 0}, {"dead", 0}, {"draining", 0}};
  for (const auto& [id, w] : registry_.all()) ++states[w.alive ? "alive" : "dead"];
  for (const auto& [id, w] : registry_.all()) states["draining"] += w.draining;
  m.family("clossyne_workers", "gauge",
           "Workers the broker knows, by state (draining ones are "
           "also alive or dead).");
  for (const auto& [state, n] : states) m.sample("clossyne_workers", {{"state", state}}, n);
  m.family("clossyne_worker_up", "gauge", "1 while the worker is alive (heartbeating).");
  for (const auto& [id, w] : registry_.all())
    m.sample("clossyne_worker_up", {{"worker", id}}, w.alive);
  m.family("clossyne_worker_heartbeat_age_seconds", "gauge",
           "Seconds since the broker last heard from the worker.");
  for (const auto& [id, w] : registry_.all())
    m.sample("clossyne_worker_heartbeat_age_seconds", {{"worker", id}},
             // last_seen_ms may be later than the turn's start (a heartbeat this turn): never < 0.
             static_cast<double>(std::max<int64_t>(0, turn_ms_ - w.last_seen_ms)) / 1000.0);
  m.family("clossyne_worker_keys", "gauge", "Keys in the shards the worker owns (heartbeats).");
  for (const auto& [id, w] : registry_.all())
    m.sample("clossyne_worker_keys", {{"worker", id}}, load.count(id) ? load.at(id) : 0);
  m.family("clossyne_worker_shards", "gauge", "Shards the worker owns (as primary).");
  std::map<std::string, double> shards, bytes;
  for (const auto& e : map_.entries()) {
    if (e.owner.empty()) continue;
    shards[e.owner] += 1;
    bytes[e.owner] += static_cast<double>(e.info.bytes);
  }
  for (const auto& [id, w] : registry_.all())
    m.sample("clossyne_worker_shards", {{"worker", id}}, shards[id]);
  m.family("clossyne_worker_bytes", "gauge",
           "Memory the trees of the worker's shards use (heartbeats).");
  for (const auto& [id, w] : registry_.all())
    m.sample("clossyne_worker_bytes", {{"worker", id}}, bytes[id]);
  m.family("clossyne_worker_resident_bytes", "gauge",
           "The worker's resident set size (heartbeats).");
  for (const auto& [id, w] : registry_.all())
    m.sample("clossyne_worker_resident_bytes", {{"worker", id}}, static_cast<double>(w.rss));
  m.family("clossyne_worker_operations_total", "counter",
           "Sub-operations the worker answered (a multi-shard op counts once per shard).");
  for (const auto& [id, w] : registry_.all()) {
    auto it = metrics_.workers().find(id);
    m.sample("clossyne_worker_operations_total", {{"worker", id}},
             it == metrics_.workers().end() ? 0.0 : static_cast<double>(it->second.answered));
  }
}

void Broker::metrics_shards(MetricsText& m) const {
  std::map<std::string, int> changes{
      {"split", 0}, {"move", 0}, {"catch-up", 0}, {"reconfigure", 0}, {"merge", 0}};
  int unavailable = 0, barriers = 0;
  double waiting = 0;
  for (const auto& e : map_.entries()) {
    if (auto c = change_name(e); !c.empty()) ++changes[c];
    if (e.gap() || e.owner.empty() || !registry_.alive(e.owner)) ++unavailable;
    if (e.barrier || e.locked_by != 0) ++barriers;
    waiting += static_cast<double>(e.held.size());
  }
  m.gauge("clossyne_shards", "Shards in the map (gaps not counted).",
          static_cast<double>(std::count_if(map_.entries().begin(), map_.entries().end(),
                                            [](const ShardEntry& e) { return !e.gap(); })));
  m.gauge("clossyne_ranges_unavailable",
          "Ranges of the map no live worker serves now (requests for them fail at once).",
          unavailable);
  m.gauge("clossyne_barriers_held",
          "Shards holding later ops back: a delete in flight or a transaction's lock.", barriers);
  m.gauge("clossyne_ops_waiting", "Sub-operations held at shard barriers or changes.", waiting);
  m.family("clossyne_changes_in_flight", "gauge", "Structural changes under way, by kind.");
  for (const auto& [kind, n] : changes) m.sample("clossyne_changes_in_flight", {{"kind", kind}}, n);
  metrics_shard_rows(m);
}

void Broker::metrics_shard_rows(MetricsText& m) const {
  auto rows = [&](const char* name, const char* type, const char* help, auto value) {
    m.family(name, type, help);
    for (const auto& e : map_.entries()) {
      if (e.gap()) continue;
      m.sample(name, {{"shard", std::to_string(e.info.id)}, {"owner", e.owner}}, value(e));
    }
  };
  rows("clossyne_shard_keys", "gauge", "Keys in the shard (its owner's heartbeats).",
       [](const ShardEntry& e) { return static_cast<double>(e.info.keys); });
  rows("clossyne_shard_bytes", "gauge", "Memory the shard's tree uses (its owner's heartbeats).",
       [](const ShardEntry& e) { return static_cast<double>(e.info.bytes); });
  rows("clossyne_shard_epoch", "gauge", "The shard's epoch (grows on every owner or bound change).",
       [](const ShardEntry& e) { return static_cast<double>(e.info.epoch); });
  rows("clossyne_shard_change_copied_keys", "gauge",
       "Keys a move or catch-up of the shard has copied so far (0 when none is under way).",
       [](const ShardEntry& e) {
         return e.busy == ShardBusy::kMoving ? static_cast<double>(e.move.copied) : 0.0;
       });
  m.family("clossyne_shard_members", "gauge",
           "A replicated shard's members, by state: in-sync (primary and followers) and "
           "catching-up.");
  for (const auto& e : map_.entries()) {
    if (!e.replicated()) continue;
    const std::string id = std::to_string(e.info.id);
    m.sample("clossyne_shard_members", {{"shard", id}, {"state", "in-sync"}},
             static_cast<double>(e.info.replicas.size()));
    const bool joining = e.busy == ShardBusy::kMoving && e.move.join;
    m.sample("clossyne_shard_members", {{"shard", id}, {"state", "catching-up"}}, joining);
  }
}

void Broker::metrics_ops(MetricsText& m) const {
  const auto& names = metrics_.kinds();
  const auto& ops = metrics_.ops();
  m.family("clossyne_operations_total", "counter",
           "Client operations answered, by op (a batch counts each of its ops).");
  for (std::size_t i = 0; i < names.size(); ++i)
    m.sample("clossyne_operations_total", {{"op", names[i]}}, static_cast<double>(ops[i].done));
  m.family("clossyne_operation_errors_total", "counter",
           "Client operations answered with an error, by op and error code.");
  for (std::size_t i = 0; i < names.size(); ++i) {
    for (const auto& [code, n] : ops[i].errors)
      m.sample("clossyne_operation_errors_total",
               {{"op", names[i]}, {"code", std::string(error_code_name(code))}},
               static_cast<double>(n));
  }
  const LatencyHistogram& h = metrics_.latency();
  m.family("clossyne_operation_duration_seconds", "histogram",
           "Time from an operation's arrival at the broker to its reply leaving it.");
  m.histogram("clossyne_operation_duration_seconds", {}, latency_buckets(h), h.count(),
              static_cast<double>(h.sum_us()) / 1e6);
  m.gauge("clossyne_requests_in_flight", "Client envelopes being answered.",
          static_cast<double>(requests_.size()));
  m.gauge("clossyne_subops_pending", "Sub-operations queued or in flight to workers.",
          static_cast<double>(parts_.size()));
}

std::string Broker::render_metrics() const {
  MetricsText m;
  m.family("clossyne_build_info", "gauge", "The broker's version (the value is 1).");
  m.sample("clossyne_build_info",
           {{"version", std::string(version())}, {"commit", std::string(git_commit())}}, 1);
  m.gauge("clossyne_ready", "1 once the shard map is built and requests are served.", ready_);
  metrics_workers(m);
  metrics_shards(m);
  metrics_ops(m);
  return m.take();
}

}  // namespace clossyne::broker
