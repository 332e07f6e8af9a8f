#include "cluster_keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace clossyne {
namespace fs = std::filesystem;
namespace {

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

Status read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return Status::Ok();
}

Status read_key(const std::string& path, std::string& key) {
  std::string text;
  if (Status st = read_file(path, text); !st.ok()) return st;
  key = trim(text);
  if (!valid_z85_key(key)) return Status::Error(path + ": not a Z85 CURVE key (40 characters)");
  return Status::Ok();
}

// Creates `path` with `mode` and writes `text`; fails if it exists (O_EXCL).
Status write_new_file(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::Error("cannot create " + path + ": " + std::strerror(errno));
  ::fchmod(fd, mode);  // the umask does not get to widen or narrow it
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Status::Error("cannot write " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

Status write_pair(const std::string& base, const CurveKeyPair& pair) {
  if (Status st = write_new_file(base + ".key", pair.secret_key + "\n", 0600); !st.ok()) return st;
  return write_new_file(base + ".pub", pair.public_key + "\n", 0644);
}

}  // namespace

const char* role_name(BusRole role) {
  switch (role) {
    case BusRole::kWorker:
      return "worker";
    case BusRole::kClient:
      return "client";
    case BusRole::kAdmin:
      return "admin";
  }
  return "?";
}

std::optional<BusRole> parse_role(std::string_view name) {
  if (name == "worker") return BusRole::kWorker;
  if (name == "client") return BusRole::kClient;
  if (name == "admin") return BusRole::kAdmin;
  return std::nullopt;
}

CurveKeyPair make_key_pair() {
  char pub[41] = {};
  char sec[41] = {};
  if (zmq_curve_keypair(pub, sec) != 0)
    throw std::runtime_error("zmq_curve_keypair: this libzmq has no CURVE support");
  return {pub, sec};
}

bool valid_z85_key(std::string_view key) {
  if (key.size() != 40) return false;
  uint8_t bin[32];
  const std::string z(key);
  return zmq_z85_decode(bin, z.c_str()) != nullptr;
}

Status read_secret_key(const std::string& path, CurveKeyPair& out) {
  if (Status st = read_key(path, out.secret_key); !st.ok()) return st;
  char pub[41] = {};
  if (zmq_curve_public(pub, out.secret_key.c_str()) != 0)
    return Status::Error(path + ": cannot derive the public key (no CURVE support?)");
  out.public_key = pub;
  return Status::Ok();
}

Status read_public_key(const std::string& path, std::string& out) {
  return read_key(path, out);
}

Status parse_authorized_keys(std::string_view text, AuthorizedKeys& out) {
  std::istringstream in{std::string(text)};
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    // '#' is a Z85 character: only a line that starts with it is a comment.
    std::istringstream words(line);
    std::string role, key;
    if (!(words >> role) || role[0] == '#') continue;
    auto r = parse_role(role);
    if (!r || !(words >> key) || !valid_z85_key(key))
      return Status::Error("line " + std::to_string(n) +
                           ": expected 'worker|client|admin Z85-PUBLIC-KEY [LABEL]'");
    out[key] = *r;
  }
  return Status::Ok();
}

Status read_authorized_keys(const std::string& path, AuthorizedKeys& out) {
  std::string text;
  if (Status st = read_file(path, text); !st.ok()) return st;
  AuthorizedKeys keys;
  if (Status st = parse_authorized_keys(text, keys); !st.ok())
    return Status::Error(path + ": " + st.message());
  out = std::move(keys);
  return Status::Ok();
}

Status load_client_keys(const std::string& dir, BusRole role, CurveClientKeys& out,
                        const std::string& worker_id) {
  std::string key_path = dir + "/" + role_name(role) + ".key";
  if (role == BusRole::kWorker && !worker_id.empty()) {
    const std::string own = dir + "/workers/" + worker_id + ".key";
    if (fs::exists(own)) key_path = own;
  }
  if (Status st = read_secret_key(key_path, out.own); !st.ok()) return st;
  return read_public_key(dir + "/broker.pub", out.server_key);
}

Status load_server_keys(const std::string& dir, CurveKeyPair& out, AuthorizedKeys& authorized) {
  if (Status st = read_secret_key(dir + "/broker.key", out); !st.ok()) return st;
  return read_authorized_keys(dir + "/authorized_keys", authorized);
}

void set_curve_client(zmq::socket_t& socket, const CurveClientKeys& keys) {
  socket.set(zmq::sockopt::curve_serverkey, keys.server_key);
  socket.set(zmq::sockopt::curve_publickey, keys.own.public_key);
  socket.set(zmq::sockopt::curve_secretkey, keys.own.secret_key);
}

void set_curve_server(zmq::socket_t& socket, const CurveKeyPair& keys, const std::string& domain) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
  socket.set(zmq::sockopt::zap_domain, domain);
  // libzmq lets every CURVE client in when no ZAP handler is bound: the broker binds its handler
  // before any server socket (broker/zap_handler.hpp).
#ifdef ZMQ_ZAP_ENFORCE_DOMAIN
  socket.set(zmq::sockopt::zap_enforce_domain, 1);
#endif
}

Status write_cluster_keys(const std::string& dir, const std::vector<std::string>& worker_ids) {
  std::error_code ec;
  fs::create_directories(dir + (worker_ids.empty() ? "" : "/workers"), ec);
  if (ec) return Status::Error("cannot create " + dir + ": " + ec.message());
  std::string authorized =
      "# Public keys the broker accepts, one per line: ROLE Z85-KEY [LABEL]. Roles: worker "
      "(registers, holds\n# shards), client (data ops and status), admin (operator commands too). "
      "Lines starting with '#'\n# are comments. The broker re-reads this file when it changes.\n";
  auto pair = [&](const std::string& base, const char* role) -> Status {
    const CurveKeyPair p = make_key_pair();
    if (Status st = write_pair(dir + "/" + base, p); !st.ok()) return st;
    if (role != nullptr) authorized += std::string(role) + " " + p.public_key + " " + base + "\n";
    return Status::Ok();
  };
  for (auto [base, role] : {std::pair<const char*, const char*>{"broker", nullptr},
                            {"worker", "worker"},
                            {"client", "client"},
                            {"admin", "admin"}}) {
    if (Status st = pair(base, role); !st.ok()) return st;
  }
  for (const auto& id : worker_ids) {
    if (id.empty() || id.find('/') != std::string::npos || id[0] == '.')
      return Status::Error("bad worker id '" + id + "'");
    if (Status st = pair("workers/" + id, "worker"); !st.ok()) return st;
  }
  return write_new_file(dir + "/authorized_keys", authorized, 0644);
}

bool cluster_keys_present(const std::string& dir) {
  std::error_code ec;
  for (const char* name : {"broker.key", "broker.pub", "worker.key", "worker.pub", "client.key",
                           "client.pub", "admin.key", "admin.pub", "authorized_keys"}) {
    if (!fs::is_regular_file(dir + "/" + name, ec)) return false;
  }
  return true;
}

std::string cluster_keys_from_env() {
  const char* v = std::getenv("CLOSSYNE_CLUSTER_KEYS");
  return v != nullptr ? v : "";
}

}  // namespace clossyne
