// kv_blocks: where the treap keeps its key+value blocks. Small blocks (up to kMaxSlabBlock bytes)
// come from size classes of 16-byte steps carved out of 256 KiB slabs: no malloc header, no
// rounding to malloc's bins, and no interleaving with the loop's short-lived allocations (which
// would leave the heap fragmented once a bulk load's buffers are freed). Larger blocks use malloc.
// Freed small blocks go back to their class's free list for reuse; slabs are kept for the
// process's life. Single-threaded, like the worker's loop (a forked compaction child only reads).
#pragma once
#include <cstddef>

namespace clossyne::kv_blocks {

inline constexpr std::size_t kMaxSlabBlock = 512;

// A block of n > 0 bytes. Never returns null (throws std::bad_alloc).
char* allocate(std::size_t n);
// REQUIRES: p came from allocate(n) with the same n.
void release(char* p, std::size_t n);
// Bytes a block of n bytes really takes (for memory estimates).
std::size_t footprint(std::size_t n);

}  // namespace clossyne::kv_blocks
