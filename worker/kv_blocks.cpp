#include "kv_blocks.hpp"

#include <array>
#include <cstdlib>
#include <new>
#include <vector>

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
    c.free = b->next;
    return reinterpret_cast<char*>(b);
  }
  const std::size_t size = (class_of(n) + 1) * kStep;
  if (c.slab_next == nullptr || c.slab_next + size > c.slab_end) {
    void* slab = std::malloc(kSlabBytes);
    if (!slab) throw std::bad_alloc();
    slabs().slabs.push_back(slab);
    c.slab_next = static_cast<char*>(slab);
    c.slab_end = c.slab_next + kSlabBytes;
  }
  char* p = c.slab_next;
  c.slab_next += size;
  return p;
}

void release(char* p, std::size_t n) {
  if (p == nullptr) return;
  if (n > kMaxSlabBlock) {
    std::free(p);
    return;
  }
  SizeClass& c = slabs().classes[class_of(n)];
  auto* b = reinterpret_cast<FreeBlock*>(p);
  b->next = c.free;
  c.free = b;
}

std::size_t footprint(std::size_t n) {
  if (n == 0) return 0;
  if (n > kMaxSlabBlock) return (n + 8 + 15) & ~std::size_t{15};
  return (class_of(n) + 1) * kStep;
}

}  // namespace clossyne::kv_blocks
