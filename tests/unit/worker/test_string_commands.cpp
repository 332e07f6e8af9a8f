// worker/string_commands: Redis 7.2's string and expiry commands over a fake key, checked against
// the replies and error words Redis gives (its tests string.tcl, incr.tcl, expire.tcl, bitops.tcl).
#include <catch2/catch.hpp>
#include <climits>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/keyed_ops.hpp"
#include "worker/string_commands.hpp"

using namespace clossyne;

namespace {

// One key as a Shard would keep it: an expired entry stays until written (so a command that
// wrongly keeps the TTL of an absent key is caught), and the KeyAccess contract is enforced.
class FakeKey : public KeyAccess {
 public:
  int64_t now = 1'700'000'000'000;
  std::optional<std::string> stored;
  std::optional<int64_t> ttl_at;
  int writes = 0;

  bool live() const { return stored && (!ttl_at || *ttl_at > now); }
  std::optional<std::string_view> get() override {
    if (!live()) return std::nullopt;
    return std::string_view(*stored);
  }
  std::optional<int64_t> expiry() override { return live() ? ttl_at : std::nullopt; }
  void put(std::string_view value, bool keep_ttl) override {
    ++writes;
    stored = std::string(value);
    if (!keep_ttl) ttl_at.reset();
  }
  void set_expiry(std::optional<int64_t> at) override {
    if (!live()) throw std::logic_error("set_expiry on an absent key");
    if (at && *at <= now) throw std::logic_error("set_expiry with a time <= now");
    ++writes;
    ttl_at = at;
  }
  bool erase() override {
    const bool was = live();
    ++writes;
    stored.reset();
    ttl_at.reset();
    return was;
  }
};

struct Fixture {
  FakeKey key;

  Reply run(std::string_view op, std::initializer_list<std::string> args = {}) {
    return run_string_command(op, std::nullopt, std::vector<std::string>(args), key.now, key);
  }
  Reply set(std::string value, std::initializer_list<std::string> args = {}) {
    return run_string_command("set", std::optional<std::string>(std::move(value)),
                              std::vector<std::string>(args), key.now, key);
  }
  // The key's value, nullopt when absent or expired.
  std::optional<std::string> value() {
    auto v = key.get();
    return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
  }
  int64_t n(std::string_view op, std::initializer_list<std::string> args = {}) {
    Reply r = run(op, args);
    INFO(op << ": " << r.error);
    REQUIRE(r.ok);
    REQUIRE(r.n);
    return *r.n;
  }
  int64_t secs_from_now(int64_t s) const { return (key.now + s * 1000) / 1000; }
};

bool is_ok(const Reply& r) {
  return r.ok && !r.has_value && !r.n;
}
bool is_nil(const Reply& r) {
  return r.ok && r.has_value && !r.value;
}
bool is_bulk(const Reply& r, std::string_view s) {
  return r.ok && r.has_value && r.value && *r.value == s;
}
bool is_err(const Reply& r, std::string_view text) {
  return !r.ok && r.error == text;
}

const std::string kNotInt = "ERR value is not an integer or out of range";
const std::string kSyntax = "ERR syntax error";
const std::string kNotFloat = "ERR value is not a valid float";
const std::string kTooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
const std::string kBitOffset = "ERR bit offset is not an integer or out of range";
const std::string kBit = "ERR bit is not an integer or out of range";

}  // namespace

TEST_CASE("string_commands: the ops handled are exactly the keyed ops the Shard does not keep",
          "[string_commands]") {
  for (const KeyedOp& k : kKeyedOps) {
    const bool shard_keeps =
        k.name == "get" || k.name == "del" || k.name == "exists" || k.name == "where";
    INFO(k.name);
    CHECK(is_string_command(k.name) == !shard_keeps);
  }
  CHECK_FALSE(is_string_command("mget"));
  FakeKey key;
  CHECK(is_err(run_string_command("get", std::nullopt, {}, key.now, key), "ERR unknown op 'get'"));
  CHECK(is_err(run_string_command("SET", std::string("v"), {}, key.now, key),
               "ERR unknown op 'SET'"));
}

TEST_CASE("string_commands: wrong numbers of arguments", "[string_commands]") {
  Fixture f;
  CHECK(is_err(f.run("set"), "ERR wrong number of arguments for 'set' command"));
  CHECK(is_err(f.run("setex", {"10"}), "ERR wrong number of arguments for 'setex' command"));
  CHECK(is_err(f.run("incr", {"1"}), "ERR wrong number of arguments for 'incr' command"));
  CHECK(is_err(f.run("getrange", {"0"}), "ERR wrong number of arguments for 'getrange' command"));
  CHECK(is_err(f.run("expire"), "ERR wrong number of arguments for 'expire' command"));
  CHECK(is_err(f.run("xset", {"0"}), "ERR wrong number of arguments for 'xset' command"));
  CHECK(f.key.writes == 0);
}

