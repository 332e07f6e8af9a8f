// decode()'s fast path must agree with the full decoder wherever it answers, and must answer for
// the hot shapes (batches of single-key ops and their replies).
#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "common/envelope.hpp"
#include "common/envelope_fast.hpp"

using namespace clossyne;

namespace {

struct Gen {
  std::mt19937_64 rng{12345};
  uint64_t below(uint64_t n) { return rng() % n; }
  bool coin() { return below(2) == 0; }
  std::string bytes() {
    static const std::size_t kLens[] = {0, 1, 15, 16, 31, 32, 200, 255, 256, 70000};
    std::string s(kLens[below(9 + (below(20) == 0))], '\0');
    for (auto& c : s) c = static_cast<char>(below(256));
    return s;
  }
  uint64_t number() {
    static const uint64_t kEdges[] = {
        0, 1, 127, 128, 255, 256, 65535, 65536, 0xffffffffull, 0x100000000ull, ~0ull};
    return coin() ? kEdges[below(11)] : rng();
  }
  Op op(bool nested) {
    static const char* kNames[] = {"get", "set", "del", "rng", "exists", "where", "count", "ping"};
    Op o;
    o.id = number();
    o.op = kNames[below(8)];
    if (coin()) o.key = bytes();
    if (coin()) o.value = bytes();
    if (below(4) == 0) o.end = bytes();
    if (below(4) == 0) o.limit = number();
    if (coin()) {
      o.shard = static_cast<uint32_t>(number());
      o.epoch = number();
      if (coin()) o.seq = number();  // a replicated write
    }
    o.stream = below(4) == 0;
    if (!nested && below(3) == 0) {
      o.op = "batch";
      for (uint64_t i = below(40); i > 0; --i) o.batch.push_back(op(true));
    }
    return o;
  }
  Reply reply(bool nested) {
    Reply r;
    r.id = number();
    if (below(5) == 0) r = Reply::Error(r.id, "ERR " + bytes());
    if (coin()) {
      r.has_value = true;
      if (coin()) r.value = bytes();
    }
    if (below(3) == 0) r.n = coin() ? static_cast<int64_t>(number() >> 1) : -int64_t(below(1000));
    if (!nested && below(3) == 0) {
      r.is_batch = true;
      r.partial = coin();
      for (uint64_t i = below(40); i > 0; --i) r.replies.push_back(reply(true));
    }
    return r;
  }
  std::string mutate(std::string m) {
    switch (below(4)) {
      case 0:
        if (!m.empty()) m[below(m.size())] = static_cast<char>(below(256));
        break;
      case 1:
        m.resize(below(m.size() + 1));
        break;
      case 2:
        m.insert(below(m.size() + 1), 1, static_cast<char>(below(256)));
        break;
      default:
        if (!m.empty()) m.erase(below(m.size()), 1);
    }
    return m;
  }
};

template <typename T>
void check_agrees(const std::string& body) {
  T fast;
  if (!decode_fast(body, fast)) return;
  T full;
  REQUIRE(decode_full(body, full).ok());
  REQUIRE(encode(fast) == encode(full));
}

// The fast path takes the envelope, decodes it to what was encoded, and agrees with the full one.
template <typename T>
void check_round_trip(const T& value) {
  const std::string body = encode(value);
  T fast;
  REQUIRE(decode_fast(body, fast));
  CHECK(encode(fast) == body);
  check_agrees<T>(body);
}

}  // namespace

TEST_CASE("the fast path decodes the hot envelopes exactly as the full decoder") {
  Gen g;
  for (int i = 0; i < 3000; ++i) {
    check_round_trip(g.op(false));
    check_round_trip(g.reply(false));
  }
}

TEST_CASE("on damaged input the fast path either agrees with the full decoder or declines") {
  Gen g;
  int declined = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string body = encode(g.op(false));
    std::string rbody = encode(g.reply(false));
    for (int m = 0; m < 5; ++m) {
      body = g.mutate(body);
      rbody = g.mutate(rbody);
      check_agrees<Op>(body);
      check_agrees<Reply>(rbody);
      Op probe;
      declined += !decode_fast(body, probe);
    }
  }
  CHECK(declined > 0);  // the damage did reach the fallback
}

TEST_CASE("fields the fast path does not handle go to the full decoder, and decode() still works") {
  Op mset;
  mset.id = 5;
  mset.op = "mset";
  mset.pairs = {{"a", "1"}, {"b", "2"}};
  Op fast;
  CHECK_FALSE(decode_fast(encode(mset), fast));
  Op out;
  REQUIRE(decode(encode(mset), out).ok());
  CHECK(out.pairs == mset.pairs);
  CHECK(out.id == 5);

  Reply hb;
  hb.op = std::string("heartbeat");
  hb.worker = std::string("w1");
  hb.shards.push_back(ShardInfo{});
  Reply rfast;
  CHECK_FALSE(decode_fast(encode(hb), rfast));
  Reply rout;
  REQUIRE(decode(encode(hb), rout).ok());
  CHECK(rout.worker == "w1");
  CHECK(rout.shards.size() == 1);
  CHECK(rout.op == "heartbeat");  // no leftovers from the declined fast attempt
}
