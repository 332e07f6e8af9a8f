#include "kv_blocks.hpp"

#include <array>
#include <cstdlib>
#include <new>
#include <vector>

// Under AddressSanitizer the slabs are poisoned except for the blocks in use (exactly their n
// bytes), so a read or write of a released block, of a class's rounding slack or of a slab's
// unused tail is reported as the malloc'd blocks' would be; releasing a block twice is reported
// too. Elsewhere the macros do nothing.
#if defined(__SANITIZE_ADDRESS__)
#define CLOSSYNE_KV_BLOCKS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CLOSSYNE_KV_BLOCKS_ASAN 1
#endif
#endif
#if defined(CLOSSYNE_KV_BLOCKS_ASAN)
#include <sanitizer/asan_interface.h>
#define KV_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define KV_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define KV_POISON(p, n) ((void)(p), (void)(n))
#define KV_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace clossyne::kv_blocks {
namespace {

constexpr std::size_t kStep = 16;
constexpr std::size_t kClasses = kMaxSlabBlock / kStep;
constexpr std::size_t kSlabBytes = 256 * 1024;

struct FreeBlock {
  FreeBlock* next;
};

struct SizeClass {
  FreeBlock* free = nullptr;
  char* slab_next = nullptr;  // unused tail of the newest slab
  char* slab_end = nullptr;
};

struct Slabs {
  std::array<SizeClass, kClasses> classes;
  std::vector<void*> slabs;  // kept so that leak checkers see them as reachable
};

Slabs& slabs() {
  static Slabs* s = new Slabs();  // never destroyed: blocks may outlive static destructors
  return *s;
}

std::size_t class_of(std::size_t n) {
  return (n + kStep - 1) / kStep - 1;
}

}  // namespace

char* allocate(std::size_t n) {
  if (n > kMaxSlabBlock) {
    void* p = std::malloc(n);
    if (!p) throw std::bad_alloc();
    return static_cast<char*>(p);
  }
  SizeClass& c = slabs().classes[class_of(n)];
  if (c.free) {
    FreeBlock* b = c.free;
    KV_UNPOISON(b, sizeof(FreeBlock));
    c.free = b->next;
    KV_POISON(b, sizeof(FreeBlock));
    KV_UNPOISON(b, n);
    return reinterpret_cast<char*>(b);
  }
  const std::size_t size = (class_of(n) + 1) * kStep;
  if (c.slab_next == nullptr || c.slab_next + size > c.slab_end) {
    void* slab = std::malloc(kSlabBytes);
    if (!slab) throw std::bad_alloc();
    slabs().slabs.push_back(slab);
    KV_POISON(slab, kSlabBytes);
    c.slab_next = static_cast<char*>(slab);
    c.slab_end = c.slab_next + kSlabBytes;
  }
  char* p = c.slab_next;
  c.slab_next += size;
  KV_UNPOISON(p, n);
  return p;
}

void release(char* p, std::size_t n) {
  if (p == nullptr) return;
  if (n > kMaxSlabBlock) {
    std::free(p);
    return;
  }
#if defined(CLOSSYNE_KV_BLOCKS_ASAN)
  // A block in use has its first and last bytes addressable: ASan reports these reads (with this
  // call's stack) when p was released already or n is larger than the block's.
  static_cast<void>(*static_cast<volatile char*>(p));
  static_cast<void>(*static_cast<volatile char*>(p + n - 1));
#endif
  SizeClass& c = slabs().classes[class_of(n)];
  const std::size_t size = (class_of(n) + 1) * kStep;
  KV_POISON(p, size);
  auto* b = reinterpret_cast<FreeBlock*>(p);
  KV_UNPOISON(b, sizeof(FreeBlock));
  b->next = c.free;
  KV_POISON(b, sizeof(FreeBlock));
  c.free = b;
}

std::size_t footprint(std::size_t n) {
  if (n == 0) return 0;
  if (n > kMaxSlabBlock) return (n + 8 + 15) & ~std::size_t{15};
  return (class_of(n) + 1) * kStep;
}

}  // namespace clossyne::kv_blocks