TEST_CASE("string_commands: SET plain, NX, XX and GET", "[string_commands]") {
  Fixture f;
  CHECK(is_nil(f.set("a", {"XX"})));
  CHECK_FALSE(f.value());
  CHECK(is_ok(f.set("a", {"nx"})));
  CHECK(f.value() == "a");
  CHECK(is_nil(f.set("b", {"NX"})));
  CHECK(f.value() == "a");
  CHECK(is_ok(f.set("c", {"xX"})));
  CHECK(f.value() == "c");
  CHECK(is_bulk(f.set("d", {"GET"}), "c"));
  CHECK(f.value() == "d");
  // NX with GET (Redis 7): the old value either way, the write only when NX holds.
  CHECK(is_bulk(f.set("e", {"NX", "GET"}), "d"));
  CHECK(f.value() == "d");
  f.key.erase();
  CHECK(is_nil(f.set("x", {"XX", "GET"})));
  CHECK_FALSE(f.value());
  CHECK(is_nil(f.set("y", {"get", "nx"})));
  CHECK(f.value() == "y");
  CHECK(is_ok(f.set("")));
  CHECK(f.value() == "");
}

TEST_CASE("string_commands: SET expire options and TTL handling", "[string_commands]") {
  Fixture f;
  CHECK(is_ok(f.set("v", {"EX", "10"})));
  CHECK(f.key.ttl_at == f.key.now + 10'000);
  CHECK(is_ok(f.set("v", {"KEEPTTL"})));
  CHECK(f.key.ttl_at == f.key.now + 10'000);
  CHECK(is_ok(f.set("w")));  // a plain SET drops the TTL
  CHECK_FALSE(f.key.ttl_at);
  CHECK(is_ok(f.set("v", {"px", "1500"})));
  CHECK(f.n("pttl") == 1500);
  CHECK(is_ok(f.set("v", {"EXAT", std::to_string(f.secs_from_now(100))})));
  CHECK(f.n("expiretime") == f.secs_from_now(100));
  CHECK(is_ok(f.set("v", {"PXAT", std::to_string(f.key.now + 5)})));
  CHECK(f.n("pexpiretime") == f.key.now + 5);
  // EX twice: the last wins, as Redis's parser allows a repeat.
  CHECK(is_ok(f.set("v", {"EX", "10", "ex", "20"})));
  CHECK(f.n("ttl") == 20);
  // PXAT LLONG_MAX needs no addition and is valid.
  CHECK(is_ok(f.set("v", {"PXAT", "9223372036854775807"})));
  CHECK(f.n("pexpiretime") == LLONG_MAX);
  CHECK(f.n("expiretime") == 9223372036854776);  // rounded up, no overflow (as Redis 7.0.15)
}

TEST_CASE("string_commands: SET with a past EXAT or PXAT leaves no key", "[string_commands]") {
  Fixture f;
  REQUIRE(is_ok(f.set("old")));
  CHECK(is_bulk(f.set("new", {"PXAT", std::to_string(f.key.now), "GET"}), "old"));
  CHECK_FALSE(f.value());
  CHECK(is_ok(f.set("new", {"EXAT", "1"})));
  CHECK_FALSE(f.value());
  CHECK(f.n("ttl") == -2);
}

TEST_CASE("string_commands: SET option conflicts are syntax errors", "[string_commands]") {
  Fixture f;
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"NX", "XX"},
           {"XX", "NX"},
           {"EX", "1", "PX", "1"},
           {"PX", "1", "EXAT", "1"},
           {"EXAT", "1", "PXAT", "1"},
           {"EX", "1", "KEEPTTL"},
           {"KEEPTTL", "EX", "1"},
           {"KEEPTTL", "PXAT", "1"},
           {"PERSIST"},
           {"EX"},
           {"NX", "PX"},
           {"FOO"},
           {"NXX"},
           {"EX", "0", "NX", "XX"},  // syntax is checked before the expire time
       }) {
    INFO(args.size() << " " << args[0]);
    CHECK(is_err(run_string_command("set", std::string("v"), args, f.key.now, f.key), kSyntax));
  }
  CHECK(f.key.writes == 0);
}

