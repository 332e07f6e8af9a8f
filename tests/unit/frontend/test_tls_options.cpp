// The client-port flags (--port, --tls-*): defaults unchanged without them, and settings that
// cannot work are a usage error at start, not a surprise at the first client.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "frontend/options.hpp"
#include "frontend/tls_context.hpp"

using namespace clossyne::frontend;

namespace {

int parse(std::vector<std::string> args, Options& out) {
  args.insert(args.begin(), "clossyne-frontend");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_options(static_cast<int>(argv.size()), argv.data(), out);
}

}  // namespace

TEST_CASE("without TLS flags the plain port is on and TLS off") {
  Options o;
  REQUIRE(parse({"--listen", "127.0.0.1:5000"}, o) == -1);
  CHECK(o.server.plain_port);
  CHECK(o.server.port == 5000);
  CHECK_FALSE(o.server.tls.enabled);
}

TEST_CASE("options: --port overrides the port of --listen and 0 turns the plain port off") {
  Options o;
  REQUIRE(parse({"--listen", "127.0.0.1:5000", "--port", "6000"}, o) == -1);
  CHECK(o.server.port == 6000);
  CHECK(o.server.plain_port);
  Options off;
  REQUIRE(parse({"--port", "0", "--tls-port", "6380", "--tls-cert-file", "c.pem", "--tls-key-file",
                 "k.pem", "--tls-auth-clients", "no"},
                off) == -1);
  CHECK_FALSE(off.server.plain_port);
  CHECK(off.server.tls.enabled);
  CHECK(off.server.tls.port == 6380);
  CHECK(off.server.tls.auth_clients == TlsClientAuth::kNo);
}

TEST_CASE("options: --port 0 without a TLS port is a usage error") {
  Options o;
  CHECK(parse({"--port", "0"}, o) == 2);
}

TEST_CASE("a TLS port without a certificate and key is a usage error") {
  Options o;
  CHECK(parse({"--tls-port", "6380"}, o) == 2);
  CHECK(parse({"--tls-port", "6380", "--tls-cert-file", "c.pem"}, o) == 2);
  CHECK(parse({"--tls-port", "6380", "--tls-key-file", "k.pem"}, o) == 2);
}

TEST_CASE("client certificates required or optional need a CA file, as in Redis") {
  Options o;
  const std::vector<std::string> base = {"--tls-port", "6380",           "--tls-cert-file",
                                         "c.pem",      "--tls-key-file", "k.pem"};
  CHECK(parse(base, o) == 2);  // Redis's default: tls-auth-clients yes
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    Options out;
    const int rc = parse(args, out);
    return std::make_pair(rc, out.server.tls.auth_clients);
  };
  CHECK(with({"--tls-auth-clients", "optional"}).first == 2);
  CHECK(with({"--tls-auth-clients", "yes", "--tls-ca-cert-file", "ca.pem"}) ==
        std::make_pair(-1, TlsClientAuth::kYes));
  CHECK(with({"--tls-auth-clients", "optional", "--tls-ca-cert-file", "ca.pem"}) ==
        std::make_pair(-1, TlsClientAuth::kOptional));
  CHECK(with({"--tls-auth-clients", "maybe", "--tls-ca-cert-file", "ca.pem"}).first != -1);
}

TEST_CASE("certificate files without a TLS port are a usage error") {
  Options o;
  CHECK(parse({"--tls-cert-file", "c.pem", "--tls-key-file", "k.pem"}, o) == 2);
}

TEST_CASE("a TLS context names the file it cannot load") {
  TlsConfig cfg;
  cfg.enabled = true;
  cfg.cert_file = "/nonexistent/server.crt";
  cfg.key_file = "/nonexistent/server.key";
  cfg.auth_clients = TlsClientAuth::kNo;
  std::unique_ptr<TlsContext> ctx;
  const auto st = TlsContext::create(cfg, ctx);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find("/nonexistent/server.crt") != std::string::npos);
  CHECK(ctx == nullptr);
  cfg.cert_file.clear();
  CHECK(TlsContext::create(cfg, ctx).message().find("--tls-cert-file") != std::string::npos);
}
