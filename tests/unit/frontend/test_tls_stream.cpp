// TlsStream over a socketpair, both ends non-blocking: the handshake happens inside recv() without
// blocking, data crosses both ways, bytes decrypted but not yet read are reported by pending()
// (epoll cannot see them), the peer's close is an EOF, and plain text fails that stream only.
// The certificates are made with the openssl CLI (skipped when it is missing).
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "frontend/tls_context.hpp"
#include "frontend/tls_stream.hpp"

using namespace clossyne::frontend;

namespace {

// A self-signed server certificate in a fresh temp dir; empty when openssl is unavailable.
std::string make_cert_dir() {
  char tmpl[] = "/tmp/clossyne-tls-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return {};
  const std::string dir = tmpl;
  const std::string cmd = "cd " + dir +
                          " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                          "-nodes -keyout server.key -out server.crt -days 1 -subj /CN=localhost "
                          ">/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return {};
  return dir;
}

struct Pair {
  int fds[2] = {-1, -1};
  Pair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0); }
  ~Pair() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
};

struct Client {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = nullptr;
  explicit Client(int fd) {
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_connect_state(ssl);
  }
  ~Client() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
};

}  // namespace

TEST_CASE("TLS stream: non-blocking handshake, data both ways, pending input, EOF") {
  const std::string dir = make_cert_dir();
  if (dir.empty()) {
    WARN("openssl CLI unavailable: skipped");
    return;
  }
  TlsConfig cfg;
  cfg.enabled = true;
  cfg.cert_file = dir + "/server.crt";
  cfg.key_file = dir + "/server.key";
  cfg.auth_clients = TlsClientAuth::kNo;
  std::unique_ptr<TlsContext> ctx;
  const auto st = TlsContext::create(cfg, ctx);
  REQUIRE(st.ok());
  CHECK(ctx->subject() == "CN=localhost");

  Pair p;
  TlsStream server(ctx->get(), p.fds[0]);
  REQUIRE(server.ok());
  Client client(p.fds[1]);
  char buf[64];
  // A reply before the client's hello (protected mode's refusal, say) waits for the socket to be
  // readable, not writable: the loop must not be woken by a writable socket meanwhile.
  CHECK(server.send("-ERR x\r\n", 8) == -1);
  CHECK(errno == EAGAIN);
  CHECK(server.write_wants_read());
  // Each side steps until the handshake is done; neither call ever blocks.
  bool done = false;
  for (int i = 0; i < 50 && !done; ++i) {
    SSL_do_handshake(client.ssl);
    const ssize_t n = server.recv(buf, sizeof buf);
    REQUIRE(n == -1);
    REQUIRE(errno == EAGAIN);
    done = server.handshake_done() && SSL_is_init_finished(client.ssl);
  }
  REQUIRE(done);
  CHECK(server.describe().rfind("TLSv1.3", 0) == 0);

  // One 16 KiB record read through a 64-byte buffer: the rest waits inside OpenSSL.
  const std::string big(16000, 'x');
  REQUIRE(SSL_write(client.ssl, big.data(), static_cast<int>(big.size())) ==
          static_cast<int>(big.size()));
  std::string got;
  ssize_t n = server.recv(buf, sizeof buf);
  REQUIRE(n == static_cast<ssize_t>(sizeof buf));
  got.append(buf, static_cast<std::size_t>(n));
  CHECK(server.pending());
  while ((n = server.recv(buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  CHECK(got == big);
  CHECK_FALSE(server.pending());

  REQUIRE(server.send("+PONG\r\n", 7) == 7);
  char reply[16] = {};
  int r = -1;
  for (int i = 0; i < 50 && r <= 0; ++i) r = SSL_read(client.ssl, reply, sizeof reply);
  CHECK(std::string(reply, r > 0 ? static_cast<std::size_t>(r) : 0) == "+PONG\r\n");

  SSL_shutdown(client.ssl);  // close_notify
  CHECK(server.recv(buf, sizeof buf) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("TLS stream: a partial client hello waits for the socket, not in a loop") {
  const std::string dir = make_cert_dir();
  if (dir.empty()) {
    WARN("openssl CLI unavailable: skipped");
    return;
  }
  TlsConfig cfg;
  cfg.enabled = true;
  cfg.cert_file = dir + "/server.crt";
  cfg.key_file = dir + "/server.key";
  cfg.auth_clients = TlsClientAuth::kNo;
  std::unique_ptr<TlsContext> ctx;
  REQUIRE(TlsContext::create(cfg, ctx).ok());
  Pair p;
  TlsStream server(ctx->get(), p.fds[0]);
  // A handshake record header announcing 512 bytes, and one of them.
  const char partial[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
  REQUIRE(::write(p.fds[1], partial, sizeof partial) == static_cast<ssize_t>(sizeof partial));
  char buf[64];
  CHECK(server.recv(buf, sizeof buf) == -1);
  CHECK(errno == EAGAIN);
  CHECK_FALSE(server.pending());  // nothing to read until the socket has more
  CHECK_FALSE(server.handshake_done());
  CHECK_FALSE(server.read_wants_write());
  std::filesystem::remove_all(dir);
}

TEST_CASE("TLS stream: plain text fails that stream with a handshake error") {
  const std::string dir = make_cert_dir();
  if (dir.empty()) {
    WARN("openssl CLI unavailable: skipped");
    return;
  }
  TlsConfig cfg;
  cfg.enabled = true;
  cfg.cert_file = dir + "/server.crt";
  cfg.key_file = dir + "/server.key";
  cfg.auth_clients = TlsClientAuth::kNo;
  std::unique_ptr<TlsContext> ctx;
  REQUIRE(TlsContext::create(cfg, ctx).ok());
  Pair p;
  TlsStream server(ctx->get(), p.fds[0]);
  const std::string ping = "*1\r\n$4\r\nPING\r\n";
  REQUIRE(::write(p.fds[1], ping.data(), ping.size()) == static_cast<ssize_t>(ping.size()));
  char buf[64];
  CHECK(server.recv(buf, sizeof buf) == -1);
  CHECK(errno != EAGAIN);
  CHECK(server.error().rfind("handshake failed", 0) == 0);
  CHECK_FALSE(server.handshake_done());
  CHECK(server.recv(buf, sizeof buf) == -1);  // stays failed
  std::filesystem::remove_all(dir);
}