TEST_CASE("string_commands: SET expire time errors", "[string_commands]") {
  Fixture f;
  const std::string bad = "ERR invalid expire time in 'set' command";
  CHECK(is_err(f.set("v", {"EX", "0"}), bad));
  CHECK(is_err(f.set("v", {"PX", "-1"}), bad));
  CHECK(is_err(f.set("v", {"EXAT", "0"}), bad));
  CHECK(is_err(f.set("v", {"EX", "9223372036854776"}), bad));  // * 1000 overflows
  CHECK(is_err(f.set("v", {"EX", "9223372036854775"}), bad));  // + now overflows
  CHECK(is_err(f.set("v", {"PX", "9223372036854775807"}), bad));
  CHECK(is_err(f.set("v", {"EX", "ten"}), kNotInt));
  CHECK(is_err(f.set("v", {"EX", "1.5"}), kNotInt));
  // The expire time is checked before NX|XX and GET.
  REQUIRE(is_ok(f.set("old")));
  CHECK(is_err(f.set("v", {"NX", "GET", "EX", "0"}), bad));
  CHECK(f.value() == "old");
}

TEST_CASE("string_commands: SETNX, SETEX, PSETEX, GETSET, GETDEL", "[string_commands]") {
  Fixture f;
  CHECK(f.n("setnx", {"a"}) == 1);
  CHECK(f.n("setnx", {"b"}) == 0);
  CHECK(f.value() == "a");
  CHECK(is_ok(f.run("setex", {"10", "x"})));
  CHECK(f.value() == "x");
  CHECK(f.n("ttl") == 10);
  CHECK(is_ok(f.run("psetex", {"2500", "y"})));
  CHECK(f.n("pttl") == 2500);
  CHECK(is_err(f.run("setex", {"0", "z"}), "ERR invalid expire time in 'setex' command"));
  CHECK(is_err(f.run("psetex", {"-5", "z"}), "ERR invalid expire time in 'psetex' command"));
  CHECK(is_err(f.run("setex", {"x", "z"}), kNotInt));
  CHECK(f.value() == "y");
  // GETSET answers the old value and drops the TTL.
  CHECK(is_bulk(f.run("getset", {"g"}), "y"));
  CHECK(f.value() == "g");
  CHECK(f.n("ttl") == -1);
  CHECK(is_bulk(f.run("getdel"), "g"));
  CHECK_FALSE(f.value());
  CHECK(is_nil(f.run("getdel")));
  CHECK(is_nil(f.run("getset", {"h"})));
  CHECK(f.value() == "h");
}

TEST_CASE("string_commands: GETEX", "[string_commands]") {
  Fixture f;
  CHECK(is_nil(f.run("getex")));
  CHECK(is_nil(f.run("getex", {"EX", "-1"})));  // an absent key: nil before the time is checked
  REQUIRE(is_ok(f.set("v")));
  CHECK(is_bulk(f.run("getex"), "v"));
  CHECK(f.n("ttl") == -1);
  CHECK(is_bulk(f.run("getex", {"ex", "100"}), "v"));
  CHECK(f.n("ttl") == 100);
  CHECK(is_bulk(f.run("getex", {"PX", "500"}), "v"));
  CHECK(f.n("pttl") == 500);
  CHECK(is_bulk(f.run("getex", {"EXAT", std::to_string(f.secs_from_now(50))}), "v"));
  CHECK(f.n("expiretime") == f.secs_from_now(50));
  CHECK(is_bulk(f.run("getex", {"persist"}), "v"));
  CHECK(f.n("ttl") == -1);
  CHECK(is_err(f.run("getex", {"EX", "-1"}), "ERR invalid expire time in 'getex' command"));
  CHECK(is_err(f.run("getex", {"EX", "x"}), kNotInt));
  CHECK(is_err(f.run("getex", {"NX"}), kSyntax));
  CHECK(is_err(f.run("getex", {"KEEPTTL"}), kSyntax));
  CHECK(is_err(f.run("getex", {"GET"}), kSyntax));
  CHECK(is_err(f.run("getex", {"EX", "10", "PERSIST"}), kSyntax));
  CHECK(is_err(f.run("getex", {"PERSIST", "EX", "10"}), kSyntax));
  CHECK(is_err(f.run("getex", {"EX"}), kSyntax));
  // A past absolute time answers the value and deletes the key.
  CHECK(is_bulk(f.run("getex", {"PXAT", std::to_string(f.key.now)}), "v"));
  CHECK_FALSE(f.value());
}

TEST_CASE("string_commands: INCR, DECR, INCRBY, DECRBY", "[string_commands]") {
  Fixture f;
  CHECK(f.n("incr") == 1);
  CHECK(f.value() == "1");
  CHECK(f.n("incr") == 2);
  REQUIRE(is_ok(f.set("100")));
  CHECK(f.n("incr") == 101);
  REQUIRE(is_ok(f.set("17179869184")));
  CHECK(f.n("incr") == 17179869185);
  REQUIRE(is_ok(f.set("17179869184")));
  CHECK(f.n("incrby", {"17179869184"}) == 34359738368);
  REQUIRE(is_ok(f.set("17179869184")));
  CHECK(f.n("decrby", {"17179869185"}) == -1);
  CHECK(f.n("decr") == -2);
  CHECK(f.n("incrby", {"-8"}) == -10);
  CHECK(f.n("decrby", {"-10"}) == 0);
  CHECK(f.value() == "0");
}

