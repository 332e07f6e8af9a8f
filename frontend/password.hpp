// Password digests as Redis keeps them: SHA-256 of the password (ACL LIST shows them as '#' and 64
// lower-case hex digits). A given password is checked by hashing it and comparing the digests in
// constant time (OpenSSL's CRYPTO_memcmp), so neither the length nor the first differing byte of
// a stored password shows in the time AUTH takes.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace clossyne::frontend {

using PasswordDigest = std::array<unsigned char, 32>;

PasswordDigest password_digest(std::string_view password);

// Constant time in the digests' contents.
bool digests_equal(const PasswordDigest& a, const PasswordDigest& b);

// 64 lower-case hex digits.
std::string digest_hex(const PasswordDigest& d);

// Parses 64 lower-case hex digits (as Redis requires for '#hash'); nullopt otherwise.
std::optional<PasswordDigest> digest_from_hex(std::string_view hex);

}  // namespace clossyne::frontend
