#include "status_watch.hpp"

#include <ctime>
#include <string>
#include <thread>

#include "common/protocol.hpp"
#include "status_view.hpp"

namespace clossyne::admin {
namespace {

std::string clock_time() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

}  // namespace

int watch_status(BrokerClient& client, const WatchOptions& opts, std::FILE* out) {
  for (int n = 0; opts.count <= 0 || n < opts.count; ++n) {
    if (n > 0) std::this_thread::sleep_for(opts.interval);
    Op req;
    req.op = std::string(proto::op::kStatus);
    Reply reply;
    if (Status st = client.call(req, reply); !st.ok()) {
      std::fprintf(stderr, "clossyne-admin: %s\n", st.message().c_str());
      return 1;
    }
    const std::string body = opts.json ? status_json(reply) : status_table(reply);
    // Home and clear the screen (a terminal), or a header between tables (a pipe or a file).
    if (opts.tty) std::fputs("\033[H\033[2J", out);
    std::fprintf(out, "%sstatus at %s (every %llds, Ctrl-C to stop)\n",
                 opts.tty ? "" : (n > 0 ? "\n" : ""), clock_time().c_str(),
                 static_cast<long long>(opts.interval.count() / 1000));
    std::fputs(body.c_str(), out);
    std::fflush(out);
  }
  return 0;
}

}  // namespace clossyne::admin
