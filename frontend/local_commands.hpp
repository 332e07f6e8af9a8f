// Commands the frontend answers itself, without the cluster: PING, ECHO, QUIT, COMMAND, SELECT,
// CLIENT, CONFIG — enough for redis-cli, redis-benchmark and client libraries to feel at home.
#pragma once
#include <string>
#include <vector>

#include "action.hpp"
#include "command_table.hpp"

namespace clossyne::frontend {

// Per-connection state that local commands read and write.
struct ClientState {
  std::string name;  // CLIENT SETNAME
};

// REQUIRES: `handler` is a local handler and `args` passed check_arity.
Action run_local_command(Handler handler, const std::vector<std::string>& args,
                         ClientState& client);

}  // namespace clossyne::frontend
