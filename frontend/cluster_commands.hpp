// Commands forwarded to the cluster: each becomes one Op envelope (field names in
// common/protocol.hpp) plus the shape of its reply. Options a command does not support give
// "ERR syntax error"; a bad number gives "ERR value is not an integer or out of range".
#pragma once
#include <string>
#include <vector>

#include "action.hpp"
#include "command_table.hpp"

namespace clossyne::frontend {

// REQUIRES: `handler` is a cluster handler and `args` passed check_arity. Moves the arguments
// out of `args` (values may be large).
Action build_cluster_command(Handler handler, std::vector<std::string>& args);

}  // namespace clossyne::frontend
