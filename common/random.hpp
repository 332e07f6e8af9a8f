// Secret random numbers from the kernel's CSPRNG, for values an attacker must not guess or
// reconstruct (the treap priority seed: knowing it, crafted keys could build a list-shaped shard).
// getrandom(2) first, without blocking; if the kernel's pool is not initialised yet (early boot)
// it waits for it rather than take weak bytes; /dev/urandom where the syscall does not exist.
// Not for hot paths: a syscall per call.
#pragma once
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace clossyne {

namespace detail {

[[noreturn]] inline void random_failed(const char* what, int err) {
  throw std::runtime_error(std::string("no secure random bytes: ") + what + ": " +
                           std::strerror(err));
}

inline void read_urandom(unsigned char* p, std::size_t n) {
  int fd;
  do {
    fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) random_failed("open /dev/urandom", errno);
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      const int err = r < 0 ? errno : EIO;
      ::close(fd);
      random_failed("read /dev/urandom", err);
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  ::close(fd);
}

}  // namespace detail

// Fills buf with n bytes from the kernel's CSPRNG. Throws std::runtime_error if it cannot.
inline void secure_random_bytes(void* buf, std::size_t n) {
  auto* p = static_cast<unsigned char*>(buf);
  unsigned flags = GRND_NONBLOCK;
  while (n > 0) {
    const ssize_t r = ::getrandom(p, n, flags);
    if (r > 0) {
      p += r;
      n -= static_cast<std::size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN && flags != 0) {  // pool not ready: wait for it, once
      flags = 0;
      continue;
    }
    if (r < 0 && errno == ENOSYS) return detail::read_urandom(p, n);  // kernel < 3.17
    detail::random_failed("getrandom", r < 0 ? errno : EIO);
  }
}

// 64 secret random bits, never 0 (0 means "none" where seeds are configured and encoded).
inline uint64_t secure_random_u64() {
  uint64_t v = 0;
  while (v == 0) secure_random_bytes(&v, sizeof v);
  return v;
}

}  // namespace clossyne
