#include "cluster_state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/version.hpp"
#include "worker/data_dir.hpp"

namespace clossyne {
namespace {

std::string state_path(const std::string& dir) {
  return dir + "/cluster.json";
}

Status write_synced(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Error(path + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::Error(path + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  const int synced = ::fdatasync(fd);
  const int err = errno;
  ::close(fd);
  if (synced != 0) return Status::Error(path + ": fsync: " + std::strerror(err));
  return Status::Ok();
}

}  // namespace

const ShardInfo* ClusterState::handoff(uint32_t id) const {
  auto it = std::find_if(handoffs.begin(), handoffs.end(),
                         [id](const ShardInfo& h) { return h.id == id; });
  return it == handoffs.end() ? nullptr : &*it;
}

void ClusterState::add_handoff(uint32_t id, uint64_t epoch, const std::string& owner) {
  std::erase_if(handoffs, [id](const ShardInfo& h) { return h.id == id; });
  ShardInfo h;
  h.id = id;
  h.epoch = epoch;
  h.owner = owner;
  handoffs.push_back(std::move(h));
  if (handoffs.size() > kMaxHandoffs) handoffs.erase(handoffs.begin());
}

Status load_cluster_state(const std::string& dir, ClusterState& out) {
  out = ClusterState();
  std::ifstream in(state_path(dir));
  if (!in) return Status::Ok();
  std::stringstream text;
  text << in.rdbuf();
  try {
    const auto j = nlohmann::json::parse(text.str());
    const auto format = j.value("format", int64_t{1});
    if (format < 1 || format > kClusterStateFormat)
      return Status::Error(state_path(dir) + ": format " + std::to_string(format) +
                           ", but this build (clossyne " + std::string(version()) +
                           ") reads format " + std::to_string(kClusterStateFormat) + " only" +
                           (format > kClusterStateFormat
                                ? ": a newer Clossyne wrote it; run that build or a newer one"
                                : ""));
    out.cluster = j.value("cluster", std::string());
    for (const auto& h : j.value("handoffs", nlohmann::json::array())) {
      out.add_handoff(h.at("shard").get<uint32_t>(), h.at("epoch").get<uint64_t>(),
                      h.at("owner").get<std::string>());
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Error(state_path(dir) + " is damaged: " + e.what());
  }
  return Status::Ok();
}

Status save_cluster_state(const std::string& dir, const ClusterState& state) {
  nlohmann::json j;
  j["format"] = kClusterStateFormat;
  j["cluster"] = state.cluster;
  j["handoffs"] = nlohmann::json::array();
  for (const auto& h : state.handoffs) {
    j["handoffs"].push_back({{"shard", h.id}, {"epoch", h.epoch}, {"owner", h.owner}});
  }
  const std::string tmp = state_path(dir) + ".tmp";
  if (Status st = write_synced(tmp, j.dump(1) + "\n"); !st.ok()) return st;
  if (Status st = rename_file(tmp, state_path(dir)); !st.ok()) return st;
  return sync_dir(dir);
}

}  // namespace clossyne
