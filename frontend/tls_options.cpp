#include "tls_options.hpp"

namespace clossyne::frontend {

void add_port_options(CLI::App& app, PortFlags& flags, ServerConfig& cfg) {
  app.add_option("--port", flags.port,
                 "plain-text client port, overriding the port of --listen (as Redis's port); 0: "
                 "no plain-text port (then --tls-port is required)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--tls-port", flags.tls_port,
                 "TLS client port on the --listen host (as Redis's tls-port); 0: none")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--tls-cert-file", cfg.tls.cert_file,
                 "PEM server certificate (chain) for --tls-port");
  app.add_option("--tls-key-file", cfg.tls.key_file,
                 "PEM private key of --tls-cert-file (unencrypted; keep it mode 600)");
  app.add_option("--tls-ca-cert-file", cfg.tls.ca_cert_file,
                 "PEM CA certificate(s) that client certificates are verified against");
  app.add_option("--tls-auth-clients", flags.auth_clients,
                 "yes: clients must present a certificate signed by --tls-ca-cert-file; optional: "
                 "one is verified if presented; no: none is asked for")
      ->capture_default_str()
      ->check(CLI::IsMember({"yes", "no", "optional"}));
  app.add_option("--tls-handshake-timeout-ms", cfg.tls.handshake_timeout_ms,
                 "close a TLS client that has not finished its handshake by then")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

std::string apply_port_options(const PortFlags& flags, ServerConfig& cfg) {
  if (flags.port == 0) {
    cfg.plain_port = false;
  } else if (flags.port > 0) {
    cfg.port = static_cast<uint16_t>(flags.port);
  }
  cfg.tls.enabled = flags.tls_port > 0;
  cfg.tls.port = static_cast<uint16_t>(flags.tls_port);
  cfg.tls.auth_clients = flags.auth_clients == "no"         ? TlsClientAuth::kNo
                         : flags.auth_clients == "optional" ? TlsClientAuth::kOptional
                                                            : TlsClientAuth::kYes;
  if (!cfg.plain_port && !cfg.tls.enabled)
    return "--port 0 turns the plain-text port off: give --tls-port too, or nothing listens";
  const bool tls_file_given =
      !cfg.tls.cert_file.empty() || !cfg.tls.key_file.empty() || !cfg.tls.ca_cert_file.empty();
  if (!cfg.tls.enabled && tls_file_given)
    return "--tls-cert-file, --tls-key-file and --tls-ca-cert-file need --tls-port";
  return tls_config_error(cfg.tls);
}

}  // namespace clossyne::frontend
