// HttpServer (GET of published pages, 404, 405, a taken port) and MetricsText (the text format).
#include <httplib.h>

#include <catch2/catch.hpp>

#include "common/http_server.hpp"
#include "common/metrics_text.hpp"

using namespace clossyne;

TEST_CASE("host and port are parsed, and malformed ones refused", "[http]") {
  std::string host;
  int port = -1;
  REQUIRE(parse_host_port("127.0.0.1:9100", host, port));
  CHECK(host == "127.0.0.1");
  CHECK(port == 9100);
  REQUIRE(parse_host_port("[::1]:80", host, port));
  CHECK(host == "::1");
  CHECK_FALSE(parse_host_port("9100", host, port));
  CHECK_FALSE(parse_host_port("host:", host, port));
  CHECK_FALSE(parse_host_port("host:70000", host, port));
  CHECK_FALSE(parse_host_port("host:9x", host, port));
  CHECK_FALSE(parse_host_port(":9100", host, port));
}

TEST_CASE("published pages are served, others are 404 and other methods 405", "[http]") {
  HttpServer server;
  REQUIRE(server.start("127.0.0.1:0").ok());
  REQUIRE(server.port() > 0);
  server.publish("/metrics", {"text/plain; version=0.0.4", "a 1\n"});
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(5, 0);
  auto res = client.Get("/metrics");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body == "a 1\n");
  CHECK(res->get_header_value("Content-Type") == "text/plain; version=0.0.4");
  server.publish("/metrics", {"text/plain; version=0.0.4", "a 2\n"});
  res = client.Get("/metrics");
  REQUIRE(res);
  CHECK(res->body == "a 2\n");
  res = client.Get("/nothing");
  REQUIRE(res);
  CHECK(res->status == 404);
  res = client.Post("/metrics", "x", "text/plain");
  REQUIRE(res);
  CHECK(res->status == 405);
  server.stop();
}

TEST_CASE("a taken port or a malformed address is a clear error", "[http]") {
  HttpServer first;
  REQUIRE(first.start("127.0.0.1:0").ok());
  HttpServer second;
  Status st = second.start("127.0.0.1:" + std::to_string(first.port()));
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("cannot listen") != std::string::npos);
  st = second.start("nonsense");
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("malformed") != std::string::npos);
}

TEST_CASE("metrics text has HELP and TYPE lines and escaped labels", "[metrics]") {
  MetricsText m;
  m.family("clossyne_ops_total", "counter", "ops\\done\nhere");
  m.sample("clossyne_ops_total", {{"op", "g\"e\\t\n"}}, 3);
  m.gauge("clossyne_up", "up", 1.5);
  CHECK(m.text() ==
        "# HELP clossyne_ops_total ops\\\\done\\nhere\n# TYPE clossyne_ops_total counter\n"
        "clossyne_ops_total{op=\"g\\\"e\\\\t\\n\"} 3\n"
        "# HELP clossyne_up up\n# TYPE clossyne_up gauge\nclossyne_up 1.5\n");
}

TEST_CASE("a histogram has cumulative buckets, +Inf, sum and count", "[metrics]") {
  MetricsText m;
  m.family("lat_seconds", "histogram", "latency");
  m.histogram("lat_seconds", {{"op", "get"}}, {{0.001, 2}, {0.002, 5}}, 6, 0.25);
  CHECK(m.text() ==
        "# HELP lat_seconds latency\n# TYPE lat_seconds histogram\n"
        "lat_seconds_bucket{op=\"get\",le=\"0.001\"} 2\n"
        "lat_seconds_bucket{op=\"get\",le=\"0.002\"} 5\n"
        "lat_seconds_bucket{op=\"get\",le=\"+Inf\"} 6\n"
        "lat_seconds_sum{op=\"get\"} 0.25\nlat_seconds_count{op=\"get\"} 6\n");
  CHECK(MetricsText::format_value(1.0 / 0.0) == "+Inf");
  CHECK(MetricsText::format_value(12345678901) == "12345678901");
}