TEST_CASE("string_commands: INCR family errors", "[string_commands]") {
  Fixture f;
  for (const char* bad : {"    11", "11    ", " 11 ", "+1", "007", "-0", "", "1.5", "1e3",
                          "9223372036854775808", "abc"}) {
    INFO("value '" << bad << "'");
    REQUIRE(is_ok(f.set(bad)));
    CHECK(is_err(f.run("incr"), kNotInt));
    CHECK(f.value() == bad);
  }
  REQUIRE(is_ok(f.set("9223372036854775807")));
  CHECK(is_err(f.run("incr"), "ERR increment or decrement would overflow"));
  REQUIRE(is_ok(f.set("-9223372036854775808")));
  CHECK(is_err(f.run("decr"), "ERR increment or decrement would overflow"));
  CHECK(is_err(f.run("incrby", {"-1"}), "ERR increment or decrement would overflow"));
  CHECK(f.n("incrby", {"9223372036854775807"}) == -1);
  REQUIRE(is_ok(f.set("0")));
  CHECK(is_err(f.run("decrby", {"-9223372036854775808"}), "ERR decrement would overflow"));
  CHECK(is_err(f.run("incrby", {"x"}), kNotInt));
  CHECK(is_err(f.run("incrby", {" 1"}), kNotInt));
  CHECK(is_err(f.run("decrby", {"1.0"}), kNotInt));
  CHECK(f.value() == "0");
}

TEST_CASE("string_commands: INCR family and INCRBYFLOAT keep the TTL", "[string_commands]") {
  Fixture f;
  REQUIRE(is_ok(f.set("5", {"EX", "100"})));
  CHECK(f.n("incr") == 6);
  CHECK(f.n("incrby", {"4"}) == 10);
  CHECK(f.n("ttl") == 100);
  CHECK(is_bulk(f.run("incrbyfloat", {"0.5"}), "10.5"));
  CHECK(f.n("ttl") == 100);
  // An expired key starts from nothing and has no TTL afterwards.
  f.key.now += 100'000;
  CHECK(f.n("incr") == 1);
  CHECK(f.n("ttl") == -1);
}

TEST_CASE("string_commands: writes over an expired key never revive its TTL", "[string_commands]") {
  const std::vector<std::pair<std::string, std::vector<std::string>>> writes = {
      {"incr", {}},
      {"incrby", {"2"}},
      {"decr", {}},
      {"decrby", {"2"}},
      {"incrbyfloat", {"1.5"}},
      {"append", {"x"}},
      {"setrange", {"2", "x"}},
      {"setbit", {"3", "1"}},
      {"getset", {"x"}},
      {"setnx", {"x"}}};
  for (const auto& [op, args] : writes) {
    INFO(op);
    Fixture f;
    f.key.stored = "7";
    f.key.ttl_at = f.key.now;  // expired: absent, its entry not yet removed
    const Reply r = run_string_command(op, std::nullopt, args, f.key.now, f.key);
    CHECK(r.ok);
    CHECK(f.value());
    CHECK(f.n("ttl") == -1);
  }
  Fixture f;
  f.key.stored = "7";
  f.key.ttl_at = f.key.now - 1;
  CHECK(is_ok(f.set("v", {"KEEPTTL"})));
  CHECK(f.n("ttl") == -1);
}

TEST_CASE("string_commands: INCRBYFLOAT values and formatting", "[string_commands]") {
  Fixture f;
  CHECK(is_bulk(f.run("incrbyfloat", {"1"}), "1"));
  CHECK(f.value() == "1");
  CHECK(is_bulk(f.run("incrbyfloat", {"0.25"}), "1.25"));
  REQUIRE(is_ok(f.set("1.5")));
  CHECK(is_bulk(f.run("incrbyfloat", {"1.5"}), "3"));
  REQUIRE(is_ok(f.set("17179869184")));
  CHECK(is_bulk(f.run("incrbyfloat", {"1.5"}), "17179869185.5"));
  REQUIRE(is_ok(f.set("17179869184")));
  CHECK(is_bulk(f.run("incrbyfloat", {"17179869184"}), "34359738368"));
  REQUIRE(is_ok(f.set("10.5")));
  CHECK(is_bulk(f.run("incrbyfloat", {"0.1"}), "10.6"));
  REQUIRE(is_ok(f.set("5.0e3")));
  CHECK(is_bulk(f.run("incrbyfloat", {"2.0e2"}), "5200"));
  REQUIRE(is_ok(f.set("1")));
  CHECK(is_bulk(f.run("incrbyfloat", {"-1.1"}), "-0.1"));
  CHECK(is_bulk(f.run("incrbyfloat", {"0.1"}), "0"));  // "-0" is never written
  f.key.erase();
  CHECK(is_bulk(f.run("incrbyfloat", {"0.024390243902439025"}), "0.02439024390243902"));
  CHECK(is_bulk(f.run("incrbyfloat", {"-0.024390243902439025"}), "0"));
  REQUIRE(is_ok(f.set("3")));
  CHECK(is_bulk(f.run("incrbyfloat", {"1e2"}), "103"));
  CHECK(is_bulk(f.run("incrbyfloat", {"-103.000"}), "0"));
}

