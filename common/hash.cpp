#include "hash.hpp"

#include <xxhash.h>

namespace clossyne {

uint64_t key_hash(std::string_view key, uint64_t seed) {
  return XXH3_64bits_withSeed(key.data(), key.size(), seed);
}

}  // namespace clossyne
