// Seeded 64-bit key hash (xxHash XXH3, from Debian's libxxhash: fast, well tested, seedable).
// Used for treap priorities; the seed is per cluster so hostile keys cannot force a deep tree.
#pragma once
#include <cstdint>
#include <string_view>

namespace clossyne {

uint64_t key_hash(std::string_view key, uint64_t seed);

}  // namespace clossyne
