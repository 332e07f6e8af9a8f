// The string and key commands (issue 15): arity and flags from the table, the ops they become
// (common/keyed_ops.hpp conventions), the frontend's own parsing (COPY, LCS), the kAuto reply
// shape, RANDOMKEY's walk, FUNCTION FLUSH and COMMAND LIST FILTERBY.
#include <catch2/catch.hpp>

#include "common/keyed_ops.hpp"
#include "frontend/command_docs.hpp"
#include "frontend/command_table.hpp"
#include "frontend/commands.hpp"
#include "frontend/randomkey_job.hpp"
#include "frontend/reply_format.hpp"

using namespace clossyne;
using namespace clossyne::frontend;
using Words = std::vector<std::string>;

namespace {

struct Fixture {
  ClientState client;
  ServerInfo server;
  CursorTable cursors;
  CommandContext ctx{client, server, cursors};

  Action run(Words words) {
    Request r;
    r.args = std::move(words);
    return handle_request(r, ctx);
  }
  std::string local(Words words) {
    Action a = run(std::move(words));
    REQUIRE(a.kind == Action::Kind::kLocal);
    return a.bytes;
  }
  Op remote(Words words, ReplyKind kind) {
    Action a = run(std::move(words));
    REQUIRE(a.kind == Action::Kind::kRemote);
    CHECK(a.format.kind == kind);
    return a.op;
  }
};

std::string arity_error(const std::string& name) {
  return "-ERR wrong number of arguments for '" + name + "' command\r\n";
}

}  // namespace

TEST_CASE("every single-key op of keyed_ops has a command that sends it") {
  for (const KeyedOp& k : kKeyedOps) {
    if (k.name == "xget" || k.name == "xset" || k.name == "where") continue;  // internal/own
    const CommandSpec* spec = find_command(k.name);
    REQUIRE(spec != nullptr);
    CHECK(spec->first_key == 1);
    // Redis marks the writes "write" and the reads "readonly": the table agrees with the op's kind
    const std::string flags(spec->flags);
    CHECK((flags.find("write") != std::string::npos) == k.write);
  }
}

TEST_CASE("string and key commands have Redis 7's arity") {
  Fixture f;
  const std::vector<std::pair<std::string, int>> arities = {
      {"setnx", 3},       {"setex", 4},     {"psetex", 4},   {"getset", 3},
      {"getdel", 2},      {"getex", -2},    {"msetnx", -3},  {"incr", 2},
      {"decr", 2},        {"incrby", 3},    {"decrby", 3},   {"incrbyfloat", 3},
      {"append", 3},      {"strlen", 2},    {"getrange", 4}, {"substr", 4},
      {"setrange", 4},    {"getbit", 3},    {"setbit", 4},   {"bitcount", -2},
      {"lcs", -3},        {"expire", -3},   {"pexpire", -3}, {"expireat", -3},
      {"pexpireat", -3},  {"ttl", 2},       {"pttl", 2},     {"expiretime", 2},
      {"pexpiretime", 2}, {"persist", 2},   {"rename", 3},   {"renamenx", 3},
      {"copy", -3},       {"touch", -2},    {"unlink", -2},  {"randomkey", 1},
      {"type", 2},        {"function", -2}, {"set", -3}};
  for (const auto& [name, arity] : arities) {
    const CommandSpec* spec = find_command(name);
    REQUIRE(spec != nullptr);
    CHECK(spec->arity == arity);
    // one word too few (or, for fixed arity, one too many) gives Redis's words
    const std::size_t n = static_cast<std::size_t>(arity < 0 ? -arity - 1 : arity + 1);
    Words words(n, "x");
    words[0] = name;
    CHECK(f.local(words) == arity_error(name));
  }
  CHECK(f.local({"MSETNX", "a", "1", "b"}) == arity_error("msetnx"));
}

TEST_CASE("single-key commands become the op of their name, args the words after the key") {
  Fixture f;
  Op o = f.remote({"INCRBY", "counter", "5"}, ReplyKind::kAuto);
  CHECK(o.op == "incrby");
  CHECK(o.key == "counter");
  CHECK(o.args == Words{"5"});
  o = f.remote({"SubStr", "k", "0", "-1"}, ReplyKind::kAuto);
  CHECK(o.op == "substr");
  CHECK(o.args == Words{"0", "-1"});
  o = f.remote({"getex", "k", "PX", "100"}, ReplyKind::kAuto);
  CHECK(o.op == "getex");
  CHECK(o.args == Words{"PX", "100"});
  o = f.remote({"TTL", "k"}, ReplyKind::kAuto);
  CHECK(o.op == "ttl");
  CHECK(o.args.empty());
  o = f.remote({"EXPIRE", "k", "10", "NX"}, ReplyKind::kAuto);
  CHECK(o.op == "expire");
  CHECK(o.args == Words{"10", "NX"});
  o = f.remote({"SETEX", "k", "10", "v"}, ReplyKind::kAuto);
  CHECK(o.op == "setex");
  CHECK(o.args == Words{"10", "v"});
  CHECK_FALSE(o.value.has_value());
  o = f.remote({"bitcount", "k", "0", "-1", "BIT"}, ReplyKind::kAuto);
  CHECK(o.args == Words{"0", "-1", "BIT"});
}