TEST_CASE("string_commands: INCRBYFLOAT errors", "[string_commands]") {
  Fixture f;
  for (const char* bad : {"    11", "11    ", " 11 ", "", "abc", "1.5x", "nan"}) {
    INFO("value '" << bad << "'");
    REQUIRE(is_ok(f.set(bad)));
    CHECK(is_err(f.run("incrbyfloat", {"1.0"}), kNotFloat));
  }
  REQUIRE(
      is_ok(f.set(std::string("1\0"
                              "2",
                              3))));  // incr.tcl: a NUL inside the number
  CHECK(is_err(f.run("incrbyfloat", {"1"}), kNotFloat));
  REQUIRE(is_ok(f.set("0")));
  CHECK(is_err(f.run("incrbyfloat", {" 1"}), kNotFloat));
  CHECK(is_err(f.run("incrbyfloat", {"1e99999"}), kNotFloat));  // out of long double's range
  CHECK(is_err(f.run("incrbyfloat", {"+inf"}), "ERR increment would produce NaN or Infinity"));
  CHECK(is_err(f.run("incrbyfloat", {"-inf"}), "ERR increment would produce NaN or Infinity"));
  CHECK(f.value() == "0");
}

TEST_CASE("string_commands: APPEND and STRLEN", "[string_commands]") {
  Fixture f;
  CHECK(f.n("strlen") == 0);
  CHECK(f.n("append", {"Hello"}) == 5);
  CHECK(f.n("append", {" World"}) == 11);
  CHECK(f.value() == "Hello World");
  CHECK(f.n("strlen") == 11);
  REQUIRE(is_bulk(f.run("getex", {"EX", "30"}), "Hello World"));
  CHECK(f.n("append", {"!"}) == 12);
  CHECK(f.n("ttl") == 30);
  f.key.erase();
  CHECK(f.n("append", {""}) == 0);  // creates an empty string
  CHECK(f.value() == "");
  CHECK(f.n("type") == 1);
}

TEST_CASE("string_commands: GETRANGE and SUBSTR", "[string_commands]") {
  Fixture f;
  CHECK(is_bulk(f.run("getrange", {"0", "-1"}), ""));  // absent: an empty string, not nil
  REQUIRE(is_ok(f.set("Hello World")));
  CHECK(is_bulk(f.run("getrange", {"0", "3"}), "Hell"));
  CHECK(is_bulk(f.run("getrange", {"0", "-1"}), "Hello World"));
  CHECK(is_bulk(f.run("getrange", {"-4", "-1"}), "orld"));
  CHECK(is_bulk(f.run("getrange", {"5", "3"}), ""));
  CHECK(is_bulk(f.run("getrange", {"5", "5000"}), " World"));
  CHECK(is_bulk(f.run("getrange", {"-5000", "10000"}), "Hello World"));
  CHECK(is_bulk(f.run("getrange", {"-1", "-5"}), ""));
  CHECK(is_bulk(f.run("getrange", {"0", "-100"}), "H"));  // Redis 7: end clamps to 0
  CHECK(is_bulk(f.run("getrange", {"-100", "-100"}), "H"));
  CHECK(is_bulk(f.run("getrange", {"11", "20"}), ""));
  CHECK(is_bulk(f.run("substr", {"6", "-1"}), "World"));
  CHECK(is_err(f.run("getrange", {"a", "1"}), kNotInt));
  CHECK(is_err(f.run("getrange", {"0", "1.0"}), kNotInt));
  REQUIRE(is_ok(f.set("")));
  CHECK(is_bulk(f.run("getrange", {"0", "-1"}), ""));
}

