// The broker's ZAP handler over real CURVE handshakes (tcp on loopback: inproc has no CURVE).
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>

#include "broker/zap_handler.hpp"

using namespace clossyne;
using namespace clossyne::broker;

namespace {

struct Server {
  zmq::context_t ctx;
  CurveKeyPair keys = make_key_pair();
  AuthorizedKeys authorized;
  std::optional<ZapHandler> zap;
  zmq::socket_t router{ctx, zmq::socket_type::router};
  std::string endpoint;

  Server(AuthorizedKeys auth, const char* domain) : authorized(std::move(auth)) {
    zap.emplace(ctx, "/nonexistent/authorized_keys", authorized);
    router.set(zmq::sockopt::linger, 0);
    set_curve_server(router, keys, domain);
    router.bind("tcp://127.0.0.1:*");
    endpoint = router.get(zmq::sockopt::last_endpoint);
  }

  // Serves ZAP and waits up to `ms` for one message; returns its role ("" for none), or nullopt.
  std::optional<std::string> receive(int ms) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
      zmq::pollitem_t items[] = {{router.handle(), 0, ZMQ_POLLIN, 0},
                                 {zap->socket().handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, std::chrono::milliseconds(20));
      zap->serve();
      zmq::message_t id, body;
      if (router.recv(id, zmq::recv_flags::dontwait)) {
        (void)router.recv(body);
        auto role = message_role(body);
        return role ? role_name(*role) : "";
      }
    }
    return std::nullopt;
  }
};

zmq::socket_t client(zmq::context_t& ctx, const Server& s, const std::optional<CurveKeyPair>& own) {
  zmq::socket_t d(ctx, zmq::socket_type::dealer);
  d.set(zmq::sockopt::linger, 0);
  if (own) set_curve_client(d, CurveClientKeys{*own, s.keys.public_key});
  d.connect(s.endpoint);
  d.send(zmq::str_buffer("hello"), zmq::send_flags::dontwait);
  return d;
}

}  // namespace

TEST_CASE("authorize: each socket takes only its roles") {
  const CurveKeyPair w = make_key_pair(), c = make_key_pair(), a = make_key_pair();
  AuthorizedKeys keys{{w.public_key, BusRole::kWorker},
                      {c.public_key, BusRole::kClient},
                      {a.public_key, BusRole::kAdmin}};
  CHECK(authorize(keys, kWorkersDomain, w.public_key) == BusRole::kWorker);
  CHECK_FALSE(authorize(keys, kWorkersDomain, c.public_key));
  CHECK_FALSE(authorize(keys, kWorkersDomain, a.public_key));
  CHECK(authorize(keys, kClientsDomain, c.public_key) == BusRole::kClient);
  CHECK(authorize(keys, kClientsDomain, a.public_key) == BusRole::kAdmin);
  CHECK_FALSE(authorize(keys, kClientsDomain, w.public_key));
  CHECK_FALSE(authorize(keys, kClientsDomain, make_key_pair().public_key));
  CHECK_FALSE(authorize(keys, "other", a.public_key));
}

TEST_CASE("ZAP handler: a listed key gets in with its role, others never reach the socket") {
  const CurveKeyPair c = make_key_pair(), a = make_key_pair(), w = make_key_pair();
  Server s({{c.public_key, BusRole::kClient},
            {a.public_key, BusRole::kAdmin},
            {w.public_key, BusRole::kWorker}},
           kClientsDomain);
  zmq::context_t cctx;
  {
    auto d = client(cctx, s, c);
    CHECK(s.receive(3000) == std::optional<std::string>("client"));
  }
  {
    auto d = client(cctx, s, a);
    CHECK(s.receive(3000) == std::optional<std::string>("admin"));
  }
  {
    auto d = client(cctx, s, make_key_pair());  // unknown key
    CHECK_FALSE(s.receive(500).has_value());
  }
  {
    auto d = client(cctx, s, w);  // a worker key on the clients socket
    CHECK_FALSE(s.receive(500).has_value());
  }
  {
    auto d = client(cctx, s, std::nullopt);  // no CURVE at all
    CHECK_FALSE(s.receive(500).has_value());
  }
  {
    auto d = client(cctx, s, c);  // the refusals broke nothing
    CHECK(s.receive(3000) == std::optional<std::string>("client"));
  }
}
