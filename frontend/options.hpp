// Command-line options of clossyne-frontend (CLI11), with defaults from CLOSSYNE_HOST and
// CLOSSYNE_PORT as in the seed.
#pragma once
#include <string>

#include "server.hpp"

namespace clossyne::frontend {

struct Options {
  ServerConfig server;
  std::string log_level;  // empty: CLOSSYNE_LOG_LEVEL or info
};

// Parses argv. Returns -1 to go on, otherwise the exit code (after --help or a usage error,
// whose message has been printed).
int parse_options(int argc, char** argv, Options& out);

}  // namespace clossyne::frontend
