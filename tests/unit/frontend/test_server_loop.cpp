// The event loop end to end: a Server in a thread, a fake broker (a ROUTER answering set/get/del
// from a std::map, batches included) and plain TCP clients. Every wait is bounded.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <thread>
#include <zmq.hpp>

#include "common/clock.hpp"
#include "common/envelope.hpp"
#include "common/frames.hpp"
#include "frontend/server.hpp"

using namespace clossyne;
using namespace clossyne::frontend;

namespace {

class FakeBroker {
 public:
  explicit FakeBroker(bool answer) : router_(ctx_, zmq::socket_type::router), answer_(answer) {
    router_.set(zmq::sockopt::linger, 0);
    router_.bind("tcp://127.0.0.1:*");
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeBroker() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }
  int batches() const { return batches_; }

 private:
  void loop() {
    while (!stop_) {
      zmq::pollitem_t item{router_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(20));
      while (auto msg = recv_routed(router_)) handle(*msg);
    }
  }
  void handle(RoutedMessage& msg) {
    Op op;
    if (!decode(std::string_view(msg.body.data<char>(), msg.body.size()), op).ok() || !answer_)
      return;
    Reply reply;
    if (op.op == "batch") {
      ++batches_;
      reply.id = op.id;
      reply.is_batch = true;
      for (const auto& sub : op.batch) reply.replies.push_back(apply(sub));
    } else {
      reply = apply(op);
    }
    send_routed(router_, msg.identity, msg.delimiter, encode(reply));
  }
  Reply apply(const Op& op) {
    Reply r;
    r.id = op.id;
    if (op.op == "set") {
      data_[*op.key] = *op.value;
    } else if (op.op == "get") {
      r.has_value = true;
      if (auto it = data_.find(*op.key); it != data_.end()) r.value = it->second;
    } else if (op.op == "del") {
      r.n = 0;
      for (const auto& k : op.keys) *r.n += static_cast<int64_t>(data_.erase(k));
    } else {
      return Reply::Error(op.id, "unsupported op " + op.op);
    }
    return r;
  }

  zmq::context_t ctx_;
  zmq::socket_t router_;
  bool answer_;
  std::string endpoint_;
  std::map<std::string, std::string> data_;
  std::atomic<bool> stop_{false};
  std::atomic<int> batches_{0};
  std::thread thread_;
};

// Runs a Server on a free port in a thread for the lifetime of the object.
class RunningServer {
 public:
  explicit RunningServer(ServerConfig cfg) : server_(std::move(cfg)) {
    auto st = server_.start();
    REQUIRE(st.ok());
    thread_ = std::thread([this] { server_.run(); });
  }
  ~RunningServer() {
    server_.stop();
    thread_.join();
  }
  uint16_t port() const { return server_.port(); }

