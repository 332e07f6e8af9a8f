#include <catch2/catch.hpp>

#include "frontend/inline_split.hpp"
#include "parse_helpers.hpp"

using namespace clossyne::frontend;
using namespace clossyne::frontend::testing;

TEST_CASE("inline commands split on whitespace and strip CR") {
  auto p = parse_all("SET  k   v\r\nGET k\n");
  REQUIRE(p.requests.size() == 2);
  CHECK(p.requests[0].dialect == Dialect::kInline);
  CHECK(p.requests[0].args == args({"SET", "k", "v"}));
  CHECK(p.requests[1].args == args({"GET", "k"}));
}

TEST_CASE("inline quoting follows sdssplitargs") {
  auto a = split_inline_args(R"(SET "a b" 'c d' "x\n\t\x41\\\"" 'it\'s' "")");
  REQUIRE(a);
  CHECK(*a == args({"SET", "a b", "c d", "x\n\tA\\\"", "it's", ""}));
  CHECK(split_inline_args(R"(ab"cd")") == std::optional(args({"abcd"})));
  CHECK_FALSE(split_inline_args(R"(SET "abc)"));
  CHECK_FALSE(split_inline_args("SET 'abc"));
  CHECK_FALSE(split_inline_args(R"(SET "a"b)"));
}

TEST_CASE("unbalanced inline quotes are a protocol error") {
  auto p = parse_all("GET \"k\r\n");
  CHECK(p.error);
  CHECK(p.error_text == "Protocol error: unbalanced quotes in request");
}

TEST_CASE("empty inline lines are ignored") {
  auto p = parse_all("\r\n\n   \r\nPING\r\n");
  REQUIRE(p.requests.size() == 1);
  CHECK(p.requests[0].args == args({"PING"}));
}

TEST_CASE("an inline line over 64 KiB without newline is a protocol error") {
  auto p = parse_all(std::string(65 * 1024, 'a'), false);
  CHECK(p.error);
  CHECK(p.error_text == "Protocol error: too big inline request");
  auto partial = parse_all("GET k", true);  // incomplete inline waits even when the burst ends
  CHECK_FALSE(partial.error);
  CHECK(partial.requests.empty());
}

TEST_CASE("seed requests without a line ending complete when the burst ends") {
  Feeder f;
  f.feed("SET:k value with spaces", false);
  CHECK(f.result().requests.empty());
  f.feed("", true);
  REQUIRE(f.result().requests.size() == 1);
  const Request& r = f.result().requests[0];
  CHECK(r.dialect == Dialect::kSeed);
  CHECK(r.args == args({"SET", "k value with spaces"}));
  CHECK(r.eol == Eol::kNone);
}

TEST_CASE("seed requests keep their line ending") {
  auto p = parse_all("get:k\r\nDEL:x\nRNG:a b\r\n");
  REQUIRE(p.requests.size() == 3);
  CHECK(p.requests[0].args == args({"GET", "k"}));
  CHECK(p.requests[0].eol == Eol::kCrLf);
  CHECK(p.requests[1].args == args({"DEL", "x"}));
  CHECK(p.requests[1].eol == Eol::kLf);
  CHECK(p.requests[2].args == args({"RNG", "a b"}));
}

TEST_CASE("seed edge cases: SET: alone and EXT") {
  auto p = parse_all("SET:");
  REQUIRE(p.requests.size() == 1);
  CHECK(p.requests[0].args == args({"SET", ""}));
  auto e = parse_all("EXT");
  REQUIRE(e.requests.size() == 1);
  CHECK(e.requests[0].args[0] == "EXT");
  auto partial = parse_all("GE", true);  // not yet a seed prefix
  CHECK(partial.requests.empty());
}

TEST_CASE("dialects are told apart per request in one buffer") {
  const std::string input =
      "*1\r\n$4\r\nPING\r\nECHO hi\r\nSET:k v\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nGET:k";
  for (bool bytewise : {false, true}) {
    auto p = bytewise ? parse_bytewise(input) : parse_all(input);
    REQUIRE_FALSE(p.error);
    REQUIRE(p.requests.size() == 5);
    CHECK(p.requests[0].dialect == Dialect::kResp);
    CHECK(p.requests[1].dialect == Dialect::kInline);
    CHECK(p.requests[1].args == args({"ECHO", "hi"}));
    CHECK(p.requests[2].dialect == Dialect::kSeed);
    CHECK(p.requests[3].args == args({"GET", "k"}));
    CHECK(p.requests[4].dialect == Dialect::kSeed);
    CHECK(p.requests[4].eol == Eol::kNone);
  }
}
