// Bad input and limits at the parser: bare LF line endings, the query buffer limit, huge
// declared sizes refused before anything is read.
#include <catch2/catch.hpp>

#include "parse_helpers.hpp"

using namespace clossyne::frontend;
using namespace clossyne::frontend::testing;

TEST_CASE("a RESP header ending in a bare LF is an error at once, not a wait") {
  CHECK(parse_all("*1\n$4\r\nPING\r\n").error_text == "Protocol error: invalid multibulk length");
  CHECK(parse_all("*1\r\n$4\nPING\r\n").error_text == "Protocol error: invalid bulk length");
  // A CR still on its way is not an error.
  Parsed p = parse_bytewise("*1\r\n$4\r\nPING\r\n");
  CHECK_FALSE(p.error);
  CHECK(p.requests.size() == 1);
}

TEST_CASE("the declared size of one request is bounded by the query buffer limit") {
  ParserLimits limits;
  limits.max_bulk = 1000;
  limits.max_query_bytes = 1500;
  CHECK_FALSE(parse_all("*2\r\n$4\r\nECHO\r\n$1000\r\n", true, limits).error);
  Parsed p = parse_all("*3\r\n$3\r\nSET\r\n$800\r\n", true, limits);
  CHECK_FALSE(p.error);
  p = parse_all("*3\r\n$3\r\nSET\r\n$800\r\n" + std::string(800, 'k') + "\r\n$800\r\n", true,
                limits);
  CHECK(p.error_text == "Protocol error: request exceeds the client query buffer limit");
  // The limit is per request: the next request starts from zero.
  const std::string one = "*2\r\n$4\r\nECHO\r\n$900\r\n" + std::string(900, 'v') + "\r\n";
  p = parse_all(one + one + one, true, limits);
  CHECK_FALSE(p.error);
  CHECK(p.requests.size() == 3);
}

TEST_CASE("absurd sizes are refused before any data") {
  Parsed p = parse_all("*1000000000\r\n");
  CHECK(p.error_text == "Protocol error: invalid multibulk length");
  p = parse_all("*1\r\n$99999999999999999999\r\n");
  CHECK(p.error_text == "Protocol error: invalid bulk length");
  p = parse_all("*1\r\n$-5\r\n");
  CHECK(p.error_text == "Protocol error: invalid bulk length");
  p = parse_all("*1\r\n$536870913\r\n");  // one byte over the 512 MiB default
  CHECK(p.error_text == "Protocol error: invalid bulk length");
  p = parse_all("GET \"unterminated\r\n");
  CHECK(p.error_text == "Protocol error: unbalanced quotes in request");
  p = parse_all(std::string(70 * 1024, 'x'), false);
  CHECK(p.error_text == "Protocol error: too big inline request");
}
