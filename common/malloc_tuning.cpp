#include "malloc_tuning.hpp"

#include <cstdlib>  // defines __GLIBC__ (through <features.h>) for the test below

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace clossyne {

// glibc raises its mmap threshold (up to 32 MiB) each time a large mmapped block is freed, so after
// the first growth of a big array (a shard's node arena or hash index, the broker's request tables)
// the next, bigger arrays are carved from the heap, and the arrays they replace leave
// multi-megabyte holes there that stay resident (measured: ~14 MB per 500k-key worker, ~25 bytes
// per key). A fixed 4 MiB mmap threshold keeps the big arrays (4 MiB and up) in mmap, returned to
// the OS when freed; arrays below it (small shards) still come from the heap, where their holes are
// at most a few MiB. The heap top is trimmed beyond 4 MiB. Both thresholds sit above the per-turn
// buffers (a pipelined turn's batch of a thousand replies is a few hundred KiB): with glibc's
// defaults the heap top was trimmed and grown again several times a turn, and its pages faulted in
// afresh each time (13% of the broker's CPU under redis-benchmark -P 16). The broker and frontend
// also malloc_trim when idle. Measured with bench/run.sh: ~115 resident bytes per key for a million
// keys.
void tune_malloc() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
#endif
}

}  // namespace clossyne
