// KEYS, SCAN, FLUSHDB and INFO as jobs: the ops they send and the replies they build, driven
// with hand-made cluster replies.
#include <catch2/catch.hpp>

#include "frontend/commands.hpp"
#include "frontend/key_scan_job.hpp"

using namespace clossyne;
using namespace clossyne::frontend;

namespace {

struct Fixture {
  ClientState client;
  ServerInfo server;
  CursorTable cursors;
  CommandContext ctx{client, server, cursors};

  Action run(std::vector<std::string> words) {
    Request r;
    r.args = std::move(words);
    return handle_request(r, ctx);
  }
};

Reply items(std::vector<KV> kvs) {
  Reply r;
  r.items = std::move(kvs);
  return r;
}

Reply count(int64_t n) {
  Reply r;
  r.n = n;
  return r;
}

}  // namespace

TEST_CASE("SCAN pages by RNG and hands out a cursor that resumes after the page") {
  Fixture f;
  Action a = f.run({"SCAN", "0", "COUNT", "2"});
  REQUIRE(a.kind == Action::Kind::kJob);
  JobStep s = a.job->start();
  REQUIRE_FALSE(s.done);
  CHECK(s.op.op == "rng");
  CHECK(*s.op.key == "");
  CHECK_FALSE(s.op.end.has_value());
  CHECK(s.op.limit == 2u);
  s = a.job->on_reply(items({{"a", "1"}, {"b", "2"}}));
  REQUIRE(s.done);
  CHECK(s.reply == "*2\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  CHECK(f.cursors.get(1) == std::optional<std::string>(std::string("b\0", 2)));

  Action next = f.run({"scan", "1", "count", "2"});
  JobStep s2 = next.job->start();
  CHECK(*s2.op.key == std::string("b\0", 2));
  s2 = next.job->on_reply(items({{"c", "3"}}));
  CHECK(s2.reply == "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nc\r\n");  // a short page ends the walk
}

TEST_CASE("SCAN MATCH narrows to the pattern's prefix and filters") {
  Fixture f;
  Action a = f.run({"SCAN", "0", "MATCH", "user:*:x", "COUNT", "3"});
  JobStep s = a.job->start();
  CHECK(*s.op.key == "user:");
  CHECK(*s.op.end == "user;");
  s = a.job->on_reply(items({{"user:1:x", ""}, {"user:1:y", ""}, {"user:2:x", ""}}));
  CHECK(s.reply.find("$8\r\nuser:1:x\r\n$8\r\nuser:2:x\r\n") != std::string::npos);
  CHECK(s.reply.find("user:1:y") == std::string::npos);
  CHECK(s.reply.rfind("*2\r\n$1\r\n1\r\n*2\r\n", 0) == 0);
}

TEST_CASE("SCAN argument errors") {
  Fixture f;
  CHECK(f.run({"SCAN", "x"}).bytes == "-ERR invalid cursor\r\n");
  CHECK(f.run({"SCAN", "-1"}).bytes == "-ERR invalid cursor\r\n");
  CHECK(f.run({"SCAN", "999"}).bytes == "-ERR invalid cursor\r\n");
  CHECK(f.run({"SCAN", "0", "COUNT", "0"}).bytes == "-ERR syntax error\r\n");
  CHECK(f.run({"SCAN", "0", "COUNT", "x"}).bytes ==
        "-ERR value is not an integer or out of range\r\n");
  CHECK(f.run({"SCAN", "0", "MATCH"}).bytes == "-ERR syntax error\r\n");
  CHECK(f.run({"SCAN", "0", "BOGUS", "1"}).bytes == "-ERR syntax error\r\n");
  CHECK(f.run({"SCAN", "0", "TYPE", "hash"}).bytes == "*2\r\n$1\r\n0\r\n*0\r\n");
  CHECK(f.run({"SCAN", "0", "TYPE", "string"}).kind == Action::Kind::kJob);
}

TEST_CASE("KEYS walks every page and answers one array, cluster errors pass through") {
  Fixture f;
  Action a = f.run({"KEYS", "*"});
  JobStep s = a.job->start();
  CHECK(s.op.limit == kKeysPageSize);
  std::vector<KV> page;
  for (uint64_t i = 0; i < kKeysPageSize; ++i) {
    std::string key(1, 'k');
    key.append(std::to_string(i));
    page.emplace_back(std::move(key), std::string());
  }
  s = a.job->on_reply(items(page));
  REQUIRE_FALSE(s.done);
  std::string after = page.back().first;
  after.push_back('\0');
  CHECK(*s.op.key == after);
  s = a.job->on_reply(items({{"zz", ""}}));
  REQUIRE(s.done);
  std::string head(1, '*');
  head.append(std::to_string(kKeysPageSize + 1)).append("\r\n");
  CHECK(s.reply.rfind(head, 0) == 0);

  Action b = f.run({"KEYS", "a?"});
  b.job->start();
  CHECK(b.job->on_reply(Reply::Error(1, "ERR shard unavailable")).reply ==
        "-ERR shard unavailable\r\n");
}

TEST_CASE("FLUSHDB deletes page by page") {
  Fixture f;
  CHECK(f.run({"FLUSHDB", "bogus"}).bytes == "-ERR syntax error\r\n");
  Action a = f.run({"FLUSHALL", "ASYNC"});
  JobStep s = a.job->start();
  CHECK(s.op.op == "rng");
  s = a.job->on_reply(items({{"a", ""}, {"b", ""}}));
  CHECK(s.op.op == "del");
  CHECK(s.op.keys == std::vector<std::string>{"a", "b"});
  s = a.job->on_reply(count(2));
  REQUIRE(s.done);
  CHECK(s.reply == "+OK\r\n");
  Action empty = f.run({"FLUSHDB"});
  empty.job->start();
  CHECK(empty.job->on_reply(items({})).reply == "+OK\r\n");
}

TEST_CASE(
    "INFO asks status, dbsize and the keys with a TTL, and survives a cluster that cannot answer") {
  Fixture f;
  CHECK(f.run({"INFO", "server"}).kind == Action::Kind::kLocal);
  Action a = f.run({"INFO"});
  REQUIRE(a.kind == Action::Kind::kJob);
  JobStep s = a.job->start();
  CHECK(s.op.op == "status");
  Reply st;
  st.workers = {WorkerInfo{"w1", true, 3, 1, false}};
  s = a.job->on_reply(st);
  CHECK(s.op.op == "dbsize");
  s = a.job->on_reply(count(3));
  REQUIRE_FALSE(s.done);
  CHECK(s.op.op == "dbsize");
  CHECK(s.op.args == std::vector<std::string>{"expires"});
  s = a.job->on_reply(count(2));
  REQUIRE(s.done);
  CHECK(s.reply.find("db0:keys=3,expires=2,avg_ttl=0") != std::string::npos);
  CHECK(s.reply.find("\r\nmem_allocator:libc\r\n") != std::string::npos);
  CHECK(s.reply.find("# CPU\r\nused_cpu_sys:") != std::string::npos);
  CHECK(s.reply.find("\r\nused_cpu_user:") != std::string::npos);
  CHECK(s.reply.find("expires_error") == std::string::npos);

  // A cluster whose workers do not count TTLs yet: expires=0, and the error is shown.
  Action c = f.run({"INFO", "keyspace", "clossyne"});
  c.job->start();
  c.job->on_reply(st);
  c.job->on_reply(count(4));
  s = c.job->on_reply(Reply::Error(3, "ERR unknown op"));
  REQUIRE(s.done);
  CHECK(s.reply.find("db0:keys=4,expires=0,avg_ttl=0") != std::string::npos);
  CHECK(s.reply.find("expires_error:ERR\\x20unknown\\x20op") != std::string::npos);
  CHECK(s.reply.find("worker0:id=w1,alive=1") != std::string::npos);

  Action b = f.run({"INFO", "keyspace"});
  b.job->start();
  b.job->on_reply(Reply::Error(1, "ERR cluster not ready"));
  b.job->on_reply(Reply::Error(2, "ERR cluster not ready"));
  s = b.job->on_reply(Reply::Error(2, "ERR cluster not ready"));
  REQUIRE(s.done);
  CHECK(s.reply.find("# Keyspace\r\n") != std::string::npos);
  CHECK(s.reply.find("db0") == std::string::npos);
}

TEST_CASE("TYPE, TIME, CLIENT ID and HELLO") {
  Fixture f;
  f.client.id = 17;
  Action t = f.run({"TYPE", "k"});
  CHECK(t.op.op == "exists");
  CHECK(t.format.kind == ReplyKind::kType);
  CHECK(f.run({"TIME"}).bytes.rfind("*2\r\n$", 0) == 0);
  CHECK(f.run({"CLIENT", "ID"}).bytes == ":17\r\n");
  CHECK(f.run({"CLIENT", "SETNAME", "a b"}).bytes ==
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
  CHECK(f.run({"CLIENT", "LIST"}).bytes.find("id=17 ") != std::string::npos);
  CHECK(f.run({"CLIENT", "KILL", "x"}).bytes ==
        "-ERR unknown subcommand 'KILL'. Try CLIENT HELP.\r\n");
  CHECK(f.run({"HELLO", "3"}).bytes ==
        "-NOPROTO sorry, this protocol version is not supported.\r\n");
  CHECK(f.run({"HELLO", "2"}).bytes.rfind("*14\r\n", 0) == 0);
  CHECK(f.run({"CONFIG", "SET", "x", "y"}).bytes.rfind("-ERR CONFIG set is not supported", 0) == 0);
}
