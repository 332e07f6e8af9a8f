#include "command_stats.hpp"

#include <cstdio>

#include "command_table.hpp"

namespace clossyne::frontend {
namespace {

bool is_container(std::string_view name) {
  return name == "client" || name == "config" || name == "slowlog" || name == "acl" ||
         name == "command" || name == "function" || name == "latency";
}

}  // namespace

std::string CommandStats::key_of(std::string_view name, const std::vector<std::string>& args) {
  std::string key(name);
  if (is_container(name) && args.size() > 1) {
    key.push_back('|');
    key.append(to_lower(std::string_view(args[1]).substr(0, 32)));
  }
  return key;
}

CommandStats::Entry& CommandStats::entry(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    auto e = std::make_unique<Entry>();
    e->name = key;
    it = entries_.emplace(key, std::move(e)).first;
  }
  return *it->second;
}

void CommandStats::record(Entry& e, uint64_t us, bool failed) {
  ++e.calls;
  e.usec += us;
  if (failed) ++e.failed_calls;
  e.latency.record(us);
}

void CommandStats::reset() {
  for (auto& [name, e] : entries_) {
    *e = Entry{};
    e->name = name;
  }
}

std::vector<std::pair<std::string, const CommandStats::Entry*>> CommandStats::used() const {
  std::vector<std::pair<std::string, const Entry*>> out;
  for (const auto& [name, e] : entries_) {
    if (e->calls > 0 || e->rejected_calls > 0) out.emplace_back(name, e.get());
  }
  return out;
}

CommandStats::Entry CommandStats::totals() const {
  Entry t;
  for (const auto& [name, e] : entries_) {
    t.calls += e->calls;
    t.usec += e->usec;
    t.rejected_calls += e->rejected_calls;
    t.failed_calls += e->failed_calls;
    t.latency.merge(e->latency);
  }
  return t;
}

std::string format_commandstats(const CommandStats& stats) {
  std::string out;
  char buf[96];
  for (const auto& [name, e] : stats.used()) {
    const double per_call = e->calls > 0 ? static_cast<double>(e->usec) / e->calls : 0;
    std::snprintf(buf, sizeof buf, "%.2f", per_call);
    out += "cmdstat_" + name + ":calls=" + std::to_string(e->calls) +
           ",usec=" + std::to_string(e->usec) + ",usec_per_call=" + buf +
           ",rejected_calls=" + std::to_string(e->rejected_calls) +
           ",failed_calls=" + std::to_string(e->failed_calls) + "\r\n";
  }
  return out;
}

std::string format_latencystats(const CommandStats& stats) {
  std::string out;
  char buf[128];
  for (const auto& [name, e] : stats.used()) {
    if (e->calls == 0) continue;  // Redis prints only commands that ran
    const LatencyHistogram& h = e->latency;
    std::snprintf(buf, sizeof buf, "p50=%.3f,p99=%.3f,p99.9=%.3f", h.percentile(50),
                  h.percentile(99), h.percentile(99.9));
    out += "latency_percentiles_usec_" + name + ":" + buf + "\r\n";
  }
  return out;
}

}  // namespace clossyne::frontend
