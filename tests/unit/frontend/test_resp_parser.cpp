#include <catch2/catch.hpp>
#include <cstdlib>
#include <new>
#include <random>

#include "parse_helpers.hpp"

using namespace clossyne::frontend;
using namespace clossyne::frontend::testing;

// Tracks the largest single allocation while `g_track` is set, to prove that declared lengths
// are not allocated up front.
namespace {
bool g_track = false;
std::size_t g_largest = 0;
}  // namespace

void* operator new(std::size_t n) {
  if (g_track && n > g_largest) g_largest = n;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
// The other forms go through the two above, so that every allocation is tracked and freed by the
// same allocator (under AddressSanitizer an unreplaced form would allocate with ASan's operator
// new and free with std::free here: alloc-dealloc-mismatch, e.g. Catch2's new(std::nothrow)).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(n);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t n) {
  return ::operator new(n);
}
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept {
  return ::operator new(n, tag);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  ::operator delete(p);
}
void operator delete[](void* p) noexcept {
  ::operator delete(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  ::operator delete(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  ::operator delete(p);
}

TEST_CASE("a complete RESP command parses") {
  auto p = parse_all("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
  REQUIRE_FALSE(p.error);
  REQUIRE(p.requests.size() == 1);
  CHECK(p.requests[0].dialect == Dialect::kResp);
  CHECK(p.requests[0].args == args({"SET", "k", "hello"}));
  CHECK(p.leftover == 0);
}

TEST_CASE("RESP split at every byte gives the same commands") {
  const std::string input =
      "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\nab\r\n\r\n";
  auto p = parse_bytewise(input);
  REQUIRE_FALSE(p.error);
  REQUIRE(p.requests.size() == 2);
  CHECK(p.requests[0].args == args({"GET", "foo"}));
  CHECK(p.requests[1].args == args({"SET", "", "ab\r\n"}));
  CHECK(p.leftover == 0);
}

TEST_CASE("pipelined RESP commands in one buffer come out in order") {
  std::string input;
  for (int i = 0; i < 50; ++i) {
    const std::string k = "key" + std::to_string(i);
    input += "*2\r\n$3\r\nGET\r\n$" + std::to_string(k.size()) + "\r\n" + k + "\r\n";
  }
  auto p = parse_all(input);
  REQUIRE(p.requests.size() == 50);
  CHECK(p.requests[49].args == args({"GET", "key49"}));
}

TEST_CASE("binary bulks keep NUL and CRLF bytes") {
  const std::string value("a\0b\r\nc", 6);
  const std::string input = "*2\r\n$4\r\nECHO\r\n$6\r\n" + value + "\r\n";
  auto p = parse_bytewise(input);
  REQUIRE(p.requests.size() == 1);
  CHECK(p.requests[0].args[1] == value);
}

TEST_CASE("empty multibulks are skipped") {
  auto p = parse_all("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n");
  REQUIRE_FALSE(p.error);
  REQUIRE(p.requests.size() == 1);
  CHECK(p.requests[0].args == args({"PING"}));
}

TEST_CASE("RESP protocol errors") {
  ParserLimits limits;
  limits.max_bulk = 100;
  auto err = [&](const std::string& in) {
    auto p = parse_all(in, true, limits);
    CHECK(p.error);
    return p.error_text;
  };
  CHECK(err("*x\r\n") == "Protocol error: invalid multibulk length");
  CHECK(err("*1048577\r\n") == "Protocol error: invalid multibulk length");
  CHECK(err("*1\r\n$-1\r\n") == "Protocol error: invalid bulk length");
  CHECK(err("*1\r\n$abc\r\n") == "Protocol error: invalid bulk length");
  CHECK(err("*1\r\n$101\r\n") == "Protocol error: invalid bulk length");
  CHECK(err("*1\r\n:3\r\n") == "Protocol error: expected '$', got ':'");
  CHECK(err("*1\r\n$3\r\nGETxx") == "Protocol error: expected '\\r\\n' after bulk data");
  CHECK(err("*1\r\n$3\r\nGET\rx") == "Protocol error: expected '\\r\\n' after bulk data");
  CHECK(err("*" + std::string(70000, '1')) == "Protocol error: too big mbulk count string");
}

TEST_CASE("the multibulk limit itself is accepted") {
  auto p = parse_all("*1048576\r\n");
  CHECK_FALSE(p.error);
  CHECK(p.requests.empty());
}

TEST_CASE("huge declared lengths do not allocate up front") {
  ParserLimits limits;  // 512 MiB bulks
  Feeder f(limits);
  g_largest = 0;
  g_track = true;
  f.feed("*1048576\r\n$536870912\r\nabc", false);
  g_track = false;
  CHECK_FALSE(f.result().error);
  CHECK(g_largest > 0);  // the tracker saw the parser allocate at all
  CHECK(g_largest <= 1024 * 1024 + 64);
}

TEST_CASE("random bytes never crash the parser") {
  std::mt19937 rng(42);
  for (int round = 0; round < 4; ++round) {
    std::string junk(64 * 1024, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (round % 2 == 1) junk[0] = '*';
    auto p = parse_all(junk, round >= 2);
    // Whatever it made of it, it either stopped with an error or consumed up to a pending tail.
    CHECK((p.error || p.leftover <= junk.size()));
  }
}
