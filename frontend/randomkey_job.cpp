#include "randomkey_job.hpp"

#include <memory>
#include <random>

#include "common/protocol.hpp"
#include "resp_writer.hpp"

namespace clossyne::frontend {
namespace {

Op first_key_from(const std::string& start) {
  Op o;
  o.op = std::string(proto::op::kRng);
  o.key = start;
  o.limit = 1;
  return o;
}

class RandomKeyJob : public Job {
 public:
  explicit RandomKeyJob(std::string start) : start_(std::move(start)) {}

  JobStep start() override { return JobStep::send(first_key_from(start_)); }

  JobStep on_reply(const Reply& reply) override {
    if (!reply.ok) return JobStep::finish(resp_error(reply.error));
    if (reply.items && !reply.items->empty()) {
      std::string out;
      resp_bulk(out, reply.items->front().first);
      return JobStep::finish(std::move(out));
    }
    if (start_.empty()) return JobStep::finish("$-1\r\n");  // the whole key space is empty
    start_.clear();                                         // past the last key: wrap to the first
    return JobStep::send(first_key_from(start_));
  }

 private:
  std::string start_;
};

}  // namespace

Action build_randomkey_from(std::string start) {
  return Action::start_job(std::make_shared<RandomKeyJob>(std::move(start)));
}

Action build_randomkey() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<int> printable(0x20, 0x7e);
  std::string start(8, ' ');
  for (auto& c : start) c = static_cast<char>(printable(rng));
  return build_randomkey_from(std::move(start));
}

}  // namespace clossyne::frontend
