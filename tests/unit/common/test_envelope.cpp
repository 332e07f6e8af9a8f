#include <catch2/catch.hpp>
#include <msgpack.hpp>

#include "common/envelope.hpp"
#include "common/key_range.hpp"

using namespace clossyne;

namespace {
template <typename T>
std::string packed(const T& value) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, value);
  return std::string(buf.data(), buf.size());
}
}  // namespace

TEST_CASE("an op survives encode and decode with binary keys") {
  Op op;
  op.id = 42;
  op.op = "set";
  op.key = std::string("k\0\xff", 3);
  op.value = std::string(1000, '\0');
  op.shard = 3;
  op.epoch = 9;
  Op back;
  REQUIRE(decode(encode(op), back).ok());
  CHECK(back.id == 42);
  CHECK(back.op == "set");
  CHECK(*back.key == *op.key);
  CHECK(*back.value == *op.value);
  CHECK(back.shard == 3u);
  CHECK(back.epoch == 9u);
  CHECK_FALSE(back.end.has_value());
}

TEST_CASE("a batch op keeps its sub-ops in order") {
  Op batch;
  batch.id = 1;
  batch.op = "batch";
  for (int i = 0; i < 5; ++i) {
    Op sub;
    sub.id = 100 + i;
    sub.op = i % 2 ? "get" : "del";
    sub.keys = {"a", "b"};
    sub.pairs = {{"x", "y"}};
    batch.batch.push_back(sub);
  }
  Op back;
  REQUIRE(decode(encode(batch), back).ok());
  REQUIRE(back.batch.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(back.batch[i].id == uint64_t(100 + i));
    CHECK(back.batch[i].keys == std::vector<std::string>{"a", "b"});
    CHECK(back.batch[i].pairs == std::vector<KV>{{"x", "y"}});
  }
}

TEST_CASE("a reply survives encode and decode") {
  Reply r;
  r.id = 7;
  r.has_value = true;
  r.value.reset();
  r.n = -3;
  r.values = std::vector<std::optional<std::string>>{std::string("a"), std::nullopt};
  r.items = std::vector<KV>{{"k1", "v1"}, {"k2", "v2"}};
  r.where = WhereInfo{2, "w1", "2:LR", 2, true, {}};
  ShardInfo s;
  s.id = 1;
  s.hi.emplace("m");
  s.epoch = 4;
  s.seed = 99;
  s.keys = 10;
  s.bytes = 640;
  s.owner = "w1";
  s.importing = true;
  r.shards = {s};
  WorkerInfo w;
  w.id = "w2";
  w.alive = true;
  w.keys = 12;
  w.shards = 3;
  r.workers = {w};
  Reply back;
  REQUIRE(decode(encode(r), back).ok());
  CHECK(back.id == 7);
  CHECK(back.ok);
  CHECK(back.has_value);
  CHECK_FALSE(back.value.has_value());
  CHECK(*back.n == -3);
  CHECK(*back.values == *r.values);
  CHECK(*back.items == *r.items);
  CHECK(*back.where == *r.where);
  CHECK(back.shards == r.shards);
  CHECK(back.workers == r.workers);
}

TEST_CASE("an error reply carries its message") {
  Reply back;
  REQUIRE(decode(encode(Reply::Error(5, "boom")), back).ok());
  CHECK_FALSE(back.ok);
  CHECK(back.error == "boom");
  CHECK(back.id == 5);
}

TEST_CASE("keys given as msgpack str are accepted like bin") {
  std::map<std::string, std::string> m{{"op", "get"}, {"key", "hello"}};
  Op back;
  REQUIRE(decode(packed(m), back).ok());
  CHECK(*back.key == "hello");
}

TEST_CASE("bad envelopes are rejected without throwing") {
  Op op;
  CHECK_FALSE(decode("", op).ok());
  CHECK_FALSE(decode("\xc1garbage", op).ok());
  CHECK_FALSE(decode(packed(std::vector<int>{1, 2}), op).ok());                 // not a map
  CHECK_FALSE(decode(packed(std::map<std::string, int>{{"op", 3}}), op).ok());  // wrong type
  CHECK_FALSE(decode(packed(std::map<std::string, int>{{"id", 3}}), op).ok());  // no op
  std::map<std::string, int> wrong_version{{"v", 2}, {"id", 9}};
  Op bad;
  auto st = decode(packed(wrong_version), bad);
  CHECK_FALSE(st.ok());
  CHECK(bad.id == 9);  // the id is recovered so the sender can be answered
  // A huge declared array length must not allocate: the unpack limits refuse it.
  std::string huge = "\xdd\xff\xff\xff\xff";
  CHECK_FALSE(decode(huge, op).ok());
}

TEST_CASE("key ranges are half-open and ordered by unsigned bytes") {
  KeyRange r{"b", std::string("m")};
  CHECK(r.contains("b"));
  CHECK(r.contains("lzzz"));
  CHECK_FALSE(r.contains("m"));
  CHECK_FALSE(r.contains("a"));
  KeyRange top{"m", std::nullopt};
  CHECK(top.contains("\xff\xff"));
  CHECK(compare_keys("\x80", "\x7f") > 0);  // unsigned, not signed, bytes
  CHECK(r.overlaps_closed("a", "b"));
  CHECK_FALSE(r.overlaps_closed("m", "z"));
  CHECK(escape_key(std::string("a\0b", 3)) == "a\\x00b");
}

