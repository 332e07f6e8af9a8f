// The client-port flags of clossyne-frontend that Redis has: --port (0 turns the plain-text port
// off) and the --tls-* flags. Kept apart from options.cpp so the listener settings read as one.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "server.hpp"

namespace clossyne::frontend {

struct PortFlags {
  int port = -1;  // --port: -1 = the port of --listen
  int tls_port = 0;
  std::string auth_clients = "yes";
};

// Registers --port, --tls-port, --tls-cert-file, --tls-key-file, --tls-ca-cert-file,
// --tls-auth-clients and --tls-handshake-timeout-ms.
void add_port_options(CLI::App& app, PortFlags& flags, ServerConfig& cfg);
// After parsing (and after --listen set cfg.port): applies the flags. Returns the usage error,
// empty when the settings can work.
std::string apply_port_options(const PortFlags& flags, ServerConfig& cfg);

}  // namespace clossyne::frontend
