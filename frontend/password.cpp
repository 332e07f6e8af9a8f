#include "password.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace clossyne::frontend {

PasswordDigest password_digest(std::string_view password) {
  PasswordDigest d{};
  SHA256(reinterpret_cast<const unsigned char*>(password.data()), password.size(), d.data());
  return d;
}

bool digests_equal(const PasswordDigest& a, const PasswordDigest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string digest_hex(const PasswordDigest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * d.size());
  for (unsigned char c : d) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::optional<PasswordDigest> digest_from_hex(std::string_view hex) {
  PasswordDigest d{};
  if (hex.size() != 2 * d.size()) return std::nullopt;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < d.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return d;
}

}  // namespace clossyne::frontend
