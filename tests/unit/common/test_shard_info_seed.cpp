// The treap seed travels in ShardInfo between broker and workers (assign, register) but a zero seed
// (what status replies carry: the broker clears it) is not encoded at all.
#include <catch2/catch.hpp>
#include <string>

#include "common/envelope.hpp"
#include "common/protocol.hpp"

using namespace clossyne;

namespace {
ShardInfo shard(uint64_t seed) {
  ShardInfo s;
  s.id = 3;
  s.lo = std::string(1, 'a');
  s.hi = std::string(1, 'm');
  s.epoch = 9;
  s.seed = seed;
  s.keys = 12;
  s.owner = "w1";
  return s;
}
}  // namespace

TEST_CASE("shard info: a zero seed is left out of the encoding, a real one round-trips") {
  Reply status;
  status.id = 1;
  status.shards = {shard(0), shard(0)};
  const std::string body = encode(status);
  CHECK(body.find("seed") == std::string::npos);
  Reply back;
  REQUIRE(decode(body, back).ok());
  REQUIRE(back.shards.size() == 2);
  CHECK(back.shards[0] == shard(0));

  Op assign;
  assign.id = 2;
  assign.op = std::string(proto::op::kAssign);
  assign.shards = {shard(0x5eed5eed12345678ull)};
  const std::string op_body = encode(assign);
  CHECK(op_body.find("seed") != std::string::npos);
  Op op_back;
  REQUIRE(decode(op_body, op_back).ok());
  REQUIRE(op_back.shards.size() == 1);
  CHECK(op_back.shards[0].seed == 0x5eed5eed12345678ull);
  CHECK(op_back.shards[0] == shard(0x5eed5eed12345678ull));
}
