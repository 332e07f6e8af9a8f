#include "flush_job.hpp"

#include "command_table.hpp"
#include "common/protocol.hpp"
#include "key_scan_job.hpp"
#include "resp_writer.hpp"

namespace clossyne::frontend {
namespace {

class FlushJob : public Job {
 public:
  JobStep start() override { return JobStep::send(walk_.page(kFlushPageSize)); }

  JobStep on_reply(const Reply& reply) override {
    if (!reply.ok) return JobStep::finish(resp_error(reply.error));
    if (deleting_) return after_delete();
    const auto& items = reply.items ? *reply.items : std::vector<KV>{};
    if (items.empty()) return JobStep::finish("+OK\r\n");
    last_page_ = items.size() < kFlushPageSize || !walk_.advance_past(items.back().first);
    Op del;
    del.op = std::string(proto::op::kDel);
    del.keys.reserve(items.size());
    for (const auto& [key, value] : items) del.keys.push_back(key);
    deleting_ = true;
    return JobStep::send(std::move(del));
  }

 private:
  JobStep after_delete() {
    deleting_ = false;
    if (last_page_) return JobStep::finish("+OK\r\n");
    return JobStep::send(walk_.page(kFlushPageSize));
  }

  KeyWalk walk_;
  bool deleting_ = false;
  bool last_page_ = false;
};

}  // namespace

Action build_flushdb(const std::vector<std::string>& args) {
  if (args.size() == 2) {
    const std::string mode = to_lower(args[1]);
    if (mode != "async" && mode != "sync") return Action::local(resp_error("syntax error"));
  }
  return Action::start_job(std::make_shared<FlushJob>());
}

}  // namespace clossyne::frontend
