// INFO [section ...]: the frontend's own figures, plus — for the memory, persistence, keyspace and
// clossyne sections — the broker's `status` (workers with their memory and durability, shards) and
// DBSIZE, fetched as a job so the reply keeps its
// place among pipelined replies. A cluster that cannot answer does not fail INFO: the cluster
// figures are left out and `cluster_state:fail` says why.
#pragma once
#include <string>
#include <vector>

#include "action.hpp"
#include "command_stats.hpp"
#include "server_info.hpp"

namespace clossyne::frontend {

// REQUIRES: args passed check_arity for "info".
// `stats` (may be null) feeds the commandstats and latencystats sections.
Action build_info(const std::vector<std::string>& args, const ServerInfo& server,
                  const CommandStats* stats = nullptr);

}  // namespace clossyne::frontend
