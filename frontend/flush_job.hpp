// FLUSHDB / FLUSHALL [ASYNC|SYNC]: the broker has no flush operation, so the frontend deletes
// every key itself, page by page: RNG a page of keys, DEL them, move past the page, until a page
// comes back short. Not atomic: keys written while it runs may survive (those behind the walk),
// and other clients see the store emptying gradually. ASYNC and SYNC both wait for the end.
#pragma once
#include <string>
#include <vector>

#include "action.hpp"

namespace clossyne::frontend {

inline constexpr uint64_t kFlushPageSize = 1000;

// REQUIRES: args passed check_arity for "flushdb"/"flushall".
Action build_flushdb(const std::vector<std::string>& args);

}  // namespace clossyne::frontend
