// INFO commandstats/latencystats lines, the slow log, CONFIG SET and CLIENT LIST's line, each
// compared with what redis-server 7.0.15 prints.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "frontend/command_stats.hpp"
#include "frontend/config_table.hpp"
#include "frontend/latency_command.hpp"
#include "frontend/local_commands.hpp"
#include "frontend/slowlog.hpp"

using namespace clossyne::frontend;

TEST_CASE("commandstats and latencystats lines read as Redis 7 prints them") {
  CommandStats stats;
  CommandStats::Entry& get = stats.entry("get", {"GET", "k"});
  CommandStats::record(get, 6, false);
  CommandStats::record(get, 8, true);
  CommandStats::reject(stats.entry("set", {"SET"}));
  CHECK(&stats.entry("get", {"get", "other"}) == &get);
  CHECK(stats.entry("client", {"CLIENT", "LIST"}).name == "client|list");
  CHECK(format_commandstats(stats) ==
        "cmdstat_get:calls=2,usec=14,usec_per_call=7.00,rejected_calls=0,failed_calls=1\r\n"
        "cmdstat_set:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n");
  CHECK(format_latencystats(stats) ==
        "latency_percentiles_usec_get:p50=6.000,p99=8.000,p99.9=8.000\r\n");
  CHECK(stats.totals().calls == 2);
  stats.reset();
  CHECK(format_commandstats(stats).empty());
  CHECK(stats.entry("get", {"GET"}).name == "get");
}

TEST_CASE("slow log cuts arguments as Redis does and keeps the newest entries") {
  std::vector<std::string> many(40, "a");
  many[0] = std::string(130, 'x');
  const auto cut = SlowLog::cut_args(many);
  REQUIRE(cut.size() == 32);
  CHECK(cut[0] == std::string(128, 'x') + "... (2 more bytes)");
  CHECK(cut[31] == "... (9 more arguments)");
  SlowLog log;
  log.max_len = 2;
  CHECK(log.is_slow(10000));
  CHECK_FALSE(log.is_slow(9999));
  for (int i = 0; i < 3; ++i) log.add({"GET", std::to_string(i)}, 20000, "1.2.3.4:5", "n", 1700);
  CHECK(log.size() == 2);
  CHECK(log.entries().front().id == 2);
  CHECK(slowlog_command(log, {"SLOWLOG", "LEN"}) == ":2\r\n");
  CHECK(slowlog_command(log, {"slowlog", "get", "1"}) ==
        "*1\r\n*6\r\n:2\r\n:1700\r\n:20000\r\n*2\r\n$3\r\nGET\r\n$1\r\n2\r\n$9\r\n1.2.3.4:5\r\n$"
        "1\r\nn\r\n");
  CHECK(slowlog_command(log, {"SLOWLOG", "GET", "-2"}) ==
        "-ERR count should be greater than or equal to -1\r\n");
  CHECK(slowlog_command(log, {"SLOWLOG", "foo"}) ==
        "-ERR unknown subcommand 'foo'. Try SLOWLOG HELP.\r\n");
  CHECK(slowlog_command(log, {"SLOWLOG", "RESET"}) == "+OK\r\n");
  CHECK(log.size() == 0);
  log.slower_than_us = -1;
  CHECK_FALSE(log.is_slow(1u << 30));
}

TEST_CASE("CONFIG SET changes run-time settings all or none, with Redis's errors") {
  ServerInfo info;
  CHECK(config_set_reply(info, {"config", "set", "timeout", "5", "maxclients", "50"}) == "+OK\r\n");
  CHECK(info.timeout_s == 5);
  CHECK(info.max_clients == 50);
  CHECK(config_set_reply(info, {"config", "set", "SLOWLOG-MAX-LEN", "7"}) == "+OK\r\n");
  CHECK(info.slowlog_max_len == 7);
  CHECK(config_set_reply(info, {"config", "set", "timeout", "1", "slowlog-max-len", "x"}) ==
        "-ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument "
        "couldn't be parsed into an integer\r\n");
  CHECK(info.timeout_s == 5);  // nothing applied
  CHECK(config_set_reply(info, {"config", "set", "timeout", "-5"}) ==
        "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be "
        "between 0 and 2147483647 inclusive\r\n");
  CHECK(config_set_reply(info, {"config", "set", "nosuch", "1"}) ==
        "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n");
  CHECK(config_set_reply(info, {"config", "set", "port", "1"}) ==
        "-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable "
        "config\r\n");
  CHECK(config_set_reply(info, {"config", "set", "timeout", "1", "timeout", "2"}) ==
        "-ERR CONFIG SET failed (possibly related to argument 'timeout') - duplicate "
        "parameter\r\n");
  CHECK(config_set_reply(info, {"config", "set", "timeout", "1", "maxclients"}) ==
        "-ERR syntax error\r\n");
  CHECK(config_get_reply(info, {"slowlog-max-len"}) ==
        "*2\r\n$15\r\nslowlog-max-len\r\n$1\r\n7\r\n");
}