TEST_CASE("string_commands: SETRANGE", "[string_commands]") {
  Fixture f;
  CHECK(f.n("setrange", {"0", ""}) == 0);  // nothing to write: no key
  CHECK_FALSE(f.value());
  CHECK(f.n("setrange", {"1", "foo"}) == 4);
  CHECK(f.value() == std::string("\0foo", 4));
  REQUIRE(is_ok(f.set("hello world", {"PX", "9000"})));
  CHECK(f.n("setrange", {"6", "redis"}) == 11);
  CHECK(f.value() == "hello redis");
  CHECK(f.n("setrange", {"14", "!"}) == 15);
  CHECK(f.value() == std::string("hello redis\0\0\0!", 15));
  CHECK(f.n("pttl") == 9000);  // kept
  CHECK(f.n("setrange", {"100", ""}) == 15);
  CHECK(is_err(f.run("setrange", {"-1", "x"}), "ERR offset is out of range"));
  CHECK(is_err(f.run("setrange", {"x", "x"}), kNotInt));
  CHECK(is_err(f.run("setrange", {"536870911", "ab"}), kTooLong));
  CHECK(is_err(f.run("setrange", {"9223372036854775807", "ab"}), kTooLong));
  f.key.erase();
  CHECK(is_err(f.run("setrange", {"536870912", "a"}), kTooLong));
  CHECK_FALSE(f.value());
  CHECK(f.n("setrange", {"0", "abc"}) == 3);
  CHECK(f.n("ttl") == -1);
}

TEST_CASE("string_commands: GETBIT and SETBIT", "[string_commands]") {
  Fixture f;
  CHECK(f.n("getbit", {"0"}) == 0);
  CHECK(f.n("setbit", {"1", "1"}) == 0);
  CHECK(f.value() == "\x40");
  CHECK(f.n("getbit", {"1"}) == 1);
  CHECK(f.n("getbit", {"0"}) == 0);
  CHECK(f.n("getbit", {"100"}) == 0);
  CHECK(f.n("setbit", {"7", "1"}) == 0);
  CHECK(f.value() == "\x41");
  CHECK(f.n("setbit", {"1", "1"}) == 1);
  CHECK(f.n("setbit", {"1", "0"}) == 1);
  CHECK(f.value() == "\x01");
  CHECK(f.n("setbit", {"23", "1"}) == 0);  // grows with zero bytes
  CHECK(f.value() == std::string("\x01\0\x01", 3));
  // Redis reads bits of the string as stored: "1" is 0x31.
  REQUIRE(is_ok(f.set("1", {"EX", "40"})));
  CHECK(f.n("getbit", {"2"}) == 1);
  CHECK(f.n("getbit", {"4"}) == 0);
  CHECK(f.n("setbit", {"4", "1"}) == 0);
  CHECK(f.value() == "9");
  CHECK(f.n("ttl") == 40);
  const int writes = f.key.writes;
  CHECK(f.n("setbit", {"4", "1"}) == 1);  // unchanged: no write
  CHECK(f.key.writes == writes);
  CHECK(f.n("getbit", {"4294967295"}) == 0);
  CHECK(is_err(f.run("getbit", {"4294967296"}), kBitOffset));
  CHECK(is_err(f.run("getbit", {"-1"}), kBitOffset));
  CHECK(is_err(f.run("setbit", {"4294967296", "1"}), kBitOffset));
  CHECK(is_err(f.run("setbit", {"x", "1"}), kBitOffset));
  CHECK(is_err(f.run("setbit", {"0", "2"}), kBit));
  CHECK(is_err(f.run("setbit", {"0", "-1"}), kBit));
  CHECK(is_err(f.run("setbit", {"0", "x"}), kBit));
  CHECK(is_err(f.run("setbit", {"x", "x"}), kBitOffset));  // the offset is checked first
}

namespace {

int64_t reference_bitcount(const std::string& s, int64_t first_bit, int64_t last_bit) {
  int64_t n = 0;
  for (int64_t b = first_bit; b <= last_bit; ++b) {
    n += (static_cast<unsigned char>(s[b / 8]) >> (7 - b % 8)) & 1;
  }
  return n;
}

}  // namespace

