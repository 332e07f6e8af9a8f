// COMMAND [COUNT | LIST | INFO [name ...] | DOCS [name ...]]: the command table as Redis 7
// describes commands, so redis-cli builds its hints from COMMAND DOCS and libraries that ask
// COMMAND INFO find arity, flags and key positions. Pure functions.
#pragma once
#include <string>
#include <vector>

namespace clossyne::frontend {

// REQUIRES: args[0] is COMMAND (any case).
std::string command_reply(const std::vector<std::string>& args);

}  // namespace clossyne::frontend
