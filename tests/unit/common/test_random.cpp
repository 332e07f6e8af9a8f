#include <catch2/catch.hpp>
#include <cstdint>
#include <set>

#include "common/random.hpp"

using namespace clossyne;

TEST_CASE("secure_random_u64: nonzero, distinct, every bit varies") {
  std::set<uint64_t> seen;
  uint64_t ones = 0, zeros = 0;  // bits seen set / clear in some draw
  for (int i = 0; i < 256; ++i) {
    const uint64_t v = secure_random_u64();
    CHECK(v != 0);
    seen.insert(v);
    ones |= v;
    zeros |= ~v;
  }
  CHECK(seen.size() == 256);     // a repeat among 256 draws of 64 bits: ~2^-49
  CHECK(ones == ~uint64_t{0});   // each bit was 1 at least once
  CHECK(zeros == ~uint64_t{0});  // ... and 0 at least once
}

TEST_CASE("secure_random_bytes fills odd sizes and leaves the bytes after them alone") {
  unsigned char buf[67] = {};
  secure_random_bytes(buf, 65);
  int nonzero = 0;
  for (int i = 0; i < 65; ++i) nonzero += buf[i] != 0;
  CHECK(nonzero > 50);  // 65 random bytes with fewer than 51 nonzero: ~1e-20
  CHECK(buf[65] == 0);
  CHECK(buf[66] == 0);
}
