#include "latency_command.hpp"

#include <utility>

#include "command_table.hpp"
#include "resp_writer.hpp"

namespace clossyne::frontend {
namespace {

constexpr int kMaxPow = 36;  // LatencyHistogram's range

void histogram_entry(std::string& out, const std::string& name, const CommandStats::Entry& e) {
  std::vector<std::pair<uint64_t, uint64_t>> points;
  uint64_t previous = 0;
  for (int k = 0; k <= kMaxPow && previous < e.latency.count(); ++k) {
    const uint64_t bound = uint64_t{1} << k;
    const uint64_t cumulative = e.latency.cumulative_at_or_below(bound);
    if (cumulative > previous) points.emplace_back(bound, cumulative);
    previous = cumulative;
  }
  resp_bulk(out, name);
  resp_array(out, 4);
  resp_bulk(out, "calls");
  resp_int(out, static_cast<int64_t>(e.calls));
  resp_bulk(out, "histogram_usec");
  resp_array(out, 2 * points.size());
  for (const auto& [bound, count] : points) {
    resp_int(out, static_cast<int64_t>(bound));
    resp_int(out, static_cast<int64_t>(count));
  }
}

std::string histogram(const CommandStats& stats, const std::vector<std::string>& args) {
  std::vector<std::pair<std::string, const CommandStats::Entry*>> shown;
  for (const auto& [name, e] : stats.used()) {
    if (e->calls == 0) continue;
    bool wanted = args.size() == 2;
    for (std::size_t i = 2; i < args.size() && !wanted; ++i) wanted = to_lower(args[i]) == name;
    if (wanted) shown.emplace_back(name, e);
  }
  std::string out;
  resp_array(out, 2 * shown.size());
  for (const auto& [name, e] : shown) histogram_entry(out, name, *e);
  return out;
}

std::string help() {
  const char* lines[] = {
      "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "HISTOGRAM [COMMAND ...]",
      "    Return a cumulative distribution of latencies in the format of a histogram for the",
      "    specified command names. If no commands are specified then all histograms are replied.",
      "LATEST",
      "    Return an empty array: this frontend has no latency monitor events.",
      "HISTORY <event>",
      "    Return an empty array.",
      "RESET [<event> ...]",
      "    Return 0.",
      "DOCTOR",
      "    Say that the latency monitor is not available.",
      "HELP",
      "    Print this help."};
  std::string out;
  resp_array(out, std::size(lines));
  for (const char* l : lines) resp_simple(out, l);
  return out;
}

}  // namespace

std::string latency_command(const CommandStats& stats, const std::vector<std::string>& args) {
  const std::string sub = to_lower(args[1]);
  if (sub == "histogram") return histogram(stats, args);
  if (sub == "latest" && args.size() == 2) return "*0\r\n";
  if (sub == "history" && args.size() == 3) return "*0\r\n";
  if (sub == "reset") return ":0\r\n";
  if (sub == "help" && args.size() == 2) return help();
  if (sub == "doctor" && args.size() == 2) {
    std::string out;
    resp_bulk(out,
              "This frontend has no latency monitor (no latency events are recorded). Per-command "
              "latency is in LATENCY HISTOGRAM, INFO latencystats and SLOWLOG.\n");
    return out;
  }
  std::string out;
  if (sub == "latest" || sub == "history" || sub == "help" || sub == "doctor") {
    resp_error(out, "wrong number of arguments for 'latency|" + sub + "' command");
  } else {
    resp_error(out, "unknown subcommand '" + args[1].substr(0, 128) + "'. Try LATENCY HELP.");
  }
  return out;
}

}  // namespace clossyne::frontend
