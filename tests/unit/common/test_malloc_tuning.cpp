#include <malloc.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "common/malloc_tuning.hpp"

// The settings must really reach glibc (they once compiled to nothing when __GLIBC__ was not yet
// defined): a 1 MiB block comes from the heap, where glibc's default would mmap it.
// Tagged [glibc-malloc]: the sanitizer build leaves it out (tests/CMakeLists.txt), since
// AddressSanitizer's allocator replaces glibc's and ignores mallopt.
namespace {
void* volatile keep;  // the compiler may not elide an allocation stored here
void* allocate(std::size_t n) {
  keep = std::malloc(n);
  return keep;
}
}  // namespace

TEST_CASE("tune_malloc takes effect: megabyte blocks stay in the heap, big arrays go to mmap",
          "[glibc-malloc]") {
  clossyne::tune_malloc();
  const auto before = mallinfo2().hblks;
  void* medium = allocate(1 << 20);
  CHECK(mallinfo2().hblks == before);
  void* big = allocate(8 << 20);
  CHECK(mallinfo2().hblks == before + 1);
  std::free(big);
  std::free(medium);
}
