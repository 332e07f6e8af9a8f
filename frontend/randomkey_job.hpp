// RANDOMKEY: the first key at or after a random point of the key space (RNG LIMIT 1), wrapping to
// the first key when the point is past the last; nil when there are no keys. Keys in a wide gap
// of the key order are likelier picks than keys packed close together (Redis picks uniformly
// from its hash table): good enough for what RANDOMKEY is used for (sampling, tests).
#pragma once
#include <string>

#include "action.hpp"

namespace clossyne::frontend {

// The job that looks from `start` on (build_randomkey draws it at random).
Action build_randomkey_from(std::string start);

// A random start: 8 bytes in the printable ASCII range, where most keys live.
Action build_randomkey();

}  // namespace clossyne::frontend