TEST_CASE("worker memory and durability round-trip, absent fields stay zero") {
  Reply beat;
  beat.op = "heartbeat";
  beat.worker = "w1";
  beat.rss = 35u << 20;
  beat.fsync = "always";
  Reply back;
  REQUIRE(decode(encode(beat), back).ok());
  REQUIRE(back.rss.has_value());
  CHECK(*back.rss == 35u << 20);
  CHECK(back.fsync == "always");

  Reply plain;
  plain.op = "heartbeat";
  Reply plain_back;
  REQUIRE(decode(encode(plain), plain_back).ok());
  CHECK_FALSE(plain_back.rss.has_value());
  CHECK(plain_back.fsync.empty());

  Reply status;
  WorkerInfo disk{"w1", true, 5, 2, false};
  disk.bytes = 640;
  disk.rss = 4096;
  disk.persistent = true;
  disk.fsync = "everysec";
  WorkerInfo mem{"w2", false, 0, 0, true};
  status.workers = {disk, mem};
  Reply status_back;
  REQUIRE(decode(encode(status), status_back).ok());
  CHECK(status_back.workers == status.workers);
  CHECK(status_back.workers[1].fsync.empty());
  CHECK_FALSE(status_back.workers[1].persistent);
}

TEST_CASE("replication fields round-trip: replicas, seq and zone, left out when unset") {
  ShardInfo s;
  s.id = 7;
  s.lo = "a";
  s.hi = "m";
  s.epoch = 12;
  s.seed = 99;
  s.replicas = {"w2", "w1", std::string("w\0x", 3)};
  Op assign;
  assign.op = "assign";
  assign.shards = {s, ShardInfo{}};
  Op batch;
  batch.op = "batch";
  Op set;
  set.op = "set";
  set.key = "k";
  set.value = "v";
  set.shard = 7;
  set.epoch = 12;
  set.seq = ~0ull;
  Op get = set;
  get.op = "get";
  get.value.reset();
  get.seq.reset();
  batch.batch = {set, get};
  Reply reg;
  reg.op = "register";
  reg.worker = "w1";
  reg.zone = "eu-west-1a";
  reg.shards = {s};

  Op assign_back;
  REQUIRE(decode(encode(assign), assign_back).ok());
  REQUIRE(assign_back.shards.size() == 2);
  CHECK(assign_back.shards[0] == s);
  CHECK(assign_back.shards[1].replicas.empty());
  Op batch_back;
  REQUIRE(decode(encode(batch), batch_back).ok());
  REQUIRE(batch_back.batch.size() == 2);
  CHECK(batch_back.batch[0].seq == ~0ull);
  CHECK_FALSE(batch_back.batch[1].seq.has_value());
  CHECK_FALSE(batch_back.seq.has_value());
  Reply reg_back;
  REQUIRE(decode(encode(reg), reg_back).ok());
  CHECK(reg_back.zone == "eu-west-1a");
  REQUIRE(reg_back.shards.size() == 1);
  CHECK(reg_back.shards[0].replicas == s.replicas);

  SECTION("a WHERE reply's members round-trip, and are left out when there are none") {
    Reply where;
    where.where = WhereInfo{7, "w2", "7:LR", 2, true, {"w2", "w1"}};
    Reply back;
    REQUIRE(decode(encode(where), back).ok());
    REQUIRE(back.where.has_value());
    CHECK(*back.where == *where.where);
    where.where->members.clear();
    CHECK(encode(where).find("members") == std::string::npos);
  }
  SECTION("a status entry's joining member round-trips") {
    ShardInfo st = s;
    st.joining = "w3";
    Reply status;
    status.shards = {st};
    Reply back;
    REQUIRE(decode(encode(status), back).ok());
    REQUIRE(back.shards.size() == 1);
    CHECK(back.shards[0].joining == "w3");
    CHECK(encode(reg).find("joining") == std::string::npos);
  }
  SECTION("seq 0 is still sent (only an absent seq is left out)") {
    Op zero = set;
    zero.seq = 0;
    Op back;
    REQUIRE(decode(encode(zero), back).ok());
    CHECK(back.seq == 0u);
  }
  SECTION("unset fields are not on the wire") {
    ShardInfo plain = s;
    plain.replicas.clear();
    Op plain_assign;
    plain_assign.op = "assign";
    plain_assign.shards = {plain};
    CHECK(encode(plain_assign).find("replicas") == std::string::npos);
    CHECK(encode(get).find("seq") == std::string::npos);
    Reply plain_reg = reg;
    plain_reg.zone.clear();
    plain_reg.shards = {plain};
    CHECK(encode(plain_reg).find("zone") == std::string::npos);
  }
  SECTION("wrong types are refused") {
    auto op_with = [](const char* field, auto value) {
      msgpack::sbuffer buf;
      msgpack::packer<msgpack::sbuffer> pk(buf);
      pk.pack_map(4);
      pk.pack(std::string("v")), pk.pack(1);
      pk.pack(std::string("id")), pk.pack(5);
      pk.pack(std::string("op")), pk.pack(std::string("assign"));
      pk.pack(std::string(field)), pk.pack(value);
      return std::string(buf.data(), buf.size());
    };
    Op back;
    CHECK_FALSE(decode(op_with("seq", std::string("1")), back).ok());
    CHECK_FALSE(decode(op_with("seq", -1), back).ok());
    std::map<std::string, int> numbers{{"id", 1}, {"replicas", 3}};
    CHECK_FALSE(decode(op_with("shards", std::vector<decltype(numbers)>{numbers}), back).ok());
    std::map<std::string, std::vector<int>> ints{{"replicas", {1, 2}}};
    CHECK_FALSE(decode(op_with("shards", std::vector<decltype(ints)>{ints}), back).ok());
    std::map<std::string, std::vector<std::string>> names{{"replicas", {"w1", "w2"}}};
    REQUIRE(decode(op_with("shards", std::vector<decltype(names)>{names}), back).ok());
    CHECK(back.shards.at(0).replicas == std::vector<std::string>{"w1", "w2"});
  }
}
