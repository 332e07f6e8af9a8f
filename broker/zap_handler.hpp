// ZapHandler: the broker's ZeroMQ authentication handler (ZAP, RFC 27) for CURVE handshakes. It
// serves a REP socket at inproc://zeromq.zap.01 from the broker's own poll loop (no thread): a
// client key is let in only if authorized_keys lists it for a role the socket takes (the workers
// socket: worker; the clients socket: client and admin), and its role becomes the connection's
// ZAP user id, which every message received on it carries as the "User-Id" property.
// authorized_keys is read again when it changes, so keys can be added and revoked live.
#pragma once
#include <ctime>
#include <optional>
#include <string>
#include <unordered_set>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/cluster_keys.hpp"

namespace clossyne::broker {

// ZAP domains of the broker's two server sockets.
inline constexpr const char* kClientsDomain = "clients";
inline constexpr const char* kWorkersDomain = "workers";

// The role a key gets on a socket of `domain`, or nullopt: refused.
std::optional<BusRole> authorize(const AuthorizedKeys& keys, const std::string& domain,
                                 const std::string& z85_key);

// The role a received message's connection was authenticated as (nullopt: no CURVE, or none).
std::optional<BusRole> message_role(const zmq::message_t& msg);

class ZapHandler {
 public:
  // Binds the handler. REQUIRES: before any CURVE server socket of `ctx` binds.
  ZapHandler(zmq::context_t& ctx, std::string authorized_path, AuthorizedKeys keys);
  zmq::socket_t& socket() { return socket_; }
  // Answers every request waiting on the socket (never blocks).
  void serve();

 private:
  void reload_if_changed();
  std::string answer(const std::string& domain, const std::string& address,
                     const std::string& mechanism, const zmq::message_t* key);

  zmq::socket_t socket_;
  std::string path_;
  AuthorizedKeys keys_;
  timespec mtime_{};
  std::unordered_set<std::string> logged_;  // refusals already logged (a refused peer retries)
};

}  // namespace clossyne::broker
