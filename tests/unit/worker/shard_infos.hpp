// make_shard_info: a ShardInfo as the broker assigns it (id, bounds, epoch, seed), for worker
// tests.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "common/envelope.hpp"

namespace clossyne::testing {

inline ShardInfo make_shard_info(uint32_t id, std::string lo, std::optional<std::string> hi,
                                 uint64_t epoch, uint64_t seed, bool importing = false) {
  ShardInfo s;
  s.id = id;
  s.lo = std::move(lo);
  s.hi = std::move(hi);
  s.epoch = epoch;
  s.seed = seed;
  s.importing = importing;
  return s;
}

}  // namespace clossyne::testing
