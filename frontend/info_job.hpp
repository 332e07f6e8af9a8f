// INFO [section ...]: the frontend's own figures, plus — for the keyspace and clossyne sections —
// the broker's `status` (workers, shards) and DBSIZE, fetched as a job so the reply keeps its
// place among pipelined replies. A cluster that cannot answer does not fail INFO: the cluster
// figures are left out and `cluster_state:fail` says why.
#pragma once
#include <string>
#include <vector>

#include "action.hpp"
#include "server_info.hpp"

namespace clossyne::frontend {

// REQUIRES: args passed check_arity for "info".
Action build_info(const std::vector<std::string>& args, const ServerInfo& server);

// The process's resident set size in bytes (from /proc/self/statm); 0 when unknown.
uint64_t resident_bytes();

}  // namespace clossyne::frontend
