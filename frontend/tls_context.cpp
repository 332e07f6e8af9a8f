#include "tls_context.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace clossyne::frontend {
namespace {

// A key file with a passphrase would make OpenSSL prompt on the terminal: refuse it instead.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

std::string name_text(const X509_NAME* name) {
  if (name == nullptr) return "?";
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "?";
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out = len > 0 ? std::string(data, static_cast<std::size_t>(len)) : "?";
  BIO_free(bio);
  return out;
}

std::string time_text(const ASN1_TIME* t) {
  if (t == nullptr) return "?";
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "?";
  ASN1_TIME_print(bio, t);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out = len > 0 ? std::string(data, static_cast<std::size_t>(len)) : "?";
  BIO_free(bio);
  return out;
}

Status fail(const std::string& what) {
  return Status::Error("TLS: " + what + ": " + openssl_errors());
}

}  // namespace

const char* to_string(TlsClientAuth mode) {
  switch (mode) {
    case TlsClientAuth::kNo:
      return "no";
    case TlsClientAuth::kYes:
      return "yes";
    case TlsClientAuth::kOptional:
      return "optional";
  }
  return "?";
}

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown error" : out;
}

std::string tls_config_error(const TlsConfig& config) {
  if (!config.enabled) return {};
  if (config.cert_file.empty() || config.key_file.empty())
    return "--tls-port needs --tls-cert-file and --tls-key-file";
  if (config.auth_clients != TlsClientAuth::kNo && config.ca_cert_file.empty())
    return std::string("--tls-auth-clients ") + to_string(config.auth_clients) +
           " needs --tls-ca-cert-file to verify client certificates (or --tls-auth-clients no)";
  if (config.handshake_timeout_ms <= 0) return "--tls-handshake-timeout-ms must be positive";
  return {};
}

Status TlsContext::create(const TlsConfig& config, std::unique_ptr<TlsContext>& out) {
  if (std::string err = tls_config_error(config); !err.empty()) return Status::Error(err);
  ERR_clear_error();
  std::unique_ptr<TlsContext> tls(new TlsContext());
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return fail("cannot create a context");
  tls->ctx_ = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  uint64_t options =
      SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION;
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  // A client that closes its socket without close_notify (redis-cli does) has simply left.
  options |= SSL_OP_IGNORE_UNEXPECTED_EOF;
#endif
  SSL_CTX_set_options(ctx, options);
  // The output buffer moves and grows between a blocked SSL_write and its retry; idle
  // connections give their record buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
  static const unsigned char kSessionContext[] = "clossyne-frontend";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);

  if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1)
    return fail("cannot load certificate " + config.cert_file);
  if (SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail("cannot load private key " + config.key_file);
  if (SSL_CTX_check_private_key(ctx) != 1)
    return fail("private key " + config.key_file + " does not match certificate " +
                config.cert_file);
  if (!config.ca_cert_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, config.ca_cert_file.c_str(), nullptr) != 1)
      return fail("cannot load CA certificates " + config.ca_cert_file);
    // Tells clients which CAs their certificate should come from.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.ca_cert_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
  }
  switch (config.auth_clients) {
    case TlsClientAuth::kYes:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
    case TlsClientAuth::kOptional:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      break;
    case TlsClientAuth::kNo:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      break;
  }
  if (X509* cert = SSL_CTX_get0_certificate(ctx)) {
    tls->subject_ = name_text(X509_get_subject_name(cert));
    tls->not_after_ = time_text(X509_get0_notAfter(cert));
  }
  ERR_clear_error();
  out = std::move(tls);
  return Status::Ok();
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

}  // namespace clossyne::frontend
