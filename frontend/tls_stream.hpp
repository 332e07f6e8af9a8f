// TlsStream: one client connection's TLS session over its non-blocking socket. recv()/send()
// behave as recv(2)/send(2) so that Connection's read and write loops stay as they are; the
// handshake happens inside them (the first reads), never blocking the loop. Two things epoll
// cannot see are exposed for the Server: a read that needs the socket writable (or a write that
// needs it readable), and decrypted bytes already inside OpenSSL (pending()), which wake no one.
#pragma once
#include <openssl/types.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace clossyne::frontend {

class TlsStream {
 public:
  // The socket stays the caller's (TlsStream never closes it).
  TlsStream(SSL_CTX* ctx, int fd);
  // Sends close_notify once (without waiting for the peer's) when the session is healthy.
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // False when OpenSSL could not set the session up (the connection must be closed).
  bool ok() const { return ssl_ != nullptr; }

  // > 0: bytes moved. recv() 0: the peer closed. -1 with errno EAGAIN: call again once the
  // socket is ready (see read_wants_write(), write_wants_read()); -1 with another errno: the
  // connection failed (a bad handshake, a protocol error, a reset) — error() says why; close it.
  ssize_t recv(char* buf, std::size_t len);
  ssize_t send(const char* buf, std::size_t len);

  bool handshake_done() const;
  // Decrypted bytes wait inside OpenSSL: read again without waiting for epoll.
  bool pending() const;
  // The last read is waiting for the socket to become writable (a handshake message is stuck).
  bool read_wants_write() const { return read_wants_write_; }
  // The last write is waiting for the socket to become readable (a TLS record must be read
  // first, e.g. the handshake of a client that has not sent its hello yet).
  bool write_wants_read() const { return write_wants_read_; }
  // Why the connection failed (empty while it has not).
  const std::string& error() const { return error_; }
  // "TLSv1.3 TLS_AES_256_GCM_SHA384", and the client certificate's subject when it sent one.
  std::string describe() const;

 private:
  ssize_t failed(int ssl_error, int saved_errno);

  SSL* ssl_ = nullptr;
  bool broken_ = false;  // a fatal error: no close_notify may be sent
  bool read_wants_write_ = false;
  bool write_wants_read_ = false;
  std::string error_;
};

}  // namespace clossyne::frontend
