// TLS on the client port, as Redis has it: the settings (--tls-port, --tls-cert-file,
// --tls-key-file, --tls-ca-cert-file, --tls-auth-clients) and the OpenSSL SSL_CTX made from them
// once at start. TLS 1.2 and later only. Key material is read here and never logged.
#pragma once
#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.hpp"

namespace clossyne::frontend {

// Redis's tls-auth-clients: yes = a client certificate is required and verified against the CA;
// optional = verified when the client presents one; no = none is asked for.
enum class TlsClientAuth { kNo, kYes, kOptional };

const char* to_string(TlsClientAuth mode);

struct TlsConfig {
  bool enabled = false;  // a TLS listener is opened (--tls-port N, N > 0)
  uint16_t port = 0;     // 0 with enabled: any free port (tests)
  std::string cert_file;
  std::string key_file;
  std::string ca_cert_file;
  TlsClientAuth auth_clients = TlsClientAuth::kYes;  // Redis's default
  int handshake_timeout_ms = 10'000;  // a client that has not finished its handshake is closed
};

// Empty when the settings can work, else what is wrong (for a startup error).
std::string tls_config_error(const TlsConfig& config);

// Owns the SSL_CTX shared by every TLS connection.
class TlsContext {
 public:
  // Loads the certificate chain, the key (checked against the certificate) and the CA. Errors
  // name the file and OpenSSL's reason.
  static Status create(const TlsConfig& config, std::unique_ptr<TlsContext>& out);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  // The server certificate's subject and expiry, for the start-up log.
  const std::string& subject() const { return subject_; }
  const std::string& not_after() const { return not_after_; }

 private:
  TlsContext() = default;
  SSL_CTX* ctx_ = nullptr;
  std::string subject_;
  std::string not_after_;
};

// The reasons on OpenSSL's error queue for this thread, joined with "; " (the queue is emptied).
std::string openssl_errors();

}  // namespace clossyne::frontend
