#include "tls_stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tls_context.hpp"

namespace clossyne::frontend {

TlsStream::TlsStream(SSL_CTX* ctx, int fd) {
  ssl_ = SSL_new(ctx);
  if (ssl_ == nullptr) return;
  if (SSL_set_fd(ssl_, fd) != 1) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  SSL_set_accept_state(ssl_);
}

TlsStream::~TlsStream() {
  if (ssl_ == nullptr) return;
  if (!broken_ && SSL_is_init_finished(ssl_)) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl_);  // one attempt: the socket is closed right after
  }
  ERR_clear_error();
  SSL_free(ssl_);
}

bool TlsStream::handshake_done() const {
  return ssl_ != nullptr && SSL_is_init_finished(ssl_);
}

bool TlsStream::pending() const {
  // SSL_pending only: SSL_has_pending is also true for a partial record, which needs more bytes
  // from the socket (epoll reports them) — reading again at once would spin the loop.
  return ssl_ != nullptr && !broken_ && SSL_pending(ssl_) > 0;
}

ssize_t TlsStream::recv(char* buf, std::size_t len) {
  if (ssl_ == nullptr || broken_) {
    errno = EIO;
    return -1;
  }
  ERR_clear_error();  // SSL_get_error reads this thread's queue: it must hold only our errors
  const int n = SSL_read(ssl_, buf, static_cast<int>(len));
  if (n > 0) {
    read_wants_write_ = false;
    return n;
  }
  const int saved_errno = errno;
  const int err = SSL_get_error(ssl_, n);
  read_wants_write_ = err == SSL_ERROR_WANT_WRITE;
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (err == SSL_ERROR_ZERO_RETURN) return 0;
  // The peer closed the socket with no close_notify and no error queued: it has left.
  if (err == SSL_ERROR_SYSCALL && saved_errno == 0 && ERR_peek_error() == 0) {
    broken_ = true;
    return 0;
  }
  return failed(err, saved_errno);
}

ssize_t TlsStream::send(const char* buf, std::size_t len) {
  if (ssl_ == nullptr || broken_) {
    errno = EIO;
    return -1;
  }
  ERR_clear_error();
  const int n = SSL_write(ssl_, buf, static_cast<int>(std::min<std::size_t>(len, 1u << 30)));
  if (n > 0) {
    write_wants_read_ = false;
    return n;
  }
  const int saved_errno = errno;
  const int err = SSL_get_error(ssl_, n);
  write_wants_read_ = err == SSL_ERROR_WANT_READ;
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  return failed(err, saved_errno);
}

ssize_t TlsStream::failed(int ssl_error, int saved_errno) {
  broken_ = true;
  if (ssl_error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    error_ = saved_errno != 0 ? std::strerror(saved_errno) : "connection closed";
  } else {
    error_ = openssl_errors();
  }
  if (!SSL_is_init_finished(ssl_)) error_ = "handshake failed: " + error_;
  ERR_clear_error();
  // Never EAGAIN or EINTR: the caller must see a failure, not a retry.
  errno = (saved_errno != 0 && saved_errno != EAGAIN && saved_errno != EWOULDBLOCK &&
           saved_errno != EINTR)
              ? saved_errno
              : EPROTO;
  return -1;
}

std::string TlsStream::describe() const {
  if (ssl_ == nullptr) return "no session";
  std::string out = std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
  if (X509* peer = SSL_get0_peer_certificate(ssl_)) {
    char name[256];
    X509_NAME_oneline(X509_get_subject_name(peer), name, sizeof name);
    out += std::string(", client certificate ") + name;
  }
  return out;
}

}  // namespace clossyne::frontend
