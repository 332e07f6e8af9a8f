#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "worker/kv_blocks.hpp"

namespace kv = clossyne::kv_blocks;

TEST_CASE("kv_blocks: a released small block is reused by its size class, large ones use malloc") {
  char* a = kv::allocate(20);
  std::memcpy(a, "0123456789abcdefghij", 20);
  char* b = kv::allocate(20);
  CHECK(b != a);
  CHECK(std::memcmp(a, "0123456789abcdefghij", 20) == 0);
  kv::release(a, 20);
  char* c = kv::allocate(30);  // the same 32-byte class: the block just released comes back
  CHECK(c == a);
  kv::release(c, 30);
  kv::release(b, 20);

  char* big = kv::allocate(kv::kMaxSlabBlock + 1);
  std::memset(big, 'x', kv::kMaxSlabBlock + 1);
  kv::release(big, kv::kMaxSlabBlock + 1);

  CHECK(kv::footprint(0) == 0);
  CHECK(kv::footprint(1) == 16);
  CHECK(kv::footprint(20) == 32);
  CHECK(kv::footprint(kv::kMaxSlabBlock) == kv::kMaxSlabBlock);
}

#if defined(__SANITIZE_ADDRESS__)
#define TEST_KV_BLOCKS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_KV_BLOCKS_ASAN 1
#endif
#endif

#if defined(TEST_KV_BLOCKS_ASAN)
#include <sanitizer/asan_interface.h>

// Only in the sanitizer build (CLOSSYNE_SANITIZE): the slabs are poisoned except for the bytes of
// the blocks in use, so ASan reports a use of a released block as it would a freed malloc block.
TEST_CASE("kv_blocks under ASan: only the bytes of blocks in use are addressable") {
  char* p = kv::allocate(20);
  CHECK(__asan_region_is_poisoned(p, 20) == nullptr);
  CHECK(__asan_address_is_poisoned(p + 20));  // the class's rounding slack
  CHECK(__asan_address_is_poisoned(p + 31));
  kv::release(p, 20);
  CHECK(__asan_address_is_poisoned(p));
  CHECK(__asan_region_is_poisoned(p, 32) == p);
  char* q = kv::allocate(17);  // the same block again, now 17 bytes long
  REQUIRE(q == p);
  CHECK(__asan_region_is_poisoned(q, 17) == nullptr);
  CHECK(__asan_address_is_poisoned(q + 17));
  kv::release(q, 17);
}

namespace {
// Runs fn in a child process; returns its exit status (ASan exits 1 after a report).
template <typename Fn>
int exit_status_of(Fn fn) {
  const pid_t pid = fork();
  if (pid == 0) {
    fn();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
}  // namespace

TEST_CASE("kv_blocks under ASan: reading a released block or releasing it twice is reported") {
  char* p = kv::allocate(40);
  std::memset(p, 'v', 40);
  kv::release(p, 40);
  // The children's ASan reports go to stderr, so they show in this test's output.
  CHECK(exit_status_of([p] { static_cast<void>(*static_cast<volatile char*>(p + 3)); }) != 0);
  CHECK(exit_status_of([p] { kv::release(p, 40); }) != 0);
  // And a block in use is no error.
  char* q = kv::allocate(40);
  CHECK(exit_status_of([q] { static_cast<void>(*static_cast<volatile char*>(q + 39)); }) == 0);
  kv::release(q, 40);
}
#endif