TEST_CASE("string_commands: BITCOUNT", "[string_commands]") {
  Fixture f;
  CHECK(f.n("bitcount") == 0);
  CHECK(f.n("bitcount", {"0", "-1"}) == 0);
  CHECK(is_err(f.run("bitcount", {"0", "1", "FOO"}), kSyntax));  // even for an absent key (7.2)
  REQUIRE(is_ok(f.set("foobar")));
  CHECK(f.n("bitcount") == 26);
  CHECK(f.n("bitcount", {"0", "0"}) == 4);
  CHECK(f.n("bitcount", {"1", "1"}) == 6);
  CHECK(f.n("bitcount", {"1", "1", "byte"}) == 6);
  CHECK(f.n("bitcount", {"5", "30", "BIT"}) == 17);
  CHECK(f.n("bitcount", {"-2", "-1"}) == 7);
  CHECK(f.n("bitcount", {"-1", "-2"}) == 0);
  CHECK(f.n("bitcount", {"0", "-100"}) == 4);
  CHECK(f.n("bitcount", {"-100", "100"}) == 26);
  CHECK(f.n("bitcount", {"3", "1"}) == 0);
  CHECK(f.n("bitcount", {"6", "10"}) == 0);
  CHECK(is_err(f.run("bitcount", {"0"}), kSyntax));
  CHECK(is_err(f.run("bitcount", {"0", "1", "BIT", "x"}), kSyntax));
  CHECK(is_err(f.run("bitcount", {"a", "1"}), kNotInt));
  CHECK(is_err(f.run("bitcount", {"0", "1", "BITS"}), kSyntax));
  // BIT ranges, negative ones included, against a bit-by-bit count.
  const std::string s = "foobar";
  const int64_t bits = 48;
  for (int64_t start = -50; start <= 50; start += 3) {
    for (int64_t end = -50; end <= 50; end += 5) {
      int64_t a = start < 0 ? std::max<int64_t>(0, bits + start) : start;
      int64_t b = end < 0 ? std::max<int64_t>(0, bits + end) : std::min(end, bits - 1);
      const bool none = (start < 0 && end < 0 && start > end) || a > b;
      INFO(start << " " << end);
      CHECK(f.n("bitcount", {std::to_string(start), std::to_string(end), "bit"}) ==
            (none ? 0 : reference_bitcount(s, a, b)));
    }
  }
}