TEST_CASE("SET without options is the original op, with options a keyed one") {
  Fixture f;
  Op o = f.remote({"SET", "k", "v"}, ReplyKind::kOk);
  CHECK(o.op == "set");
  CHECK(o.value == "v");
  CHECK(o.args.empty());
  o = f.remote({"SET", "k", "v", "EX", "10", "NX", "GET"}, ReplyKind::kAuto);
  CHECK(o.op == "set");
  CHECK(o.key == "k");
  CHECK(o.value == "v");
  CHECK(o.args == Words{"EX", "10", "NX", "GET"});
}

TEST_CASE("multi-key commands build the broker's atomic ops") {
  Fixture f;
  Op o = f.remote({"MSETNX", "a", "1", "b", "2"}, ReplyKind::kInteger);
  CHECK(o.op == "msetnx");
  CHECK(o.pairs == std::vector<KV>{{"a", "1"}, {"b", "2"}});
  o = f.remote({"RENAME", "a", "b"}, ReplyKind::kOk);
  CHECK(o.op == "rename");
  CHECK(o.keys == Words{"a", "b"});
  CHECK_FALSE(o.key.has_value());
  o = f.remote({"renamenx", "a", "b"}, ReplyKind::kInteger);
  CHECK(o.op == "renamenx");
  CHECK(o.keys == Words{"a", "b"});
  o = f.remote({"TOUCH", "a", "b", "c"}, ReplyKind::kInteger);
  CHECK(o.op == "exists");
  CHECK(o.keys == Words{"a", "b", "c"});
  o = f.remote({"UNLINK", "a"}, ReplyKind::kInteger);
  CHECK(o.op == "del");
  o = f.remote({"TYPE", "a"}, ReplyKind::kType);
  CHECK(o.op == "exists");
}

TEST_CASE("COPY is parsed as Redis 7's copyCommand") {
  Fixture f;
  Op o = f.remote({"COPY", "a", "b"}, ReplyKind::kInteger);
  CHECK(o.op == "copy");
  CHECK(o.keys == Words{"a", "b"});
  CHECK(o.args.empty());
  o = f.remote({"copy", "a", "b", "replace", "DB", "0"}, ReplyKind::kInteger);
  CHECK(o.args == Words{"REPLACE"});
  CHECK(f.local({"COPY", "a", "b", "DB", "1"}) == "-ERR DB index is out of range\r\n");
  CHECK(f.local({"COPY", "a", "b", "DB", "-1"}) == "-ERR DB index is out of range\r\n");
  CHECK(f.local({"COPY", "a", "b", "DB", "x"}) ==
        "-ERR value is not an integer or out of range\r\n");
  CHECK(f.local({"COPY", "a", "b", "DB", "4294967296"}) ==
        "-ERR value is not an integer or out of range\r\n");
  CHECK(f.local({"COPY", "a", "b", "DB"}) == "-ERR syntax error\r\n");
  CHECK(f.local({"COPY", "a", "b", "FORCE"}) == "-ERR syntax error\r\n");
  CHECK(f.local({"COPY", "a", "a"}) == "-ERR source and destination objects are the same\r\n");
}

TEST_CASE("kAuto formats what the worker answered") {
  const ReplyFormat fmt{ReplyKind::kAuto};
  Reply r;
  CHECK(format_reply(fmt, r) == "+OK\r\n");
  r.has_value = true;
  CHECK(format_reply(fmt, r) == "$-1\r\n");
  r.value = "abc";
  CHECK(format_reply(fmt, r) == "$3\r\nabc\r\n");
  Reply n;
  n.n = -2;
  CHECK(format_reply(fmt, n) == ":-2\r\n");
  Reply vs;
  vs.values = std::vector<std::optional<std::string>>{"x", std::nullopt};
  CHECK(format_reply(fmt, vs) == "*2\r\n$1\r\nx\r\n$-1\r\n");
  CHECK(format_reply(fmt, Reply::Error(1, "ERR value is not an integer or out of range")) ==
        "-ERR value is not an integer or out of range\r\n");
}

