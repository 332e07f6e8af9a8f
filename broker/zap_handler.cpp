#include "zap_handler.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <vector>

namespace clossyne::broker {

std::optional<BusRole> authorize(const AuthorizedKeys& keys, const std::string& domain,
                                 const std::string& z85_key) {
  auto it = keys.find(z85_key);
  if (it == keys.end()) return std::nullopt;
  const BusRole role = it->second;
  if (domain == kWorkersDomain)
    return role == BusRole::kWorker ? std::optional(role) : std::nullopt;
  if (domain == kClientsDomain)
    return role != BusRole::kWorker ? std::optional(role) : std::nullopt;
  return std::nullopt;
}

std::optional<BusRole> message_role(const zmq::message_t& msg) {
  const char* user = zmq_msg_gets(msg.handle(), "User-Id");
  return user != nullptr ? parse_role(user) : std::nullopt;
}

ZapHandler::ZapHandler(zmq::context_t& ctx, std::string authorized_path, AuthorizedKeys keys)
    : socket_(ctx, zmq::socket_type::rep),
      path_(std::move(authorized_path)),
      keys_(std::move(keys)) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind("inproc://zeromq.zap.01");
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) mtime_ = st.st_mtim;
}

void ZapHandler::reload_if_changed() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return;  // gone for a moment (an editor's rename): keep
  if (st.st_mtim.tv_sec == mtime_.tv_sec && st.st_mtim.tv_nsec == mtime_.tv_nsec) return;
  mtime_ = st.st_mtim;
  AuthorizedKeys fresh;
  if (Status s = read_authorized_keys(path_, fresh); !s.ok()) {
    spdlog::error("broker: keeping the previous authorized keys: {}", s.message());
    return;
  }
  keys_ = std::move(fresh);
  logged_.clear();
  spdlog::info("broker: {} re-read: {} authorized key(s)", path_, keys_.size());
}

std::string ZapHandler::answer(const std::string& domain, const std::string& address,
                               const std::string& mechanism, const zmq::message_t* key) {
  if (mechanism != "CURVE" || key == nullptr || key->size() != 32) {
    spdlog::warn("broker: refused a {} handshake from {} on the {} socket (CURVE only)", mechanism,
                 address, domain);
    return "";
  }
  char z85[41] = {};
  zmq_z85_encode(z85, static_cast<const uint8_t*>(key->data()), 32);
  if (auto role = authorize(keys_, domain, z85)) return role_name(*role);
  // A refused peer reconnects every few hundred ms: log each key and address once.
  if (logged_.size() > 10000) logged_.clear();
  if (logged_.insert(domain + address + z85).second) {
    auto it = keys_.find(z85);
    if (it != keys_.end()) {
      spdlog::warn("broker: refused a {} key from {} on the {} socket (role not allowed there)",
                   role_name(it->second), address, domain);
    } else {
      spdlog::warn("broker: refused an unknown key {} from {} on the {} socket", z85, address,
                   domain);
    }
  }
  return "";
}

void ZapHandler::serve() {
  for (int i = 0; i < 1000; ++i) {
    std::vector<zmq::message_t> req;
    if (!zmq::recv_multipart(socket_, std::back_inserter(req), zmq::recv_flags::dontwait)) return;
    if (i == 0) reload_if_changed();
    // version, request id, domain, address, identity, mechanism, credentials...
    std::string request_id = req.size() > 1 ? req[1].to_string() : "";
    std::string user;
    if (req.size() >= 6 && req[0].to_string() == "1.0") {
      user = answer(req[2].to_string(), req[3].to_string(), req[5].to_string(),
                    req.size() > 6 ? &req[6] : nullptr);
    }
    std::vector<zmq::message_t> reply;
    reply.emplace_back(std::string_view("1.0"));
    reply.emplace_back(request_id);
    reply.emplace_back(std::string_view(user.empty() ? "400" : "200"));
    reply.emplace_back(std::string_view(user.empty() ? "No access" : "OK"));
    reply.emplace_back(user);
    reply.emplace_back();
    zmq::send_multipart(socket_, reply, zmq::send_flags::dontwait);
  }
}

}  // namespace clossyne::broker
