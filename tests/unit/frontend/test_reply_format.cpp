#include <catch2/catch.hpp>

#include "frontend/reply_format.hpp"

using namespace clossyne;
using namespace clossyne::frontend;

namespace {

std::string fmt(ReplyKind kind, const Reply& r, Eol eol = Eol::kNone) {
  return format_reply(ReplyFormat{kind, eol}, r);
}

Reply with_value(std::optional<std::string> v) {
  Reply r;
  r.has_value = true;
  r.value = std::move(v);
  return r;
}

Reply with_n(int64_t n) {
  Reply r;
  r.n = n;
  return r;
}

Reply with_items(std::vector<KV> items) {
  Reply r;
  r.items = std::move(items);
  return r;
}

}  // namespace

TEST_CASE("RESP replies for each kind") {
  CHECK(fmt(ReplyKind::kOk, Reply{}) == "+OK\r\n");
  CHECK(fmt(ReplyKind::kBulk, with_value(std::string("a\0b", 3))) ==
        std::string("$3\r\na\0b\r\n", 9));
  CHECK(fmt(ReplyKind::kBulk, with_value(std::nullopt)) == "$-1\r\n");
  CHECK(fmt(ReplyKind::kInteger, with_n(3)) == ":3\r\n");
  Reply mget;
  mget.values = std::vector<std::optional<std::string>>{"x", std::nullopt};
  CHECK(fmt(ReplyKind::kValues, mget) == "*2\r\n$1\r\nx\r\n$-1\r\n");
  CHECK(fmt(ReplyKind::kItems, with_items({{"a", "1"}, {"b", "2"}})) ==
        "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
  CHECK(fmt(ReplyKind::kItems, with_items({})) == "*0\r\n");
  Reply where;
  where.where = WhereInfo{7, "w1", "7:LR", 2, true, {}};
  CHECK(fmt(ReplyKind::kWhere, where) ==
        "*10\r\n$5\r\nshard\r\n:7\r\n$5\r\nowner\r\n$2\r\nw1\r\n$4\r\npath\r\n$4\r\n7:LR\r\n"
        "$5\r\ndepth\r\n:2\r\n$5\r\nfound\r\n:1\r\n");
  where.where->members = {"w1", "w3"};  // a replicated shard: two more elements
  CHECK(
      fmt(ReplyKind::kWhere, where) ==
      "*12\r\n$5\r\nshard\r\n:7\r\n$5\r\nowner\r\n$2\r\nw1\r\n$4\r\npath\r\n$4\r\n7:LR\r\n"
      "$5\r\ndepth\r\n:2\r\n$5\r\nfound\r\n:1\r\n$7\r\nmembers\r\n*2\r\n$2\r\nw1\r\n$2\r\nw3\r\n");
}

TEST_CASE("error replies are one line and never say ERR twice") {
  CHECK(fmt(ReplyKind::kBulk, Reply::Error(1, "shard 3 unavailable")) ==
        "-ERR shard 3 unavailable\r\n");
  CHECK(fmt(ReplyKind::kBulk, Reply::Error(1, "ERR already\r\nprefixed")) ==
        "-ERR already  prefixed\r\n");
  CHECK(fmt(ReplyKind::kSeedGet, Reply::Error(1, "boom"), Eol::kLf) == "-ERR boom\n");
  CHECK(fmt(ReplyKind::kSeedGet, Reply::Error(1, "boom")) == "-ERR boom");
}

TEST_CASE("seed replies are raw text with the request's line ending") {
  CHECK(fmt(ReplyKind::kSeedSet, Reply{}) == "OK");
  CHECK(fmt(ReplyKind::kSeedSet, Reply{}, Eol::kCrLf) == "OK\r\n");
  CHECK(fmt(ReplyKind::kSeedGet, with_value("hello world")) == "hello world");
  CHECK(fmt(ReplyKind::kSeedGet, with_value(std::nullopt), Eol::kLf) == "NS\n");
  CHECK(fmt(ReplyKind::kSeedDel, with_n(1)) == "OK");
  CHECK(fmt(ReplyKind::kSeedDel, with_n(0)) == "NS");
  CHECK(fmt(ReplyKind::kSeedRng, with_items({{"a", "1"}, {"b", "x y"}})) == "a 1\nb x y");
  CHECK(fmt(ReplyKind::kSeedRng, with_items({}), Eol::kLf) == "NIL\n");
}