TEST_CASE("RANDOMKEY looks from a random point, wraps to the first key, nil when empty") {
  Action a = build_randomkey_from("m");
  REQUIRE(a.kind == Action::Kind::kJob);
  JobStep s = a.job->start();
  CHECK(s.op.op == "rng");
  CHECK(s.op.key == "m");
  CHECK(s.op.limit == 1u);
  Reply found;
  found.items = std::vector<KV>{{"n1", "v"}};
  CHECK(a.job->on_reply(found).reply == "$2\r\nn1\r\n");

  Action wrap = build_randomkey_from("z");
  wrap.job->start();
  s = wrap.job->on_reply(Reply{});  // nothing at or after "z"
  REQUIRE_FALSE(s.done);
  CHECK(s.op.key == "");
  Reply first;
  first.items = std::vector<KV>{{"a", "v"}};
  s = wrap.job->on_reply(first);
  REQUIRE(s.done);
  CHECK(s.reply == "$1\r\na\r\n");

  Action empty = build_randomkey_from("q");
  empty.job->start();
  empty.job->on_reply(Reply{});
  s = empty.job->on_reply(Reply{});
  REQUIRE(s.done);
  CHECK(s.reply == "$-1\r\n");

  Fixture f;
  Action r = f.run({"RANDOMKEY"});
  REQUIRE(r.kind == Action::Kind::kJob);
  CHECK(r.job->start().op.op == "rng");
  Action err = build_randomkey_from("q");
  err.job->start();
  CHECK(err.job->on_reply(Reply::Error(1, "ERR cluster not ready")).reply ==
        "-ERR cluster not ready\r\n");
}

TEST_CASE("FUNCTION FLUSH is a harmless +OK, other subcommands unknown") {
  Fixture f;
  CHECK(f.local({"FUNCTION", "FLUSH"}) == "+OK\r\n");
  CHECK(f.local({"function", "flush", "async"}) == "+OK\r\n");
  CHECK(f.local({"FUNCTION", "FLUSH", "SYNC"}) == "+OK\r\n");
  CHECK(f.local({"FUNCTION", "FLUSH", "now"}) ==
        "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n");
  CHECK(f.local({"FUNCTION", "FLUSH", "SYNC", "x"}) ==
        "-ERR wrong number of arguments for 'function|flush' command\r\n");
  CHECK(f.local({"FUNCTION", "LIST"}) == "-ERR unknown subcommand 'LIST'. Try FUNCTION HELP.\r\n");
  CHECK(f.local({"FUNCTION"}) == arity_error("function"));
}

TEST_CASE("COMMAND LIST honours FILTERBY, COMMAND INFO answers nil for an unknown name") {
  const std::string all = command_reply({"COMMAND", "LIST"});
  CHECK(all.rfind("*" + std::to_string(kCommandTable.size()) + "\r\n", 0) == 0);
  CHECK(all.find("$11\r\nincrbyfloat\r\n") != std::string::npos);
  CHECK(command_reply({"COMMAND", "LIST", "FILTERBY", "PATTERN", "*expireat"}) ==
        "*2\r\n$8\r\nexpireat\r\n$9\r\npexpireat\r\n");
  CHECK(command_reply({"command", "list", "filterby", "pattern", "GETR?NGE"}) ==
        "*1\r\n$8\r\ngetrange\r\n");
  CHECK(command_reply({"COMMAND", "LIST", "FILTERBY", "MODULE", "json"}) == "*0\r\n");
  const std::string str = command_reply({"COMMAND", "LIST", "FILTERBY", "ACLCAT", "string"});
  CHECK(str.find("$6\r\nappend\r\n") != std::string::npos);
  CHECK(str.find("$6\r\nexpire\r\n") == std::string::npos);
  const std::string ks = command_reply({"COMMAND", "LIST", "FILTERBY", "ACLCAT", "keyspace"});
  CHECK(ks.find("$6\r\nrename\r\n") != std::string::npos);
  CHECK(ks.find("$6\r\nappend\r\n") == std::string::npos);
  CHECK(command_reply({"COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"}) == "*0\r\n");
  CHECK(command_reply({"COMMAND", "LIST", "FILTERBY", "NAME", "x"}) == "-ERR syntax error\r\n");
  CHECK(command_reply({"COMMAND", "LIST", "FILTERBY", "PATTERN"}) == "-ERR syntax error\r\n");
  CHECK(command_reply({"COMMAND", "LIST", "x"}) == "-ERR syntax error\r\n");
  CHECK(command_reply({"COMMAND", "INFO", "nosuchcommand"}) == "*1\r\n$-1\r\n");
  const std::string rename = command_reply({"COMMAND", "INFO", "rename"});
  CHECK(rename.rfind("*1\r\n*10\r\n$6\r\nrename\r\n:3\r\n*1\r\n+write\r\n:1\r\n:2\r\n:1\r\n"
                     "*3\r\n+@keyspace\r\n+@write\r\n+@slow\r\n",
                     0) == 0);
}

TEST_CASE("command names in the table are unique and lower case") {
  for (std::size_t i = 0; i < kCommandTable.size(); ++i) {
    const auto& c = kCommandTable[i];
    CHECK_FALSE(c.name.empty());
    CHECK(to_lower(c.name) == c.name);
    CHECK(find_command(c.name) == &c);
  }
}