TEST_CASE("CLIENT LIST line has Redis 7.0's fields in its order") {
  ClientState c;
  c.id = 7;
  c.addr = "127.0.0.1:54080";
  c.laddr = "127.0.0.1:4297";
  c.fd = 8;
  c.created_ms = 1000;
  c.last_ms = 3000;
  c.last_cmd = "client|list";
  ClientFigures f;
  f.qbuf = 26;
  f.qbuf_free = 20448;
  f.tot_mem = 1234;
  const std::string line = client_info_line(c, f, 5000);
  CHECK(line ==
        "id=7 addr=127.0.0.1:54080 laddr=127.0.0.1:4297 fd=8 name= age=4 idle=2 flags=N db=0 "
        "sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=0 multi-mem=0 rbs=20474 "
        "rbp=26 obl=0 oll=0 omem=0 tot-mem=1234 events=r cmd=client|list user=default redir=-1 "
        "resp=2");
}

TEST_CASE("LATENCY HISTOGRAM gives calls and cumulative counts at powers of two, as Redis 7") {
  CommandStats stats;
  CommandStats::Entry& get = stats.entry("get", {"GET"});
  CommandStats::record(get, 6, false);    // <= 8
  CommandStats::record(get, 7, false);    // <= 8
  CommandStats::record(get, 100, false);  // <= 128
  CommandStats::record(stats.entry("set", {"SET"}), 16, false);
  CHECK(latency_command(stats, {"LATENCY", "HISTOGRAM", "GET"}) ==
        "*2\r\n$3\r\nget\r\n*4\r\n$5\r\ncalls\r\n:3\r\n$14\r\nhistogram_usec\r\n"
        "*4\r\n:8\r\n:2\r\n:128\r\n:3\r\n");
  CHECK(latency_command(stats, {"latency", "histogram"}).rfind("*4\r\n$3\r\nget\r\n", 0) == 0);
  CHECK(latency_command(stats, {"LATENCY", "HISTOGRAM", "nosuch"}) == "*0\r\n");
  CHECK(latency_command(stats, {"LATENCY", "LATEST"}) == "*0\r\n");
  CHECK(latency_command(stats, {"LATENCY", "RESET"}) == ":0\r\n");
  CHECK(latency_command(stats, {"LATENCY", "foo"}) ==
        "-ERR unknown subcommand 'foo'. Try LATENCY HELP.\r\n");
}

TEST_CASE("slow log redacts passwords as Redis 7 does") {
  using V = std::vector<std::string>;
  CHECK(SlowLog::cut_args({"AUTH", "foo"}) == V{"AUTH", "(redacted)"});
  CHECK(SlowLog::cut_args({"auth", "user", "pw"}) == V{"auth", "(redacted)", "(redacted)"});
  CHECK(SlowLog::cut_args({"hello", "2", "auth", "default", "bar", "setname", "n"}) ==
        V{"hello", "2", "auth", "(redacted)", "(redacted)", "setname", "n"});
  CHECK(SlowLog::cut_args({"acl", "setuser", "bob", "on", ">secret"}) ==
        V{"acl", "setuser", "(redacted)", "(redacted)", "(redacted)"});
  CHECK(SlowLog::cut_args({"config", "set", "timeout", "1", "requirepass", "x"}) ==
        V{"config", "set", "timeout", "1", "requirepass", "(redacted)"});
  CHECK(SlowLog::cut_args({"GET", "auth"}) == V{"GET", "auth"});
  CHECK(SlowLog::cut_args({"hello", "2", "auth"}) == V{"hello", "2", "auth"});
}
