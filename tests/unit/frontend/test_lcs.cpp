// LCS: option parsing, the computation against the examples of Redis's LCS documentation, and
// the job that fetches both values.
#include <catch2/catch.hpp>

#include "frontend/commands.hpp"
#include "frontend/lcs.hpp"

using namespace clossyne;
using namespace clossyne::frontend;

namespace {

LcsOptions opts(std::vector<std::string> words) {
  std::vector<std::string> args = {"LCS", "a", "b"};
  args.insert(args.end(), words.begin(), words.end());
  LcsOptions o;
  REQUIRE_FALSE(parse_lcs_options(args, o).has_value());
  return o;
}

std::string parse_error(std::vector<std::string> words) {
  std::vector<std::string> args = {"LCS", "a", "b"};
  args.insert(args.end(), words.begin(), words.end());
  LcsOptions o;
  return parse_lcs_options(args, o).value_or("");
}

}  // namespace

TEST_CASE("LCS options are parsed as Redis 7's lcsCommand") {
  CHECK(opts({}).len == false);
  CHECK(opts({"len"}).len);
  CHECK(opts({"IDX", "WITHMATCHLEN"}).with_match_len);
  CHECK(opts({"IDX", "MINMATCHLEN", "4"}).min_match_len == 4);
  CHECK(opts({"IDX", "MINMATCHLEN", "-3"}).min_match_len == 0);
  CHECK(parse_error({"LEN", "IDX"}) ==
        "If you want both the length and indexes, please just use IDX.");
  CHECK(parse_error({"MINMATCHLEN"}) == "syntax error");
  CHECK(parse_error({"MINMATCHLEN", "x"}) == "value is not an integer or out of range");
  CHECK(parse_error({"FOO"}) == "syntax error");
}

TEST_CASE("LCS plain and LEN") {
  CHECK(lcs_reply("ohmytext", "mynewtext", {}) == "$6\r\nmytext\r\n");
  CHECK(lcs_reply("ohmytext", "mynewtext", opts({"LEN"})) == ":6\r\n");
  CHECK(lcs_reply("", "", {}) == "$0\r\n\r\n");
  CHECK(lcs_reply("abc", "", opts({"LEN"})) == ":0\r\n");
  CHECK(lcs_reply("foo", "fao", {}) == "$2\r\nfo\r\n");
  CHECK(lcs_reply("abc", "xyz", {}) == "$0\r\n\r\n");
}

TEST_CASE("LCS IDX gives the ranges from the last, with MINMATCHLEN and WITHMATCHLEN") {
  // The documentation's example: "text" (4-7 / 5-8) then "my" (2-3 / 0-1).
  CHECK(lcs_reply("ohmytext", "mynewtext", opts({"IDX"})) ==
        "*4\r\n$7\r\nmatches\r\n*2\r\n"
        "*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
        "*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n"
        "$3\r\nlen\r\n:6\r\n");
  CHECK(lcs_reply("ohmytext", "mynewtext", opts({"IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"})) ==
        "*4\r\n$7\r\nmatches\r\n*1\r\n"
        "*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
        "$3\r\nlen\r\n:6\r\n");
  CHECK(lcs_reply("abc", "xyz", opts({"IDX"})) ==
        "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n");
}

TEST_CASE("LCS of longer strings: LEN agrees with the plain reply") {
  std::string a, b;
  for (int i = 0; i < 300; ++i) a.push_back("ACGT"[(i * 7 + i / 3) % 4]);
  b = a.substr(150) + "TTTT" + a.substr(0, 100);
  const std::string len = lcs_reply(a, b, opts({"LEN"}));
  REQUIRE(len.front() == ':');
  const long n = std::stol(len.substr(1));
  CHECK(n >= 150);  // a's last 150 bytes are b's first
  const std::string head = std::string(1, '$').append(std::to_string(n)).append("\r\n");
  CHECK(lcs_reply(a, b, {}).rfind(head, 0) == 0);
  CHECK(lcs_reply(a, a, opts({"LEN"})) == ":300\r\n");
  // One contiguous match of the whole string.
  CHECK(lcs_reply(a, a, opts({"IDX", "WITHMATCHLEN"})) ==
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:299\r\n*2\r\n:0\r\n:299\r\n:300\r\n"
        "$3\r\nlen\r\n:300\r\n");
}

TEST_CASE("LCS is a job that fetches both values with one MGET") {
  ClientState client;
  ServerInfo server;
  CursorTable cursors;
  CommandContext ctx{client, server, cursors};
  Request r;
  r.args = {"LCS", "k1", "k2", "IDX", "WITHMATCHLEN"};
  Action a = handle_request(r, ctx);
  REQUIRE(a.kind == Action::Kind::kJob);
  JobStep s = a.job->start();
  CHECK(s.op.op == "mget");
  CHECK(s.op.keys == std::vector<std::string>{"k1", "k2"});
  Reply values;
  values.values = std::vector<std::optional<std::string>>{"ohmytext", std::nullopt};
  s = a.job->on_reply(values);
  REQUIRE(s.done);
  CHECK(s.reply == "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n");

  Request bad;
  bad.args = {"LCS", "k1", "k2", "LEN", "IDX"};
  Action e = handle_request(bad, ctx);
  REQUIRE(e.kind == Action::Kind::kLocal);
  CHECK(e.bytes == "-ERR If you want both the length and indexes, please just use IDX.\r\n");

  Request plain;
  plain.args = {"lcs", "k1", "k2"};
  Action p = handle_request(plain, ctx);
  p.job->start();
  values.values = std::vector<std::optional<std::string>>{"ohmytext", "mynewtext"};
  CHECK(p.job->on_reply(values).reply == "$6\r\nmytext\r\n");
  CHECK(p.job->on_reply(Reply::Error(1, "ERR cluster not ready")).reply ==
        "-ERR cluster not ready\r\n");
}
