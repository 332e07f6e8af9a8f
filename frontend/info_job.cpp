#include "info_job.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "common/clock.hpp"
#include "common/protocol.hpp"
#include "common/resident.hpp"
#include "info_format.hpp"
#include "resp_writer.hpp"

namespace clossyne::frontend {
namespace {

std::string info_reply(const InfoData& data, const std::vector<std::string>& sections) {
  std::string out;
  resp_bulk(out, format_info(data, sections));
  return out;
}

Op make_op(std::string_view name) {
  Op o;
  o.op = std::string(name);
  return o;
}

// Asks the broker for `status`, then `dbsize`, then the keys with a TTL, then formats.
class InfoJob : public Job {
 public:
  InfoJob(InfoData data, std::vector<std::string> sections)
      : data_(std::move(data)), sections_(std::move(sections)) {}

  JobStep start() override { return JobStep::send(make_op(proto::op::kStatus)); }

  JobStep on_reply(const Reply& reply) override {
    if (!got_status_) {
      got_status_ = true;
      on_status(reply);
      return JobStep::send(make_op(proto::op::kDbsize));
    }
    if (!got_dbsize_) {
      got_dbsize_ = true;
      if (reply.ok) {
        data_.keys = reply.n.value_or(0);
      } else if (data_.cluster_error.empty()) {
        data_.cluster_error = reply.error;
      }
      Op expires = make_op(proto::op::kDbsize);
      expires.args.emplace_back("expires");
      return JobStep::send(std::move(expires));
    }
    if (reply.ok) {
      data_.expires = reply.n.value_or(0);
    } else {
      data_.expires_error = reply.error;  // shown in # Clossyne; expires= says 0
    }
    return JobStep::finish(info_reply(data_, sections_));
  }

 private:
  void on_status(const Reply& reply) {
    if (!reply.ok) {
      data_.cluster_error = reply.error;
      return;
    }
    data_.have_status = true;
    data_.workers = reply.workers;
    data_.shards = reply.shards;
  }

  InfoData data_;
  std::vector<std::string> sections_;
  bool got_status_ = false;
  bool got_dbsize_ = false;
};

}  // namespace

Action build_info(const std::vector<std::string>& args, const ServerInfo& server,
                  const CommandStats* stats) {
  InfoData data;
  data.server = server;
  std::vector<std::string> sections = info_sections(args);
  const auto has = [&](std::string_view s) {
    return std::find(sections.begin(), sections.end(), s) != sections.end();
  };
  if (stats != nullptr && has("commandstats")) data.commandstats = format_commandstats(*stats);
  if (stats != nullptr && has("latencystats")) data.latencystats = format_latencystats(*stats);
  data.now_ms = now_ms();
  data.pid = static_cast<long>(::getpid());
  data.rss_bytes = resident_bytes();
  rusage ru{};
  if (::getrusage(RUSAGE_SELF, &ru) == 0) {
    data.cpu_user_us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
    data.cpu_sys_us = ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
  }
  if (!info_needs_cluster(sections)) return Action::local(info_reply(data, sections));
  return Action::start_job(std::make_shared<InfoJob>(std::move(data), std::move(sections)));
}

}  // namespace clossyne::frontend