 private:
  Server server_;
  std::thread thread_;
};

ServerConfig config(const std::string& broker, int timeout_ms = 2000) {
  ServerConfig cfg;
  cfg.port = 0;
  cfg.broker = broker;
  cfg.request_timeout_ms = timeout_ms;
  return cfg;
}

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    REQUIRE(n > 0);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Reads until `want` bytes arrived, the peer closed, or `timeout_ms` passed.
std::string read_bytes(int fd, std::size_t want, int timeout_ms = 5000, bool* closed = nullptr) {
  std::string got;
  const int64_t deadline = now_ms() + timeout_ms;
  while (got.size() < want && now_ms() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (closed != nullptr) *closed = true;
      break;
    }
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

// ZMQ_IMMEDIATE refuses requests until the DEALER has connected: wait for that (bounded).
void wait_for_broker(int fd) {
  const int64_t deadline = now_ms() + 5000;
  while (now_ms() < deadline) {
    send_all(fd, "GET probe\r\n");
    if (read_bytes(fd, 5) == "$-1\r\n") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("the frontend never connected to the fake broker");
}

uint16_t unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

TEST_CASE("a mixed pipeline is answered in order with exact bytes") {
  FakeBroker broker(true);
  RunningServer server(config(broker.endpoint()));
  const int fd = connect_to(server.port());
  wait_for_broker(fd);
  send_all(fd,
           "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"
           "GET k\r\n"
           "PING\r\n"
           "SET:s value with spaces\r\n"
           "bogus a\r\n"
           "*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"
           "GET:s");
  const std::string want =
      "+OK\r\n$5\r\nhello\r\n+PONG\r\nOK\r\n"
      "-ERR unknown command 'bogus', with args beginning with: 'a' \r\n"
      ":1\r\nvalue with spaces";
  CHECK(read_bytes(fd, want.size()) == want);
  CHECK(broker.batches() >= 1);  // the turn's cluster ops went together
  ::close(fd);
}

TEST_CASE("many pipelined requests keep their order across batches") {
  FakeBroker broker(true);
  RunningServer server(config(broker.endpoint()));
  const int fd = connect_to(server.port());
  wait_for_broker(fd);
  std::string req, want;
  for (int i = 0; i < 3000; ++i) {
    const std::string v = std::to_string(i);
    req += "SET k" + v + " " + v + "\r\nGET k" + v + "\r\n";
    want += "+OK\r\n$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
  }
  send_all(fd, req);
  CHECK(read_bytes(fd, want.size(), 10000) == want);
  ::close(fd);
}

TEST_CASE("QUIT answers then closes and so do protocol errors") {
  FakeBroker broker(true);
  RunningServer server(config(broker.endpoint()));
  int fd = connect_to(server.port());
  send_all(fd, "QUIT\r\nPING\r\n");
  bool closed = false;
  CHECK(read_bytes(fd, 100, 3000, &closed) == "+OK\r\n");
  CHECK(closed);
  ::close(fd);
  fd = connect_to(server.port());
  send_all(fd, "*1\r\n$x\r\n");
  closed = false;
  CHECK(read_bytes(fd, 100, 3000, &closed) == "-ERR Protocol error: invalid bulk length\r\n");
  CHECK(closed);
  ::close(fd);
}

TEST_CASE("without a broker a request fails fast") {
  RunningServer server(config("tcp://127.0.0.1:" + std::to_string(unused_port()), 500));
  const int fd = connect_to(server.port());
  const int64_t start = now_ms();
  send_all(fd, "GET k\r\nGET:k");
  const std::string want =
      "-ERR cluster unavailable: no broker connection\r\n"
      "-ERR cluster unavailable: no broker connection";
  CHECK(read_bytes(fd, want.size(), 3000) == want);
  CHECK(now_ms() - start < 2000);
  ::close(fd);
}

TEST_CASE("a broker that never answers gives a timeout error") {
  FakeBroker silent(false);
  RunningServer server(config(silent.endpoint(), 500));
  const int fd = connect_to(server.port());
  const std::string want = "-ERR timeout waiting for the cluster\r\n";
  const int64_t deadline = now_ms() + 5000;
  std::string got;
  while (now_ms() < deadline) {  // until the DEALER has connected, requests fail fast instead
    send_all(fd, "GET k\r\n");
    got.clear();
    const int64_t line_deadline = now_ms() + 3000;
    while (!got.ends_with("\r\n") && now_ms() < line_deadline) got += read_bytes(fd, 1, 100);
    if (!got.starts_with("-ERR cluster unavailable")) break;
  }
  CHECK(got == want);
  ::close(fd);
}

TEST_CASE("clients beyond --max-clients are refused") {
  FakeBroker broker(true);
  ServerConfig cfg = config(broker.endpoint());
  cfg.max_clients = 1;
  RunningServer server(cfg);
  const int first = connect_to(server.port());
  send_all(first, "PING\r\n");
  CHECK(read_bytes(first, 7) == "+PONG\r\n");
  const int second = connect_to(server.port());
  CHECK(read_bytes(second, 100, 3000) == "-ERR max number of clients reached\r\n");
  ::close(second);
  ::close(first);
}

TEST_CASE("the loop frames seed requests with no line ending by a pause (timerfd), whole") {
  FakeBroker broker(true);
  ServerConfig cfg = config(broker.endpoint());
  cfg.seed.pause_us = 200'000;  // long, so the two paths are far apart in time
  cfg.max_value_bytes = 1'000'000;
  RunningServer server(cfg);
  const int fd = connect_to(server.port());
  wait_for_broker(fd);

  // A small request read in one piece: answered after the short pause, not the long one.
  int64_t t0 = now_ms();
  send_all(fd, "SET:small v");
  CHECK(read_bytes(fd, 2) == "OK");
  CHECK(now_ms() - t0 < 150);

  // 300 KB in 6 bursts 20 ms apart: one request, whole, answered only after the pause.
  std::string value(300'000, 'v');
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>('a' + i % 23);
  const std::string req = "SET:big " + value;
  t0 = now_ms();
  for (std::size_t off = 0; off < req.size(); off += 50'001) {
    if (off > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    send_all(fd, std::string_view(req).substr(off, 50'001));
  }
  const int64_t sent = now_ms();
  CHECK(read_bytes(fd, 2) == "OK");
  CHECK(now_ms() - sent >= 199);          // the pause after the last byte was waited for
  CHECK(read_bytes(fd, 1, 100).empty());  // one request, one reply
  send_all(fd, "GET:big\n");
  CHECK(read_bytes(fd, value.size() + 1) == value + "\n");

  // Over --max-value-bytes: refused whole after its end, nothing stored, the connection goes on.
  send_all(fd, "SET:huge " + std::string(3'000'000, 'h'));
  const std::string want =
      "-ERR value larger than max-value-bytes (1000000 bytes): refused, nothing stored";
  CHECK(read_bytes(fd, want.size()) == want);
  send_all(fd, "GET:huge\r\n");
  CHECK(read_bytes(fd, 4) == "NS\r\n");
  ::close(fd);
}