TEST_CASE("string_commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT", "[string_commands]") {
  Fixture f;
  CHECK(f.n("expire", {"100"}) == 0);  // absent
  REQUIRE(is_ok(f.set("v")));
  CHECK(f.n("expire", {"100"}) == 1);
  CHECK(f.key.ttl_at == f.key.now + 100'000);
  CHECK(f.n("pexpire", {"1500"}) == 1);
  CHECK(f.key.ttl_at == f.key.now + 1500);
  CHECK(f.n("expireat", {std::to_string(f.secs_from_now(60))}) == 1);
  CHECK(f.key.ttl_at == f.secs_from_now(60) * 1000);
  CHECK(f.n("pexpireat", {std::to_string(f.key.now + 7)}) == 1);
  CHECK(f.key.ttl_at == f.key.now + 7);
  CHECK(f.n("pexpireat", {"9223372036854775807"}) == 1);  // no addition: valid
  CHECK(f.key.ttl_at == LLONG_MAX);
  f.key.now += 7;
  CHECK(f.value() == "v");
}

TEST_CASE("string_commands: EXPIRE with a time not after now deletes", "[string_commands]") {
  Fixture f;
  for (const auto& [op, arg] :
       std::vector<std::pair<std::string, std::string>>{{"expire", "0"},
                                                        {"expire", "-10"},
                                                        {"pexpire", "0"},
                                                        {"expireat", "1"},
                                                        {"pexpireat", "-1"}}) {
    INFO(op << " " << arg);
    REQUIRE(is_ok(f.set("v")));
    CHECK(f.n(op, {arg}) == 1);
    CHECK_FALSE(f.value());
  }
  REQUIRE(is_ok(f.set("v")));
  CHECK(f.n("pexpireat", {std::to_string(f.key.now)}) == 1);
  CHECK_FALSE(f.value());
}

TEST_CASE("string_commands: EXPIRE NX XX GT LT", "[string_commands]") {
  Fixture f;
  REQUIRE(is_ok(f.set("v")));
  CHECK(f.n("expire", {"100", "XX"}) == 0);
  CHECK(f.n("expire", {"100", "GT"}) == 0);  // no TTL is an infinite one
  CHECK(f.n("ttl") == -1);
  CHECK(f.n("expire", {"100", "nx"}) == 1);
  CHECK(f.n("expire", {"200", "NX"}) == 0);
  CHECK(f.n("ttl") == 100);
  CHECK(f.n("expire", {"200", "xx"}) == 1);
  CHECK(f.n("expire", {"150", "GT"}) == 0);
  CHECK(f.n("expire", {"200", "GT"}) == 0);
  CHECK(f.n("expire", {"300", "gt"}) == 1);
  CHECK(f.n("expire", {"300", "LT"}) == 0);
  CHECK(f.n("expire", {"400", "LT"}) == 0);
  CHECK(f.n("expire", {"50", "lt"}) == 1);
  CHECK(f.n("expire", {"60", "XX", "GT"}) == 1);
  CHECK(f.n("ttl") == 60);
  CHECK(f.n("persist") == 1);
  CHECK(f.n("expire", {"70", "LT"}) == 1);  // below infinity
  CHECK(f.n("ttl") == 70);
  CHECK(f.n("persist") == 1);
  CHECK(f.n("expire", {"-1", "LT"}) == 1);
  CHECK_FALSE(f.value());
}

TEST_CASE("string_commands: EXPIRE errors", "[string_commands]") {
  Fixture f;
  REQUIRE(is_ok(f.set("v")));
  const std::string nx = "ERR NX and XX, GT or LT options at the same time are not compatible";
  CHECK(is_err(f.run("expire", {"10", "NX", "XX"}), nx));
  CHECK(is_err(f.run("expire", {"10", "GT", "NX"}), nx));
  CHECK(is_err(f.run("pexpire", {"10", "NX", "LT"}), nx));
  CHECK(is_err(f.run("expire", {"10", "GT", "LT"}),
               "ERR GT and LT options at the same time are not compatible"));
  CHECK(is_err(f.run("expire", {"10", "FOO"}), "ERR Unsupported option FOO"));
  CHECK(is_err(f.run("expire", {"ten", "FOO"}), "ERR Unsupported option FOO"));
  CHECK(is_err(f.run("expire", {"ten"}), kNotInt));
  CHECK(is_err(f.run("expire", {"9223372036854775807"}),
               "ERR invalid expire time in 'expire' command"));
  CHECK(is_err(f.run("expire", {"-9223372036854775808"}),
               "ERR invalid expire time in 'expire' command"));
  CHECK(is_err(f.run("pexpire", {"9223372036854775807"}),
               "ERR invalid expire time in 'pexpire' command"));
  CHECK(is_err(f.run("expireat", {"9223372036854775807"}),
               "ERR invalid expire time in 'expireat' command"));
  CHECK(f.value() == "v");
  CHECK(f.n("ttl") == -1);
  f.key.erase();
  CHECK(is_err(f.run("expire", {"10", "NX", "XX"}), nx));  // checked before the key
}

TEST_CASE("string_commands: TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST, TYPE",
          "[string_commands]") {
  Fixture f;
  for (const char* op : {"ttl", "pttl", "expiretime", "pexpiretime"}) CHECK(f.n(op) == -2);
  CHECK(f.n("persist") == 0);
  CHECK(f.n("type") == 0);
  REQUIRE(is_ok(f.set("v")));
  for (const char* op : {"ttl", "pttl", "expiretime", "pexpiretime"}) CHECK(f.n(op) == -1);
  CHECK(f.n("persist") == 0);
  CHECK(f.n("type") == 1);
  // TTL rounds to the nearest second, as Redis's (ms + 500) / 1000.
  for (const auto& [ms, s] : std::vector<std::pair<int64_t, int64_t>>{
           {1, 0}, {499, 0}, {500, 1}, {1499, 1}, {1500, 2}, {100'000, 100}}) {
    REQUIRE(f.n("pexpire", {std::to_string(ms)}) == 1);
    CHECK(f.n("ttl") == s);
    CHECK(f.n("pttl") == ms);
    CHECK(f.n("pexpiretime") == f.key.now + ms);
    CHECK(f.n("expiretime") == (f.key.now + ms + 500) / 1000);
  }
  CHECK(f.n("persist") == 1);
  CHECK(f.n("ttl") == -1);
  // Expiry by the clock: absent for every command once the time has come.
  REQUIRE(f.n("pexpire", {"100"}) == 1);
  f.key.now += 99;
  CHECK(f.n("pttl") == 1);
  f.key.now += 1;
  CHECK(f.n("ttl") == -2);
  CHECK(f.n("type") == 0);
  CHECK(f.n("persist") == 0);
  CHECK(is_nil(f.run("getdel")));
}

TEST_CASE("string_commands: xget and xset", "[string_commands]") {
  Fixture f;
  Reply r = f.run("xget");
  CHECK(is_nil(r));
  CHECK(r.n == 0);
  REQUIRE(is_ok(f.set("v", {"PX", "5000"})));
  r = f.run("xget");
  CHECK(is_bulk(r, "v"));
  CHECK(r.n == f.key.now + 5000);
  auto xset = [&f](std::string value, std::string at) {
    return run_string_command("xset", std::move(value), {std::move(at)}, f.key.now, f.key);
  };
  CHECK(is_ok(xset("w", "0")));  // replaces the TTL with none
  r = f.run("xget");
  CHECK(is_bulk(r, "w"));
  CHECK(r.n == 0);
  CHECK(is_ok(xset("x", std::to_string(f.key.now + 10))));
  CHECK(f.value() == "x");
  CHECK(f.n("pexpiretime") == f.key.now + 10);
  CHECK(is_ok(xset("y", std::to_string(f.key.now))));  // not after now: deleted
  CHECK_FALSE(f.value());
  CHECK(is_err(xset("z", "soon"), kNotInt));
  CHECK_FALSE(f.value());
}
