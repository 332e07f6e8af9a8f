#include <catch2/catch.hpp>

#include "frontend/command_table.hpp"
#include "frontend/commands.hpp"

using namespace clossyne::frontend;

namespace {

CommandContext& context() {
  static ClientState client;
  static ServerInfo server;
  static CursorTable cursors;
  static CommandContext ctx{client, server, cursors};
  return ctx;
}

Action run(std::vector<std::string> words, Dialect d = Dialect::kResp) {
  Request r;
  r.dialect = d;
  r.args = std::move(words);
  return handle_request(r, context());
}

std::string local(std::vector<std::string> words) {
  Action a = run(std::move(words));
  REQUIRE(a.kind == Action::Kind::kLocal);
  return a.bytes;
}

}  // namespace

TEST_CASE("arity errors are worded as Redis's") {
  CHECK(local({"GET"}) == "-ERR wrong number of arguments for 'get' command\r\n");
  CHECK(local({"get", "a", "b"}) == "-ERR wrong number of arguments for 'get' command\r\n");
  CHECK(local({"SET", "k"}) == "-ERR wrong number of arguments for 'set' command\r\n");
  CHECK(local({"MSET", "a", "1", "b"}) == "-ERR wrong number of arguments for 'mset' command\r\n");
  CHECK(local({"PING", "a", "b"}) == "-ERR wrong number of arguments for 'ping' command\r\n");
  CHECK(local({"DBSIZE", "x"}) == "-ERR wrong number of arguments for 'dbsize' command\r\n");
}

TEST_CASE("unknown commands are worded as Redis 7's") {
  CHECK(local({"foo", "a", "b"}) ==
        "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n");
  CHECK(local({"foo"}) == "-ERR unknown command 'foo', with args beginning with: \r\n");
  CHECK(local({"foo", "a\r\nb"}) ==
        "-ERR unknown command 'foo', with args beginning with: 'a  b' \r\n");
}

TEST_CASE("syntax and integer errors") {
  CHECK(local({"RNG", "a", "b", "LIMIT"}) == "-ERR syntax error\r\n");
  CHECK(local({"RNG", "a", "b", "TOP", "3"}) == "-ERR syntax error\r\n");
  CHECK(local({"RNG", "a", "b", "LIMIT", "x"}) ==
        "-ERR value is not an integer or out of range\r\n");
  CHECK(local({"SELECT", "x"}) == "-ERR value is not an integer or out of range\r\n");
}

TEST_CASE("local commands") {
  CHECK(local({"ping"}) == "+PONG\r\n");
  CHECK(local({"PING", "hi"}) == "$2\r\nhi\r\n");
  CHECK(local({"ECHO", "x y"}) == "$3\r\nx y\r\n");
  CHECK(local({"command", "count"}) ==
        std::string(":") + std::to_string(kCommandTable.size()) + "\r\n");
  CHECK(local({"SELECT", "0"}) == "+OK\r\n");
  CHECK(local({"SELECT", "1"}) == "-ERR DB index is out of range\r\n");
  CHECK(local({"CONFIG", "GET", "save"}) == "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
  CHECK(local({"CLIENT", "GETNAME"}) == "$-1\r\n");
  CHECK(local({"CLIENT", "SETNAME", "me"}) == "+OK\r\n");
  CHECK(local({"client", "getname"}) == "$2\r\nme\r\n");
  CHECK(local({"CLIENT", "SETINFO", "lib-name", "x"}) == "+OK\r\n");
  Action quit = run({"QUIT"});
  CHECK(quit.bytes == "+OK\r\n");
  CHECK(quit.close_after);
}

TEST_CASE("cluster commands become ops") {
  Action set = run({"set", "k", "v"});
  REQUIRE(set.kind == Action::Kind::kRemote);
  CHECK(set.op.op == "set");
  CHECK(*set.op.key == "k");
  CHECK(*set.op.value == "v");
  Action del = run({"DEL", "a", "b"});
  CHECK(del.op.op == "del");
  CHECK(del.op.keys == std::vector<std::string>{"a", "b"});
  CHECK(del.format.kind == ReplyKind::kInteger);
  Action mset = run({"MSET", "a", "1", "b", "2"});
  REQUIRE(mset.op.pairs.size() == 2);
  CHECK(mset.op.pairs[1] == clossyne::KV{"b", "2"});
  Action rng = run({"RNG", "a", "z", "limit", "5"});
  CHECK(rng.op.op == "rng");
  CHECK(*rng.op.key == "a");
  CHECK(*rng.op.end == "z");
  CHECK(rng.op.limit == 5u);
  CHECK(run({"WHERE", "k"}).format.kind == ReplyKind::kWhere);
  CHECK(run({"DBSIZE"}).op.op == "dbsize");
}

TEST_CASE("seed requests") {
  auto seed = [](std::string verb, std::string rest, Eol eol = Eol::kNone) {
    Request r;
    r.dialect = Dialect::kSeed;
    r.args = {std::move(verb), std::move(rest)};
    r.eol = eol;
    return handle_request(r, context());
  };
  Action set = seed("SET", "k value with spaces");
  REQUIRE(set.kind == Action::Kind::kRemote);
  CHECK(*set.op.key == "k");
  CHECK(*set.op.value == "value with spaces");
  CHECK(seed("SET", "").bytes == "NS");
  CHECK(seed("SET", "k", Eol::kLf).bytes == "NS\n");
  CHECK(seed("GET", "", Eol::kCrLf).bytes == "NS\r\n");
  Action del = seed("DEL", "k");
  CHECK(del.op.keys == std::vector<std::string>{"k"});
  Action rng = seed("RNG", "a b");
  CHECK(*rng.op.key == "a");
  CHECK(*rng.op.end == "b");
  CHECK(seed("RNG", "a").bytes == "NS");
  Action ext = seed("EXT", "");
  CHECK(ext.kind == Action::Kind::kLocal);
  CHECK(ext.bytes.empty());
  CHECK(ext.close_after);
}
